"""The paper's orderings, checked on our scores (never hard-coded verdicts).

Each claim is an ordering of entries from best to worst (lower distance is
better), judged on the mean over all scenes of each entry, separately for
d_ENV and d_STFT: it "holds" when the means strictly increase along the
ordering, "does not hold" otherwise, and is "n/a" when an entry was not run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pandas as pd

from .paper import load_paper_numbers, paper_entry
from .tables import HEADLINE, METRIC_LABELS, room_key, select_entry

HOLDS, FAILS, NA = "holds", "does not hold", "n/a"


@dataclass(frozen=True)
class Entry:
    """One side of a comparison: an evaluated entry, optionally narrowed (e.g. N = 2, same side)."""

    label: str
    ir_set: str
    method: str
    variant: str
    mono_input: str
    filters: tuple[tuple[str, object], ...] = ()
    paper: Mapping[str, float] = field(default_factory=dict)  # the paper's value per metric, if any

    def mean(self, df: pd.DataFrame, metric: str) -> float:
        rows = select_entry(df, self.ir_set, self.method, self.variant, self.mono_input, **dict(self.filters))
        return float(rows[metric].mean()) if len(rows) else math.nan


@dataclass
class Claim:
    """An ordering from the paper, best first, and what our run says about it."""

    statement: str
    entries: list[Entry]
    ours: dict[str, list[float]] = field(default_factory=dict)    # metric -> means along the ordering
    verdicts: dict[str, str] = field(default_factory=dict)        # metric -> holds / does not hold / n/a

    def evaluate(self, df: pd.DataFrame, metrics: Sequence[str]) -> "Claim":
        for m in metrics:
            means = [e.mean(df, m) for e in self.entries]
            self.ours[m] = means
            if any(math.isnan(v) for v in means):
                self.verdicts[m] = NA
            else:
                self.verdicts[m] = HOLDS if all(a < b for a, b in zip(means, means[1:])) else FAILS
        return self

    def missing(self, df: pd.DataFrame) -> list[str]:
        """Labels of the entries with no scores."""
        return [e.label for e in self.entries if math.isnan(e.mean(df, "d_env"))]


def _paper_means(method: str, variant: str, mono_input: str) -> dict[str, float]:
    row = paper_entry(method, variant, mono_input)
    return {m: float(row[m]["mean"]) for m in ("d_env", "d_stft")} if row else {}


def _entry(label: str, ir_set: str, method: str, variant: str, mono_input: str, paper: bool = True,
           **filters: object) -> Entry:
    values = _paper_means(method, variant, mono_input) if paper else {}
    return Entry(label, ir_set, method, variant, mono_input, tuple(sorted(filters.items())), values)


def paper_claims(anechoic: str, rooms: Sequence[str] = (), room_rt60_s: Mapping[str, float] | None = None) -> list[Claim]:
    """The orderings the paper reports, as claims on our entries."""
    inputs = [("true mono", "true_mono", "p2s_truemono"), ("s_L", "left", "p2s_left"), ("s_L + s_R", "sum_lr", "p2s_rgb")]
    claims = []
    for label, mono_input, variant in inputs:
        p2s = _entry(f"Points2Sound ({label})", anechoic, "points2sound", variant, mono_input)
        claims.append(Claim(f"Points2Sound beats Mono-Mono, mono input {label}",
                            [p2s, _entry(f"Mono-Mono ({label})", anechoic, "mono_mono", "", mono_input)]))
        claims.append(Claim(f"Points2Sound beats Rotated-Visual, mono input {label}",
                            [p2s, _entry(f"Rotated-Visual ({label})", anechoic, "rotated_visual", variant, mono_input)]))
    p2s_rgb = _entry("Points2Sound rgb-depth", anechoic, **HEADLINE)
    p2s_depth = _entry("Points2Sound depth only", anechoic, "points2sound", "p2s_depth", "sum_lr")
    m2b_rgb = _entry("Mono2Binaural rgb-depth", anechoic, "mono2binaural", "m2b_rgb", "sum_lr")
    m2b_depth = _entry("Mono2Binaural depth only", anechoic, "mono2binaural", "m2b_depth", "sum_lr")
    claims += [
        Claim("rgb-depth beats depth only (Points2Sound)", [p2s_rgb, p2s_depth]),
        Claim("rgb-depth beats depth only (Mono2Binaural)", [m2b_rgb, m2b_depth]),
        Claim("L_full beats L_diff", [p2s_rgb, _entry("Points2Sound L_diff", anechoic, "points2sound", "p2s_diff", "sum_lr")]),
        Claim("mono inputs ordered s_L + s_R < s_L < true mono (Points2Sound)",
              [_entry(f"Points2Sound ({label})", anechoic, "points2sound", v, mi) for label, mi, v in reversed(inputs)]),
        Claim("Points2Sound beats Mono2Binaural (rgb-depth)", [p2s_rgb, m2b_rgb]),
        Claim("Points2Sound beats Mono2Binaural (depth only)", [p2s_depth, m2b_depth]),
    ]
    text = load_paper_numbers()["text"]["n2_same_side"]
    claims.append(Claim("N = 2: sources on the same side beat other configurations", [
        Entry("same side", anechoic, **HEADLINE, filters=(("n_sources", 2), ("same_side", True)),
              paper=dict(text["same_side"])),
        Entry("other configurations", anechoic, **HEADLINE, filters=(("n_sources", 2), ("same_side", False)),
              paper=dict(text["other"])),
    ]))
    for room in rooms:
        claims.append(Claim(f"anechoic beats room {room} (Points2Sound rgb-depth)",
                            [p2s_rgb, _entry(f"Points2Sound in {room}", room, **HEADLINE, paper=False)]))
    rt60 = dict(room_rt60_s or {})
    if not rt60:
        paper_rt60 = load_paper_numbers()["text"]["room_rt60_s"]
        rt60 = {r: paper_rt60[room_key(r)] for r in rooms if room_key(r) in paper_rt60}
    ordered = sorted((r for r in rooms if r in rt60), key=lambda r: rt60[r])
    if len(ordered) >= 2:
        claims.append(Claim("drier rooms beat more reverberant ones: " + " < ".join(
            f"{r} (RT60 {rt60[r]:g} s)" for r in ordered),
            [_entry(f"Points2Sound in {r}", r, **HEADLINE, paper=False) for r in ordered]))
    return claims


def check_claims(df: pd.DataFrame, anechoic: str, rooms: Sequence[str] | None = None,
                 room_rt60_s: Mapping[str, float] | None = None,
                 metrics: Sequence[str] = ("d_env", "d_stft")) -> list[Claim]:
    """Evaluate every paper claim on `df` (rooms default to every ir_set but the anechoic one)."""
    if rooms is None:
        rooms = sorted(set(df["ir_set"]) - {anechoic})
    return [c.evaluate(df, metrics) for c in paper_claims(anechoic, rooms, room_rt60_s)]


def _fmt(values: Sequence[float]) -> str:
    return " / ".join("n/a" if math.isnan(v) else f"{v:.3f}" for v in values)


def claims_markdown(claims: Sequence[Claim], df: pd.DataFrame) -> str:
    """A Markdown table: claim, our means along the ordering, the paper's, verdict per metric."""
    metrics = list(claims[0].verdicts) if claims else []
    header = ["claim (best first)"]
    for m in metrics:
        label = METRIC_LABELS.get(m, m)
        header += [f"{label} ours", f"{label} paper", f"{label}"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    for c in claims:
        cells = [c.statement + " (" + " < ".join(e.label for e in c.entries) + ")"]
        for m in metrics:
            paper = [e.paper.get(m, math.nan) for e in c.entries]
            verdict = c.verdicts[m]
            if verdict == NA:
                verdict = "n/a (not run: " + ", ".join(c.missing(df)) + ")"
            cells += [_fmt(c.ours[m]), "–" if all(math.isnan(v) for v in paper) else _fmt(paper), verdict]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines) + "\n"
