"""Scoring first-order ambisonics (FOA) models on the anechoic test scenes (Morgado et al., seed 003).

Each test scene's true field is its sources' mono segments encoded at their azimuths (`scene_foa`), W
being the true mono mixture the model takes as input. Every method gives a field; the scores are:

- Morgado's field distances (Sec. 3.3): STFT and envelope distances of the first-order channels (Y, Z, X;
  W is the input, equal in both) and the EMD between directional energy maps on the horizontal circle;
- the field decoded to headphones through the profile's HRIR set (spaudiopy's magLS decoder) and scored
  with the paper's d_ENV and d_STFT against the scene's binaural truth, as the binaural models are.

Methods: the FOA variant, its Rotated-Visual input (the scene turned by pi/2), `turned_back` (that
prediction with the head turned by pi/2 to follow the scene: `rotate_foa`, no network pass; a model that
understood the scene's geometry gives its own prediction again), the spatial prior (the
training set's average direction, Morgado's Table 1 baseline), the omnidirectional field (W alone: the
FOA counterpart of Mono-Mono) and the true field itself (its decoded scores are the ceiling first order
allows through this decoder).

Field distances scale both fields by the true W's peak (one factor: the two share W), so a first-order
channel's error counts in proportion to the field, not to its own peak as a binaural pair's would.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..data.scenes import SceneSources, load_materialized_scene, read_scene_specs, sample_scene_spec, scene_foa
from ..errors import InputFileError, ParameterError
from ..foa.ambisonics import binaural_decoder, decode_binaural, rotate_foa
from ..geometry.voxelize import rotate_voxels_quarter
from ..model_kinds import is_foa
from ..settings.scenes import SceneConfig
from .foa_metrics import circle_directions, energy_map, field_distances, foa_emd
from .metrics import binaural_scores

log = logging.getLogger(__name__)

FOA_METHODS = ("points2sound_foa", "rotated_visual", "turned_back", "spatial_prior", "omni", "truth")
SCORE_COLUMNS = ("scene_id", "method", "n_sources", "azimuths_deg", "same_side")
# emd_vs_model: EMD of the method's energy map against the model's prediction (turned_back: rotation consistency)
METRIC_COLUMNS = ("foa_stft", "foa_env", "emd", "d_env", "d_stft", "emd_vs_model")


@dataclass(frozen=True)
class SpatialPrior:
    """The training set's average sound direction: first-order gains relative to W, and energy map."""

    gains: np.ndarray  # (4,): 1, then the mean least-squares Y, Z, X gains of the training scenes' fields
    energy: np.ndarray  # (n_directions,): the mean energy map of the training scenes' fields
    scenes: int

    def field(self, w: np.ndarray) -> np.ndarray:
        """(4, T) field of the prior for an omni signal w (T,)."""
        return (self.gains[:, None] * w[None]).astype(np.float32)


def spatial_prior(sources: SceneSources, scenes: SceneConfig, count: int, seed: int, n_directions: int) -> SpatialPrior:
    """Morgado's spatial-prior baseline from `count` training scenes drawn as training draws them (no clouds)."""
    if count < 1:
        raise ParameterError("foa.prior_scenes", f"must be >= 1, got {count}")
    gains = np.zeros(4)
    energy = np.zeros(n_directions)
    for i in range(count):
        spec = sample_scene_spec(np.random.default_rng([seed, i]), sources, scenes, scene_id=f"prior-{i}")
        field = scene_foa(spec, sources, scale_by_n=scenes.scale_by_n).astype(np.float64)
        w_energy = float(field[0] @ field[0])
        if w_energy > 0:
            gains += field @ field[0] / w_energy
        energy += energy_map(field, n_directions)
    gains /= count
    gains[0] = 1.0
    return SpatialPrior(gains, energy / count, count)


@torch.inference_mode()
def predicted_field(
    system: torch.nn.Module, scene: Mapping[str, Any], w: np.ndarray, features: str, rotate: bool = False
) -> np.ndarray:
    """The FOA model's (4, T) field for one materialized scene (optionally turned by pi/2)."""
    coords, feats = scene["coords"], scene[f"feats_{features}"]
    if rotate:
        coords, feats = rotate_voxels_quarter(coords, feats, features)
    sparse = system.vision.collate([coords], [feats], device=torch.device("cpu"))
    mono = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))[None, None]
    return system.field(mono, sparse)[0].float().numpy()


def field_scores(
    pred: np.ndarray,
    true: np.ndarray,
    binaural: np.ndarray,
    decoder: np.ndarray,
    sample_rate: int,
    n_directions: int,
    model: np.ndarray,
) -> dict[str, float]:
    """Every metric of one method on one scene (METRIC_COLUMNS); `model` is the FOA variant's own field."""
    dist = field_distances(pred, true, sample_rate)
    decoded = binaural_scores(decode_binaural(pred, decoder), binaural, sample_rate)
    return {
        "foa_stft": dist["stft"],
        "foa_env": dist["env"],
        "emd": foa_emd(pred, true, n_directions),
        "d_env": decoded["d_env"],
        "d_stft": decoded["d_stft"],
        "emd_vs_model": foa_emd(pred, model, n_directions),
    }


