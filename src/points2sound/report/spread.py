"""Training noise against the ordering checks: which verdicts another training seed could flip.

`benchmarks/seed_spread.py` retrains some variants (p2s_rgb, p2s_depth) with other seeds on a run's
data and scores them on its test scenes; per seed it stores the means of the claim entries
(`entry_means`) and the difference of every adjacent pair of every claim (`pair_differences`,
the report's own `claims.paper_claims`). The report reads that file (`report.seed_spread`) and
gives each pair the standard deviation over seeds of its difference, sigma_d:

- both sides measured (retrained, or Mono-Mono, which no seed moves): the standard deviation
  (ddof 1) of the pair's per-seed differences, which keeps the correlation of two entries of one
  model (a model and its Rotated-Visual);
- a side not retrained (another variant): its sigma is taken from a retrained Points2Sound entry
  of the same IR set and scene filter (the largest, as a proxy: they train by the same recipe),
  and sigma_d = sqrt(sigma_better^2 + sigma_worse^2) (independent trainings).

A pair lies **within the seed spread** when |difference| <= 2 sigma_d: about the range within
which another seed moves it, so its verdict could flip with one. A check lies within the spread
when one of its pairs does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..settings.report import Bootstrap
from .claims import Claim, Entry, paper_claims

SPREAD_METRICS = ("d_env", "d_stft")
WITHIN_SIGMAS = 2.0
_BOOT = Bootstrap(
    resamples=10, confidence=0.95, seed=0
)  # the differences only: their intervals come from the report's own bootstrap


def entry_key(entry: Entry) -> str:
    """A stable text key of an entry: IR set, method, variant, mono input and filters."""
    filters = ",".join(f"{k}={v}" for k, v in entry.filters)
    return f"{entry.ir_set}|{entry.method}|{entry.variant}|{entry.mono_input}|{filters}"


def _claims(anechoic: str, rooms: Sequence[str], rt60: Mapping[str, float] | None) -> list[Claim]:
    return paper_claims(anechoic, list(rooms), rt60)


def entry_means(
    df: pd.DataFrame, anechoic: str, rooms: Sequence[str], rt60: Mapping[str, float] | None, metrics: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Mean of each metric of every claim entry that has scores in `df`, by `entry_key`."""
    out = {}
    for claim in _claims(anechoic, rooms, rt60):
        for e in claim.entries:
            if len(e.rows(df)):
                out[entry_key(e)] = {m: e.mean(df, m) for m in metrics}
    return out


def pair_differences(
    df: pd.DataFrame, anechoic: str, rooms: Sequence[str], rt60: Mapping[str, float] | None, metrics: Sequence[str]
) -> dict[str, float]:
    """worse - better of every adjacent claim pair with both sides in `df`, by `pair_key`."""
    out = {}
    for claim in _claims(anechoic, rooms, rt60):
        for m in metrics:
            for k, (a, b) in enumerate(zip(claim.entries, claim.entries[1:])):
                d = claim.pair_difference(a, b, df, m, _BOOT, k)
                if not math.isnan(d.diff):
                    out[pair_key(claim.statement, m, k)] = d.diff
    return out


def pair_key(statement: str, metric: str, index: int) -> str:
    return f"{statement}|{metric}|{index}"


@dataclass(frozen=True)
class PairSpread:
    """sigma_d of one pair, how it was had, and over how many seeds."""

    sigma: float
    measured: bool  # False: one side's sigma is a proxy
    seeds: int

    def within(self, diff: float) -> bool:
        return abs(diff) <= WITHIN_SIGMAS * self.sigma

    def text(self, diff: float) -> str:
        where = "within" if self.within(diff) else "outside"
        how = "" if self.measured else ", proxy"
        return f"{where} seed spread (2σ = {WITHIN_SIGMAS * self.sigma:.3g}{how})"


