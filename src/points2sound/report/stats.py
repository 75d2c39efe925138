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

Percentile intervals of a skewed metric over few scenes are loose, so each
difference also carries the t-interval of the same data (a paired t on the
per-scene differences, Welch's otherwise) and its one-sided p-value in the
paper's direction, which the page uses to name where the two methods disagree
and to apply Holm's multiple-comparison correction over all checks.

Across conditions whose inputs differ in difficulty (anechoic against a room),
`bootstrap_ratio_difference` compares each side's mean divided by its own
Mono-Mono baseline on the same scenes, the scenes of each side resampled
independently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

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
    t_low: float = math.nan  # the t-interval at the same confidence
    t_high: float = math.nan
    p_value: float = math.nan  # one-sided p of "worse - better > 0" (the paper's ordering)

    @property
    def t_verdict(self) -> str:
        """The verdict the t-interval gives (the same rule as the bootstrap's)."""
        if any(math.isnan(v) for v in (self.diff, self.t_low, self.t_high)):
            return NA
        return HOLDS if self.t_low > 0 else FAILS if self.t_high < 0 else UNRESOLVED

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
    t_low, t_high, p = t_interval(a, b, paired, boot.confidence)
    return Difference(
        float(a.mean()), float(b.mean()), diff, float(low), float(high), paired, n_a, n_b, t_low, t_high, p
    )


def t_interval(better: np.ndarray, worse: np.ndarray, paired: bool, confidence: float) -> tuple[float, float, float]:
    """(low, high, one-sided p) of mean(worse) - mean(better) by Student's t (paired) or Welch's t."""
    if paired:
        d = worse - better
        n = len(d)
        if n < 2:
            return math.nan, math.nan, math.nan
        se, dof = float(np.std(d, ddof=1) / math.sqrt(n)), n - 1
        diff = float(d.mean())
    else:
        na, nb = len(better), len(worse)
        if na < 2 or nb < 2:
            return math.nan, math.nan, math.nan
        va, vb = np.var(better, ddof=1) / na, np.var(worse, ddof=1) / nb
        se = float(math.sqrt(va + vb))
        dof = float((va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))) if se > 0 else float(na + nb - 2)
        diff = float(worse.mean() - better.mean())
    if se == 0:
        p = 0.0 if diff > 0 else 1.0 if diff < 0 else 0.5
        return diff, diff, p
    q = float(sps.t.ppf(0.5 + confidence / 2.0, dof))
    return diff - q * se, diff + q * se, float(sps.t.sf(diff / se, dof))


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted)."""
    finite = sorted((p, k) for k, p in enumerate(p_values) if not math.isnan(p))
    m, out, running = len(finite), [math.nan] * len(p_values), 0.0
    for rank, (p, k) in enumerate(finite):
        running = max(running, min(1.0, (m - rank) * p))
        out[k] = running
    return out


def _ratio_of_means(model: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Row-wise mean(model) / mean(base) of resampled (draws x scenes) arrays."""
    return model.mean(axis=-1) / base.mean(axis=-1)


def _side(model: pd.DataFrame, base: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    a = model.drop_duplicates("scene_id").set_index("scene_id")[metric]
    b = base.drop_duplicates("scene_id").set_index("scene_id")[metric]
    common = a.index.intersection(b.index).sort_values()
    a, b = a.loc[common].to_numpy(float), b.loc[common].to_numpy(float)
    ok = np.isfinite(a) & np.isfinite(b)
    return a[ok], b[ok]


def bootstrap_ratio_difference(
    better: tuple[pd.DataFrame, pd.DataFrame],
    worse: tuple[pd.DataFrame, pd.DataFrame],
    metric: str,
    boot: Bootstrap,
    key: str,
) -> Difference:
    """ratio(worse) - ratio(better), each side's ratio its (model, Mono-Mono) mean ratio on its scenes.

    The two sides' scenes are resampled independently (they are different conditions); within a
    side, model and baseline are resampled together (the same scenes).
    """
    (ma, ba), (mb, bb) = _side(*better, metric), _side(*worse, metric)
    if not len(ma) or not len(mb) or ba.mean() == 0 or bb.mean() == 0:
        return NAN_DIFF
    rng = boot.rng(key)
    ia = rng.integers(0, len(ma), size=(boot.resamples, len(ma)))
    ib = rng.integers(0, len(mb), size=(boot.resamples, len(mb)))
    draws = _ratio_of_means(mb[ib], bb[ib]) - _ratio_of_means(ma[ia], ba[ia])
    ra, rb = float(ma.mean() / ba.mean()), float(mb.mean() / bb.mean())
    tail = (1.0 - boot.confidence) / 2.0
    low, high = np.quantile(draws[np.isfinite(draws)], [tail, 1.0 - tail])
    return Difference(ra, rb, rb - ra, float(low), float(high), False, len(ma), len(mb))
