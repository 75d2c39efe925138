"""Scoring models and baselines on the materialized test scenes (paper Sec. 4).

Every entry reads the same `<scene_id>.npz` files of one IR set (anechoic or a
room), so all methods are compared on identical scenes. A trained variant's whole
clip goes through the network in one pass (Demucs is fully convolutional; the
Mono2Binaural U-Net slides its 0.63 s window with a 50 ms hop, as the paper does).
The Rotated-Visual baseline is the same model with the scene turned by pi/2 about
the listener's vertical axis (exact on the voxel grid). Mono-Mono copies the mono
input to both ears. Scores are per scene, in the CSV format of evaluate.scores.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from points2sound.audio_io import write_wav
from points2sound.data.scenes import load_materialized_scene, read_scene_specs
from points2sound.evaluate.scene_rows import iter_scenes, score_row
from points2sound.evaluate.scores import write_scores
from points2sound.geometry.voxelize import rotate_voxels_quarter

log = logging.getLogger(__name__)


@torch.inference_mode()
def binauralize_scene(
    system: torch.nn.Module,
    scene: Mapping[str, Any],
    config: Mapping[str, Any],
    device: torch.device,
    rotate: bool = False,
) -> np.ndarray:
    """A trained system's (2, T) estimate for one materialized scene (optionally turned by pi/2)."""
    feats_kind = config["features"]
    coords, feats = scene["coords"], scene[f"feats_{feats_kind}"]
    if rotate:
        coords, feats = rotate_voxels_quarter(coords, feats, feats_kind)
    mono = torch.from_numpy(np.ascontiguousarray(scene["mono"][config["mono_input"]]))[None, None].to(device)
    sparse = system.vision.collate([coords], [feats], device=device)
    return system.binauralize(mono, sparse)[0].float().cpu().numpy()


def rotated_baseline_applies(config: Mapping[str, Any]) -> bool:
    """The paper rotates its L_full rgb-depth models (Table 1), one per mono input."""
    return config["model"] == "points2sound" and config["loss"] == "full" and config["features"] == "rgb"


def score_variant(
    model_path: Path,
    scenes_dir: Path,
    ir_set: str,
    out_csv: Path,
    device: torch.device,
    expected: Mapping[str, Any] | None = None,
) -> int:
    """A trained variant (and, for L_full rgb-depth models, its Rotated-Visual baseline)."""
    from points2sound.models.loading import load_system

    system, blob = load_system(model_path, expected)
    config = blob["config"]
    system.to(device)
    method = config["model"]
    rows = []
    rotate = rotated_baseline_applies(config)
    sr = int(config["sample_rate"])
    for scene in iter_scenes(scenes_dir):
        est = binauralize_scene(system, scene, config, device)
        rows.append(
            score_row(
                scene,
                ir_set,
                method,
                config["variant"],
                config["mono_input"],
                config["features"],
                config["loss"],
                est,
                sr,
            )
        )
        if rotate:
            est = binauralize_scene(system, scene, config, device, rotate=True)
            rows.append(
                score_row(
                    scene,
                    ir_set,
                    "rotated_visual",
                    config["variant"],
                    config["mono_input"],
                    config["features"],
                    config["loss"],
                    est,
                    sr,
                )
            )
    write_scores(out_csv, rows)
    return len(rows)


def write_examples(model_path: Path, scenes_dir: Path, out_dir: Path, device: torch.device, subtype: str) -> list[Path]:
    """Listening examples: mono input, prediction and ground truth of the first test scene of each N."""
    from points2sound.models.loading import load_system

    system, blob = load_system(model_path)
    config = blob["config"]
    system.to(device)
    sr = int(config["sample_rate"])
    seen: set[int] = set()
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for spec in read_scene_specs(scenes_dir / "scenes.csv"):
        if spec.n_sources in seen:
            continue
        seen.add(spec.n_sources)
        scene = load_materialized_scene(scenes_dir / f"{spec.scene_id}.npz")
        est = binauralize_scene(system, scene, config, device)
        mono = scene["mono"][config["mono_input"]]
        peak = float(max(np.abs(est).max(), np.abs(scene["binaural"]).max(), np.abs(mono).max(), 1e-9))
        for name, audio in (("mono", mono[None]), ("prediction", est), ("truth", scene["binaural"])):
            path = out_dir / f"N{spec.n_sources}_{spec.scene_id}_{name}.wav"
            write_wav(path, (audio / peak * 0.9).astype(np.float32), sr, subtype=subtype)
            written.append(path)
    return written