class SeedSpread:
    """The per-seed numbers of `benchmarks/seed_spread.py` and the sigma of each pair and entry."""

    def __init__(self, data: Mapping[str, Any], source: str = "") -> None:
        self.source = source
        self.seeds = [str(s) for s in data["seeds"]]
        self.variants = list(data["variants"])
        self.commit = str(data.get("git_commit", ""))
        runs = data["per_seed"]
        self._entries = {s: runs[s]["entries"] for s in self.seeds}
        self._pairs = {s: runs[s]["pairs"] for s in self.seeds}
        self.val = {s: runs[s].get("val", {}) for s in self.seeds}

    @classmethod
    def read(cls, path: str | Path) -> SeedSpread:
        path = Path(path)
        if not path.is_file():
            raise InputFileError(
                path, "seed-spread file not found", "run benchmarks/seed_spread.py, or set report.seed_spread: null"
            )
        try:
            return cls(json.loads(path.read_text()), str(path))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputFileError(path, f"not a seed-spread file of benchmarks/seed_spread.py ({exc!r})") from exc

    def _std(self, values: list[float]) -> float:
        v = np.asarray([x for x in values if x is not None and math.isfinite(x)], float)
        return float(np.std(v, ddof=1)) if len(v) == len(self.seeds) and len(v) >= 2 else math.nan

    def entry_sigma(self, entry: Entry, metric: str) -> tuple[float, bool]:
        """(sigma over seeds of the entry's mean, measured); Mono-Mono is (0, True)."""
        if entry.method == "mono_mono":
            return 0.0, True
        key = entry_key(entry)
        measured = self._std([self._entries[s].get(key, {}).get(metric) for s in self.seeds])
        if not math.isnan(measured):
            return measured, True
        # a proxy: the largest sigma of a retrained Points2Sound entry with the same IR set and filters
        ir_set, _, _, _, filters = key.split("|")
        proxies = [
            self._std([self._entries[s].get(k, {}).get(metric) for s in self.seeds])
            for k in self._entries[self.seeds[0]]
            if k.split("|")[0] == ir_set and k.split("|")[1] == "points2sound" and k.split("|")[4] == filters
        ]
        proxies = [p for p in proxies if not math.isnan(p)]
        return (max(proxies) if proxies else math.nan), False

    def pair(self, statement: str, metric: str, index: int, better: Entry, worse: Entry) -> PairSpread | None:
        """The seed spread of one adjacent pair of a claim (None when nothing can be said)."""
        diffs = [self._pairs[s].get(pair_key(statement, metric, index)) for s in self.seeds]
        sigma = self._std(diffs)
        if not math.isnan(sigma):
            return PairSpread(sigma, True, len(self.seeds))
        (s_b, m_b), (s_w, m_w) = self.entry_sigma(better, metric), self.entry_sigma(worse, metric)
        if math.isnan(s_b) or math.isnan(s_w):
            return None
        return PairSpread(math.hypot(s_b, s_w), m_b and m_w, len(self.seeds))

    def per_seed(self, statement: str, metric: str, index: int) -> list[float | None]:
        """Each seed's difference of one adjacent pair (None where that seed did not store it)."""
        return [self._pairs[s].get(pair_key(statement, metric, index)) for s in self.seeds]

    def ratio_pair(
        self, metric: str, better: Entry, worse: Entry, base_better: float, base_worse: float
    ) -> PairSpread | None:
        """The seed spread of a difference of ratios to Mono-Mono (no seed moves Mono-Mono): from each
        seed's two entry means where both are stored (keeping their correlation), else from each side's sigma."""
        per_seed = [[self._entries[s].get(entry_key(e), {}).get(metric) for s in self.seeds] for e in (better, worse)]
        if base_better and base_worse and all(v is not None for side in per_seed for v in side):
            sigma = self._std([w / base_worse - b / base_better for b, w in zip(*per_seed)])
            if not math.isnan(sigma):
                return PairSpread(sigma, True, len(self.seeds))
        (s_b, m_b), (s_w, m_w) = self.entry_sigma(better, metric), self.entry_sigma(worse, metric)
        if any(math.isnan(v) for v in (s_b, s_w, base_better, base_worse)) or not base_better or not base_worse:
            return None
        return PairSpread(math.hypot(s_b / base_better, s_w / base_worse), m_b and m_w, len(self.seeds))

    def summary(self) -> str:
        return (
            f"{len(self.seeds)} training seeds ({', '.join(self.seeds)}) of {', '.join(self.variants)} "
            f"(`{self.source}`, benchmarks/seed_spread.py at {self.commit or 'an unrecorded commit'})"
        )