def score_foa_variant(
    model_path: Path,
    scenes_dir: Path,
    sources: SceneSources,
    prior: SpatialPrior,
    ir_path: Path,
    n_directions: int,
    *,
    scale_by_n: bool,
    map_scenes_per_n: int = 2,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-scene scores of every method, energy maps of the first scenes of each N) for one FOA variant."""
    from ..models.loading import load_system
    from ..render.sofa_io import read_ir_set

    system, blob = load_system(model_path)
    config = blob["config"]
    if not is_foa(config):
        raise ParameterError("--model", f"{model_path} holds a {config['model']} model, not an FOA one")
    irset = read_ir_set(ir_path)
    sr = int(config["sample_rate"])
    if irset.sample_rate != sr:
        raise InputFileError(ir_path, f"is at {irset.sample_rate} Hz, the model at {sr} Hz")
    decoder = binaural_decoder(irset)
    rows, maps, mapped = [], [], {}
    specs = read_scene_specs(scenes_dir / "scenes.csv")
    for k, spec in enumerate(specs, 1):
        scene = load_materialized_scene(scenes_dir / f"{spec.scene_id}.npz")
        if scene["spec"] != spec:
            raise InputFileError(
                scenes_dir / f"{spec.scene_id}.npz", "does not match scenes.csv", "rerun the scenes stage"
            )
        true = scene_foa(spec, sources, scale_by_n=scale_by_n)
        if not np.allclose(true[0], scene["mono"]["true_mono"], atol=1e-5):
            raise InputFileError(
                scenes_dir / f"{spec.scene_id}.npz",
                "its true mono is not the W of the field encoded from the test split's recordings",
                "rerun the scenes stage with the same scenes.scale_by_n",
            )
        fields = _method_fields(system, scene, true, prior, config["features"])
        for method, field in fields.items():
            rows.append(
                {
                    "scene_id": spec.scene_id,
                    "method": method,
                    "n_sources": spec.n_sources,
                    "azimuths_deg": ";".join(str(s.azimuth_deg) for s in spec.sources),
                    "same_side": spec.same_side,
                    **field_scores(
                        field, true, scene["binaural"], decoder, sr, n_directions, fields["points2sound_foa"]
                    ),
                }
            )
        if mapped.get(spec.n_sources, 0) < map_scenes_per_n:
            mapped[spec.n_sources] = mapped.get(spec.n_sources, 0) + 1
            maps += _map_rows(spec, fields, prior, n_directions)
        if k % 20 == 0 or k == len(specs):
            log.info("FOA scores: %d of %d scenes", k, len(specs))
    return pd.DataFrame(rows, columns=[*SCORE_COLUMNS, *METRIC_COLUMNS]), pd.DataFrame(maps)


def _method_fields(
    system: torch.nn.Module, scene: Mapping[str, Any], true: np.ndarray, prior: SpatialPrior, features: str
) -> dict[str, np.ndarray]:
    w = true[0]
    omni = np.zeros_like(true)
    omni[0] = w
    turned = predicted_field(system, scene, w, features, rotate=True)  # every source pi/2 further left
    return {
        "points2sound_foa": predicted_field(system, scene, w, features),
        "rotated_visual": turned,
        "turned_back": rotate_foa(turned, 90.0),  # the head turned left by pi/2 follows the scene
        "spatial_prior": prior.field(w),
        "omni": omni,
        "truth": true,
    }


def _map_rows(spec: Any, fields: Mapping[str, np.ndarray], prior: SpatialPrior, n: int) -> list[dict[str, Any]]:
    """Energy maps of one scene (truth, prediction, the prior's mean map), one row per direction."""
    directions = circle_directions(n)
    maps = {
        "truth": energy_map(fields["truth"], n),
        "points2sound_foa": energy_map(fields["points2sound_foa"], n),
        "spatial_prior": prior.energy,
    }
    return [
        {
            "scene_id": spec.scene_id,
            "n_sources": spec.n_sources,
            "azimuths_deg": ";".join(str(s.azimuth_deg) for s in spec.sources),
            "method": method,
            "direction_deg": float(d),
            "share": float(v),
        }
        for method, m in maps.items()
        for d, v in zip(directions, m)
    ]


def read_foa_scores(path: Path) -> pd.DataFrame:
    """The FOA stage's per-scene scores, checked (the report reads them)."""
    if not Path(path).is_file():
        raise InputFileError(path, "FOA scores not found", "run the evaluate_foa stage")
    df = pd.read_csv(path)
    missing = [c for c in (*SCORE_COLUMNS, *METRIC_COLUMNS) if c not in df.columns]
    if missing:
        raise InputFileError(path, f"missing FOA score columns {missing}")
    bad = sorted(set(df["method"]) - set(FOA_METHODS))
    if bad:
        raise InputFileError(path, f"unknown FOA methods {bad}", f"allowed: {list(FOA_METHODS)}")
    df["scene_id"] = df["scene_id"].astype(str)
    df["azimuths_deg"] = df["azimuths_deg"].astype(str)
    return df
