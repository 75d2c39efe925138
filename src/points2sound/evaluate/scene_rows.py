"""The test scenes of one IR set as the scorers read them, and one score row per scene and method."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from points2sound.data.scenes import load_materialized_scene, read_scene_specs
from points2sound.errors import InputFileError
from points2sound.evaluate.metrics import binaural_scores


def iter_scenes(scenes_dir: Path) -> Iterator[dict[str, Any]]:
    specs = read_scene_specs(scenes_dir / "scenes.csv")
    for spec in tqdm(specs, desc=f"scoring {scenes_dir.name}", unit="scene", disable=None):
        scene = load_materialized_scene(scenes_dir / f"{spec.scene_id}.npz")
        if scene["spec"] != spec:
            raise InputFileError(
                scenes_dir / f"{spec.scene_id}.npz", "does not match its row in scenes.csv", "rerun the scenes stage"
            )
        yield scene


def score_row(
    scene: Mapping[str, Any],
    ir_set: str,
    method: str,
    variant: str,
    mono_input: str,
    features: str,
    loss: str,
    estimate: np.ndarray,
    sample_rate: int,
) -> dict[str, Any]:
    spec = scene["spec"]
    return {
        "scene_id": spec.scene_id,
        "ir_set": ir_set,
        "method": method,
        "variant": variant,
        "mono_input": mono_input,
        "features": features,
        "loss": loss,
        "n_sources": spec.n_sources,
        "instruments": ";".join(s.instrument for s in spec.sources),
        "azimuths_deg": ";".join(str(s.azimuth_deg) for s in spec.sources),
        "same_side": spec.same_side,
        **binaural_scores(estimate, scene["binaural"], sample_rate),
    }
