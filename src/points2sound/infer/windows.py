"""Overlapping windows over a sequence and their cross-fade weights.

Shared by the chunked inference of long files (windows of samples) and the GEMM
engine's windowed BiLSTM (windows of bottleneck frames).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError


@dataclass(frozen=True)
class ChunkPlan:
    """Windows over a clip of `total` samples: output window k covers [starts[k], starts[k] + length)."""

    total: int
    length: int
    starts: tuple[int, ...]
    overlap: int

    def weights(self, k: int) -> np.ndarray:
        """Cross-fade weights (length,) of window k; the weights of all windows sum to 1 on [0, total)."""
        n = self.length
        w = np.ones(n, np.float64)
        ramp_lo = self.overlap // 4
        ramp = max(1, self.overlap - 2 * ramp_lo)
        j = np.arange(n, dtype=np.float64)
        rise = np.clip((j - ramp_lo + 0.5) / ramp, 0.0, 1.0)
        fall = rise[::-1]
        if k > 0:
            w = np.minimum(w, rise)
        if k < len(self.starts) - 1:
            w = np.minimum(w, fall)
        return np.maximum(w, 1e-6)  # never exactly 0: the sum is always invertible


def plan_chunks(total: int, length: int, overlap: int, grid: int = 1, origin: int = 0) -> ChunkPlan:
    """Windows of `length` samples overlapping by at least `overlap`, starting on `origin + k * grid`.

    The hop is the largest multiple of `grid` not above length - overlap, and the first
    window starts at the grid point at or before 0, so that every window sits on the grid
    of the whole clip.
    """
    if total < 1 or length < 1:
        raise ParameterError("length", f"need a positive clip and window, got {total}, {length}")
    hop = (length - overlap) // grid * grid
    if hop < grid:
        raise ParameterError(
            "overlap_s",
            f"an overlap of {overlap} samples leaves no hop in windows of {length} "
            f"(the hop must be a multiple of {grid} samples)",
        )
    first = origin - math.ceil(origin / grid) * grid  # largest origin + k * grid <= 0
    starts = [first]
    while starts[-1] + length < total:
        starts.append(starts[-1] + hop)
    return ChunkPlan(total, length, tuple(starts), length - hop)
