"""The Mono-Mono baseline: the mono input copied to both ears, scored like any model (no network)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from points2sound.data.scenes import MONO_INPUTS
from points2sound.evaluate.scene_rows import iter_scenes, score_row
from points2sound.evaluate.scores import write_scores


def mono_mono_estimate(mono: np.ndarray) -> np.ndarray:
    """Mono-Mono: the mono input in both ears, (2, T). Metrics normalize the peak, so no gain is needed."""
    return np.stack([mono, mono])


def score_mono_mono(scenes_dir: Path, ir_set: str, sample_rate: int, out_csv: Path) -> int:
    """The Mono-Mono baseline for each of the three mono inputs."""
    rows = []
    for scene in iter_scenes(scenes_dir):
        for kind in MONO_INPUTS:
            rows.append(
                score_row(
                    scene, ir_set, "mono_mono", "", kind, "", "", mono_mono_estimate(scene["mono"][kind]), sample_rate
                )
            )
    write_scores(out_csv, rows)
    return len(rows)
