"""Test sets on disk: materialized once, so every model and baseline is scored on the same scenes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from tqdm import tqdm

from ...atomic import atomic_path
from ...errors import InputFileError, ParameterError
from ...geometry.voxelize import scene_features, voxelize
from ...settings.scenes import SceneConfig
from .build import mono_input_signal, scene_audio, scene_cloud
from .sources import SceneSources
from .spec import MONO_INPUTS, SceneSpec


def materialize_scenes(
    specs: Sequence[SceneSpec],
    sources: SceneSources,
    out_dir: str | Path,
    scenes: SceneConfig,
    *,
    reduce: Literal["mean", "first"] = "mean",
) -> pd.DataFrame:
    """Write `<scene_id>.npz` per scene and `scenes.csv` (written last, one row per scene).

    Each npz holds every variant a model or baseline may ask for: mono_true_mono,
    mono_left, mono_sum_lr (T,), binaural (2, T), coords (m, 3) and both feature
    kinds feats_rgb / feats_xyz (m, 3) over the same voxels, plus the spec as
    JSON. No augmentation: test scenes are the plain data.
    """
    out_dir = Path(out_dir)
    ids = [s.scene_id for s in specs]
    if len(set(ids)) != len(ids):
        raise ParameterError("specs", "scene ids must be unique")
    if not specs:
        raise ParameterError("specs", "no scenes to materialize")
    out_dir.mkdir(parents=True, exist_ok=True)
    voxel_size = scenes.voxel_size_m
    rows = []
    for spec in tqdm(specs, desc="scenes", unit="scene", disable=None):
        true_mono, binaural = scene_audio(spec, sources, scale_by_n=scenes.scale_by_n, with_true_mono=True)
        cloud = scene_cloud(spec, sources, listener_height_m=scenes.listener_height_m)
        coords, feats_rgb = voxelize(cloud.xyz, scene_features(cloud, "rgb"), voxel_size, reduce=reduce)
        _, feats_xyz = voxelize(cloud.xyz, scene_features(cloud, "xyz"), voxel_size, reduce=reduce)
        arrays = {f"mono_{kind}": mono_input_signal(kind, binaural, true_mono) for kind in MONO_INPUTS}
        with atomic_path(out_dir / f"{spec.scene_id}.npz") as tmp:
            np.savez(
                tmp,
                **arrays,
                binaural=binaural,
                coords=coords,
                feats_rgb=feats_rgb,
                feats_xyz=feats_xyz,
                spec=np.array(spec.to_json()),
                voxel_size=np.float64(voxel_size),
            )
        rows.append(spec.to_row())
    table = pd.DataFrame(rows)
    with atomic_path(out_dir / "scenes.csv") as tmp:
        table.to_csv(tmp, index=False)
    return table


def _starts_like_a_pickle(path: Path) -> bool:
    """A pickle of protocol 2 or later starts with the PROTO opcode 0x80 (numpy calls any unknown file a pickle)."""
    with open(path, "rb") as f:
        return f.read(1) == b"\x80"


def load_materialized_scene(path: str | Path) -> dict[str, Any]:
    """Arrays of one materialized scene, plus 'spec' (SceneSpec) and
    'mono' (dict: true_mono / left / sum_lr -> (T,))."""
    path = Path(path)
    if path.is_dir():
        raise InputFileError(path, "is a directory, expected a scene file (.npz)")
    if not path.is_file():
        raise InputFileError(path, "scene file not found", "run the scenes stage first")
    try:
        with np.load(path, allow_pickle=False) as data:
            out: dict[str, Any] = {k: data[k] for k in data.files}
    except ValueError as exc:
        if "Object arrays" in str(exc) or _starts_like_a_pickle(path):  # numpy refuses them (allow_pickle=False)
            raise InputFileError(
                path,
                "not a plain-tensor file: it holds pickled Python objects, which are never "
                "loaded (they could run code)",
            ) from exc
        why = "not an .npz archive" if "pickled data" in str(exc) else str(exc)
        raise InputFileError(path, f"not a readable scene file ({why})") from exc
    except OSError as exc:
        raise InputFileError(path, f"not a readable scene file ({exc})") from exc
    needed = {"binaural", "coords", "feats_rgb", "feats_xyz", "spec", *(f"mono_{k}" for k in MONO_INPUTS)}
    if not needed <= set(out):
        raise InputFileError(path, f"scene file lacks {sorted(needed - set(out))}")
    out["spec"] = SceneSpec.from_json(str(out["spec"]))
    out["voxel_size"] = float(out.get("voxel_size", np.nan))
    out["mono"] = {k: out[f"mono_{k}"] for k in MONO_INPUTS}
    return out
