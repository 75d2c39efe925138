"""The pipeline's stages: each maps resolved parameters onto one library call.

The CLI exposes one command per function here; Snakemake rules and DVC stages
call those commands, so each stage is implemented exactly once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .atomic import atomic_dir
from .config import stage_seed
from .errors import InputFileError, ParameterError

log = logging.getLogger(__name__)
Params = Mapping[str, Any]


def _require_embedded(params: Params, what: str) -> None:
    if params["dataset"]["source"] != "embedded":
        raise ParameterError(
            "dataset.source",
            f"is {params['dataset']['source']!r}: the embedded {what} generator only runs for the embedded source; "
            "place the real files in data/<profile>/ following the data contract in README.md",
        )


def _rendered_azimuths(params: Params, irset: Any) -> list[int]:
    """A room's azimuths are its measured ones (head rotations); an HRIR set's are the paper's eight."""
    if irset.kind == "brir":
        return sorted({int(round(a)) % 360 for a in irset.azimuths_deg})
    return list(params["render"]["azimuths_deg"])


def embed_audio(params: Params, out_dir: Path) -> pd.DataFrame:
    """Mono recordings rendered from real scores with a General MIDI SoundFont."""
    from .data.embedded_audio import generate_recordings

    _require_embedded(params, "audio")
    cfg = params["embedded_audio"]
    with atomic_dir(out_dir) as tmp:
        table = generate_recordings(
            tmp, list(params["instruments"]), cfg["recordings_per_instrument"], cfg["duration_s"],
            params["audio"]["sample_rate"], stage_seed(params, "embed_audio"), cfg.get("variation"),
        )
    log.info("wrote %d recordings to %s", len(table), out_dir)
    return table


def embed_frames(params: Params, out_dir: Path) -> pd.DataFrame:
    """Point-cloud videos of procedurally built performers."""
    from .data.embedded_performers import generate_performers

    _require_embedded(params, "point cloud")
    cfg = params["embedded_frames"]
    with atomic_dir(out_dir) as tmp:
        table = generate_performers(
            tmp, list(params["instruments"]), cfg["performers_per_instrument"], cfg["frames_per_performer"],
            stage_seed(params, "embed_frames"), camera=cfg["camera"], fps=params["dataset"]["fps"],
        )
    log.info("wrote %d performers to %s", len(table), out_dir)
    return table


def embed_shapes(params: Params, out_dir: Path) -> pd.DataFrame:
    """ModelNet-style shapes for vision pre-training."""
    from .data.embedded_shapes import generate_shapes

    cfg = params["shapes"]
    with atomic_dir(out_dir) as tmp:
        table = generate_shapes(
            tmp, cfg["classes"], cfg["shapes_per_class"], cfg["points_per_shape"],
            stage_seed(params, "embed_shapes"), test_fraction=cfg["test_fraction"],
        )
    log.info("wrote %d shapes to %s", len(table), out_dir)
    return table


def make_hrir(params: Params, out_path: Path) -> None:
    """The anechoic HRIR set: the rigid-sphere model at every azimuth step."""
    from .render.sofa_io import write_hrir_sofa
    from .render.sphere_head import sphere_hrirs

    cfg = params["hrir"]
    if cfg["source"] != "sphere":
        raise ParameterError("hrir.source", f"is {cfg['source']!r}: only 'sphere' is generated; place a SOFA file at {out_path} instead")
    step = float(cfg["azimuth_step_deg"])
    azimuths = np.arange(0.0, 360.0, step)
    irs = sphere_hrirs(
        azimuths, params["audio"]["sample_rate"], head_radius_m=cfg["head_radius_m"], ear_angle_deg=cfg["ear_angle_deg"],
        distance_m=cfg["distance_m"], taps=cfg["taps"], speed_of_sound=cfg["speed_of_sound"],
    )
    write_hrir_sofa(
        out_path, irs, params["audio"]["sample_rate"], azimuths, cfg["distance_m"], name=cfg["name"],
        comment=f"rigid-sphere head, radius {cfg['head_radius_m']} m, ears at +-{cfg['ear_angle_deg']} deg",
    )
    log.info("wrote %d HRIRs to %s", len(azimuths), out_path)


