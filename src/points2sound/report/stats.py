"""Uncertainty of the report's numbers: standard errors and bootstrap intervals.

A table cell is a mean over scenes; its standard error is the sample standard
deviation (ddof 1) over those scenes divided by sqrt(n) (NaN for fewer than two).

An ordering check "A beats B" (lower is better) is judged on the difference of
means d = mean(B) - mean(A) (positive: the ordering of the paper) with a
percentile bootstrap interval at `confidence`:

- paired, when both sides score the same scenes (the same IR set and the same
  scene filters): the scene ids both sides have are resampled with replacement
  and d is the mean of the per-scene differences;
- unpaired otherwise (e.g. same-side against other N = 2 scenes, or anechoic
  against a room, whose scenes differ): each side's scenes are resampled
  independently.

The ordering "holds" only when the interval lies above zero, "does not hold"
when it lies below zero (the reverse ordering is resolved), and is "not
resolved" when it contains zero. Every draw comes from a generator seeded with
the run's seed and a digest of what is being compared, so a check's interval
does not depend on which other checks ran.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..settings.report import Bootstrap

HOLDS, FAILS, UNRESOLVED, NA = "holds", "does not hold", "not resolved", "n/a"


def standard_error(values: np.ndarray | pd.Series) -> float:
    """Standard error of the mean of `values` (NaN for fewer than two finite values)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return math.nan
    return float(np.std(v, ddof=1) / math.sqrt(len(v)))


@dataclass
class Difference:
    """d = mean(worse) - mean(better) with its bootstrap interval, and how it was drawn."""

    better_mean: float
    worse_mean: float
    diff: float
    low: float
    high: float
    paired: bool
    n_better: int
    n_worse: int

    @property
    def verdict(self) -> str:
        if any(math.isnan(v) for v in (self.diff, self.low, self.high)):
            return NA
        if self.low > 0:
            return HOLDS
        if self.high < 0:
            return FAILS
        return UNRESOLVED

    @property
    def scenes(self) -> str:
        return (
            f"paired over {self.n_better} scenes"
            if self.paired
            else f"unpaired, {self.n_better} and {self.n_worse} scenes"
        )

    def interval_text(self, digits: int = 3) -> str:
        if math.isnan(self.diff):
            return "n/a"
        return f"{self.diff:+.{digits}g} [{self.low:+.{digits}g}, {self.high:+.{digits}g}]"


NAN_DIFF = Difference(math.nan, math.nan, math.nan, math.nan, math.nan, False, 0, 0)


def bootstrap_difference(
    better: pd.DataFrame, worse: pd.DataFrame, metric: str, paired: bool, boot: Bootstrap, key: str
) -> Difference:
    """The difference of means worse - better of `metric` with its bootstrap interval.

    `better` / `worse` are scene rows (with `scene_id`); paired: only the scene ids
    both have are used, and they are resampled together.
    """
    if paired:
        a = better.drop_duplicates("scene_id").set_index("scene_id")[metric]
        b = worse.drop_duplicates("scene_id").set_index("scene_id")[metric]
        common = a.index.intersection(b.index).sort_values()
        a, b = a.loc[common].to_numpy(float), b.loc[common].to_numpy(float)
        ok = np.isfinite(a) & np.isfinite(b)
        a, b = a[ok], b[ok]
        if len(a) == 0:
            return NAN_DIFF
        d = b - a
        idx = boot.rng(key).integers(0, len(d), size=(boot.resamples, len(d)))
        draws = d[idx].mean(axis=1)
        n_a = n_b = len(d)
        diff = float(d.mean())
    else:
        a = better[metric].to_numpy(float)
        b = worse[metric].to_numpy(float)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if len(a) == 0 or len(b) == 0:
            return NAN_DIFF
        rng = boot.rng(key)
        ia = rng.integers(0, len(a), size=(boot.resamples, len(a)))
        ib = rng.integers(0, len(b), size=(boot.resamples, len(b)))
        draws = b[ib].mean(axis=1) - a[ia].mean(axis=1)
        n_a, n_b = len(a), len(b)
        diff = float(b.mean() - a.mean())
    tail = (1.0 - boot.confidence) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return Difference(float(a.mean()), float(b.mean()), diff, float(low), float(high), paired, n_a, n_b)