def make_brir(params: Params, room: str, hrir_path: Path, out_path: Path) -> None:
    """A simulated room's BRIRs for the head rotations, every image source through the HRIRs."""
    from .render.room import ROOM_PRESETS, default_listener, simulate_brirs
    from .render.sofa_io import read_ir_set, write_brir_sofa

    sets = params["rooms"]["sets"]
    if room not in sets:
        raise ParameterError("rooms.sets", f"no room named {room!r}; known: {sorted(sets)}")
    cfg = sets[room]
    if cfg["preset"] not in ROOM_PRESETS:
        raise ParameterError(f"rooms.sets.{room}.preset", f"unknown preset {cfg['preset']!r}; known: {sorted(ROOM_PRESETS)}")
    preset = ROOM_PRESETS[cfg["preset"]]
    hrir = read_ir_set(hrir_path)
    rotations = params["rooms"]["head_rotations_deg"]
    irs, rotations = simulate_brirs(
        hrir, preset["dims_m"], cfg["rt60_s"], source_distance_m=params["rooms"]["source_distance_m"],
        head_rotations_deg=rotations, seed=stage_seed(params, f"brir_{room}"),
    )
    write_brir_sofa(
        out_path, irs, hrir.sample_rate, rotations, 0.0, params["rooms"]["source_distance_m"], name=room,
        room_description=f"simulated shoebox {preset['dims_m']} m, RT60 {cfg['rt60_s']} s ({cfg['preset']})",
        room_dims_m=preset["dims_m"], listener_pos_m=default_listener(preset["dims_m"], params["rooms"]["source_distance_m"]),
    )
    log.info("wrote %d BRIRs to %s", len(rotations), out_path)


def split(params: Params, dataset_root: Path) -> None:
    """Index files per split, recordings by recording and performers by identity."""
    from .data.splits import make_splits

    with atomic_dir(dataset_root / "splits") as tmp:
        make_splits(dataset_root, list(params["instruments"]), params["audio"]["sample_rate"], params["splits"],
                    stage_seed(params, "split"), out_dir=tmp)


def render(params: Params, dataset_root: Path, ir_path: Path, out_dir: Path, splits: list[str], azimuths: list[int] | None = None) -> None:
    """Binaural renders of the recordings of some splits through one IR set (Two!Ears style)."""
    from .render.binaural import render_recordings
    from .render.sofa_io import read_ir_set

    irset = read_ir_set(ir_path)
    if azimuths is None:
        azimuths = _rendered_azimuths(params, irset)
    files: list[Path] = []
    for name in splits:
        index = dataset_root / "splits" / f"{name}_audio.csv"
        if not index.is_file():
            raise InputFileError(index, "split index not found", "run the split stage first")
        files += [dataset_root / p for p in pd.read_csv(index)["path"]]
    with atomic_dir(out_dir) as tmp:
        render_recordings(files, tmp, irset, azimuths, params["audio"]["sample_rate"], subtype=params["audio"]["wav_subtype"])
    log.info("rendered %d recordings x %d azimuths through %s", len(files), len(azimuths), ir_path.name)


def scenes(params: Params, dataset_root: Path, ir_set: str, out_dir: Path, split_name: str = "test") -> None:
    """Materialize a fixed set of test scenes, so every model is scored on the same ones."""
    from .data.scenes import SceneSources, make_scene_specs, materialize_scenes
    from .render.sofa_io import read_ir_set

    cfg = params["scenes"]
    sr = params["audio"]["sample_rate"]
    ir_path = dataset_root / "ir" / f"{ir_set}.sofa"
    irset = read_ir_set(ir_path)
    azimuths = _rendered_azimuths(params, irset)
    sources = SceneSources.from_dataset(dataset_root, split_name, ir_set)
    specs = make_scene_specs(
        sources, cfg["test"]["count"], stage_seed(params, f"scenes_{split_name}"), max_sources=cfg["max_sources"],
        azimuths_deg=azimuths, distance_range=tuple(cfg["distance_range_m"]),
        segment_samples=int(round(cfg["test"]["clip_s"] * sr)), fps=params["dataset"]["fps"], sample_rate=sr,
    )
    with atomic_dir(out_dir) as tmp:
        materialize_scenes(
            specs, sources, tmp, voxel_size=cfg["voxel_size_m"], scale_by_n=cfg["scale_by_n"],
            listener_height_m=cfg["listener_height_m"],
        )
    log.info("materialized %d %s scenes through %s", len(specs), split_name, ir_set)
