"""The paper's orderings, checked on our scores (never hard-coded verdicts).

Each claim is an ordering of entries from best to worst (lower distance is
better), checked separately for d_ENV and d_STFT on each adjacent pair of the
ordering by the bootstrap of `report.stats`: a pair "holds" when the interval of
the difference of means (worse - better) lies above zero, "does not hold" when
it lies below zero and is "not resolved" otherwise. A claim holds when every
pair holds, does not hold when some pair is resolved the other way, is not
resolved otherwise, and is "n/a" when an entry was not run.

A check that does not hold (or is not resolved) gets a measured explanation
(`explain`): the same comparison for the Mono-Mono baseline on the same scenes
(does the baseline already show that ordering?) and each side's learned gain
over Mono-Mono on its scenes.

Claims come in three groups (`GROUPS`): baselines beaten, design choices and
conditions. A check **does not fit this data** (`MISFIT`, counted apart) when
what it compares is confounded here, with the measured reason: an absolute
comparison across IR sets whose Mono-Mono baseline is itself resolved the other
way (the conditions' inputs differ in difficulty: such conditions are compared
by ratio to Mono-Mono instead, by `ratio` claims), and L_full against L_diff
when the residual copy path starts L_full at the copy, as L_diff starts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..evaluate.metrics import METRIC_LABELS
from ..settings.report import Bootstrap
from .entries import HEADLINE, MONO_INPUTS, select_entry
from .paper import load_paper_numbers, paper_entry
from .stats import (
    FAILS,
    HOLDS,
    NA,
    NAN_DIFF,
    UNRESOLVED,
    Difference,
    bootstrap_difference,
    bootstrap_ratio_difference,
)
from .tables import room_key

MISFIT = "does not fit this data"
GROUPS = ("baselines beaten", "design choices", "conditions")

__all__ = [
    "FAILS",
    "GROUPS",
    "HOLDS",
    "MISFIT",
    "NA",
    "UNRESOLVED",
    "Claim",
    "Entry",
    "check_claims",
    "claims_markdown",
    "explanations_markdown",
    "misfits_markdown",
    "paper_claims",
    "within_seed_spread",
]


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

    def rows(self, df: pd.DataFrame) -> pd.DataFrame:
        return select_entry(df, self.ir_set, self.method, self.variant, self.mono_input, **dict(self.filters))

    def mean(self, df: pd.DataFrame, metric: str) -> float:
        rows = self.rows(df)
        return float(rows[metric].mean()) if len(rows) else math.nan

    def mono_mono(self) -> Entry:
        """The Mono-Mono baseline of this entry's mono input, IR set and filters."""
        return Entry(f"Mono-Mono for {self.label}", self.ir_set, "mono_mono", "", self.mono_input, self.filters)

    def pairs_with(self, other: Entry) -> bool:
        """Whether both score the same scenes (then differences are paired by scene id)."""
        return self.ir_set == other.ir_set and self.filters == other.filters


def compare(
    better: Entry,
    worse: Entry,
    df: pd.DataFrame,
    metric: str,
    boot: Bootstrap,
    key: str,
    scenes_of: tuple[Entry, Entry] | None = None,
) -> Difference:
    """worse - better on `metric`; `scenes_of`: keep only the scene ids those entries have."""
    a, b = better.rows(df), worse.rows(df)
    if not len(a) or not len(b):
        return NAN_DIFF
    if scenes_of is not None:
        a = a[a["scene_id"].isin(set(scenes_of[0].rows(df)["scene_id"]))]
        b = b[b["scene_id"].isin(set(scenes_of[1].rows(df)["scene_id"]))]
    return bootstrap_difference(a, b, metric, better.pairs_with(worse), boot, key)


@dataclass
class Claim:
    """An ordering from the paper, best first, and what our run says about it."""

    statement: str
    entries: list[Entry]
    group: str = GROUPS[0]
    by_ratio: bool = False  # compare each entry's mean divided by its own Mono-Mono's (other conditions)
    tests_loss: bool = False  # L_full against L_diff: does not fit when L_full has the residual copy path
    ours: dict[str, list[float]] = field(default_factory=dict)  # metric -> means (ratios) along the ordering
    verdicts: dict[str, str] = field(default_factory=dict)  # metric -> holds / does not hold / ...
    measured: dict[str, str] = field(default_factory=dict)  # metric -> the verdict before a MISFIT mark
    misfit: dict[str, str] = field(default_factory=dict)  # metric -> why the check does not fit this data
    pairs: dict[str, list[Difference]] = field(default_factory=dict)  # metric -> one per adjacent pair
    bases: dict[str, list[float]] = field(default_factory=dict)  # by_ratio: each entry's Mono-Mono mean

    def pair_difference(self, a: Entry, b: Entry, df: pd.DataFrame, m: str, boot: Bootstrap, k: int) -> Difference:
        key = f"{self.statement}|{m}|{k}"
        if self.by_ratio:
            sides = (a.rows(df), a.mono_mono().rows(df)), (b.rows(df), b.mono_mono().rows(df))
            return bootstrap_ratio_difference(*sides, m, boot, key)
        return compare(a, b, df, m, boot, key)

    def evaluate(self, df: pd.DataFrame, metrics: Sequence[str], boot: Bootstrap) -> Claim:
        for m in metrics:
            self.pairs[m] = [
                self.pair_difference(a, b, df, m, boot, k)
                for k, (a, b) in enumerate(zip(self.entries, self.entries[1:]))
            ]
            means = [e.mean(df, m) for e in self.entries]
            if self.by_ratio:
                ends = [(d.better_mean, d.worse_mean) for d in self.pairs[m]]
                means = [ends[0][0], *(w for _, w in ends)] if ends else means
                self.bases[m] = [e.mono_mono().mean(df, m) for e in self.entries]
            self.ours[m] = means
            verdicts = [d.verdict for d in self.pairs[m]]
            if any(math.isnan(v) for v in means) or NA in verdicts:
                self.verdicts[m] = NA
            elif all(v == HOLDS for v in verdicts):
                self.verdicts[m] = HOLDS
            elif FAILS in verdicts:
                self.verdicts[m] = FAILS
            else:
                self.verdicts[m] = UNRESOLVED
            self.measured[m] = self.verdicts[m]
        return self

    def mark_misfit(self, metric: str, reason: str) -> None:
        """The check does not fit this data: keep the measured verdict beside the reason."""
        if self.verdicts.get(metric) != NA:
            self.misfit[metric], self.verdicts[metric] = reason, MISFIT

    def missing(self, df: pd.DataFrame) -> list[str]:
        """Labels of the entries with no scores."""
        return [e.label for e in self.entries if math.isnan(e.mean(df, "d_env"))]


def _paper_means(method: str, variant: str, mono_input: str) -> dict[str, float]:
    row = paper_entry(method, variant, mono_input)
    return {m: float(row[m]["mean"]) for m in ("d_env", "d_stft")} if row else {}


def _entry(
    label: str, ir_set: str, method: str, variant: str, mono_input: str, paper: bool = True, **filters: object
) -> Entry:
    values = _paper_means(method, variant, mono_input) if paper else {}
    return Entry(label, ir_set, method, variant, mono_input, tuple(sorted(filters.items())), values)


def _baseline_claims(anechoic: str) -> list[Claim]:
    """Points2Sound against Mono-Mono and Rotated-Visual, per mono input (Table 1)."""
    claims = []
    for label, mono_input, variant in MONO_INPUTS:
        p2s = _entry(f"Points2Sound ({label})", anechoic, "points2sound", variant, mono_input)
        claims.append(
            Claim(
                f"Points2Sound beats Mono-Mono, mono input {label}",
                [p2s, _entry(f"Mono-Mono ({label})", anechoic, "mono_mono", "", mono_input)],
            )
        )
        claims.append(
            Claim(
                f"Points2Sound beats Rotated-Visual, mono input {label}",
                [p2s, _entry(f"Rotated-Visual ({label})", anechoic, "rotated_visual", variant, mono_input)],
            )
        )
    return claims


def _model_claims(anechoic: str) -> list[Claim]:
    """Features, loss, mono inputs and Points2Sound against Mono2Binaural (Tables 1 and 2)."""
    p2s_rgb = _entry("Points2Sound rgb-depth", anechoic, **HEADLINE)
    p2s_depth = _entry("Points2Sound depth only", anechoic, "points2sound", "p2s_depth", "sum_lr")
    m2b_rgb = _entry("Mono2Binaural rgb-depth", anechoic, "mono2binaural", "m2b_rgb", "sum_lr")
    m2b_depth = _entry("Mono2Binaural depth only", anechoic, "mono2binaural", "m2b_depth", "sum_lr")
    by_input = [
        _entry(f"Points2Sound ({label})", anechoic, "points2sound", v, mi) for label, mi, v in reversed(MONO_INPUTS)
    ]
    design = GROUPS[1]
    return [
        Claim("rgb-depth beats depth only (Points2Sound)", [p2s_rgb, p2s_depth], design),
        Claim("rgb-depth beats depth only (Mono2Binaural)", [m2b_rgb, m2b_depth], design),
        Claim(
            "L_full beats L_diff",
            [p2s_rgb, _entry("Points2Sound L_diff", anechoic, "points2sound", "p2s_diff", "sum_lr")],
            design,
            tests_loss=True,
        ),
        Claim("mono inputs ordered s_L + s_R < s_L < true mono (Points2Sound)", by_input, design),
        Claim("Points2Sound beats Mono2Binaural (rgb-depth)", [p2s_rgb, m2b_rgb]),
        Claim("Points2Sound beats Mono2Binaural (depth only)", [p2s_depth, m2b_depth]),
    ]


def _same_side_claim(anechoic: str) -> Claim:
    """N = 2 by source placement (the paper's text)."""
    text = load_paper_numbers()["text"]["n2_same_side"]
    sides = [("same side", True, text["same_side"]), ("other configurations", False, text["other"])]
    return Claim(
        "N = 2: sources on the same side beat other configurations",
        [
            Entry(label, anechoic, **HEADLINE, filters=(("n_sources", 2), ("same_side", side)), paper=dict(paper))
            for label, side, paper in sides
        ],
        GROUPS[2],
    )


def _room_claims(anechoic: str, rooms: Sequence[str], room_rt60_s: Mapping[str, float] | None) -> list[Claim]:
    """Anechoic against each room, and the rooms ordered by RT60 (ours, else the paper's)."""
    p2s_rgb = _entry("Points2Sound rgb-depth", anechoic, **HEADLINE)
    conditions = GROUPS[2]
    claims = []
    for room in rooms:
        pair = [p2s_rgb, _entry(f"Points2Sound in {room}", room, **HEADLINE, paper=False)]
        claims.append(Claim(f"anechoic beats room {room} (Points2Sound rgb-depth)", pair, conditions))
        claims.append(Claim(f"anechoic beats room {room}, by ratio to Mono-Mono", pair, conditions, by_ratio=True))
    rt60 = dict(room_rt60_s or {})
    if not rt60:
        paper_rt60 = load_paper_numbers()["text"]["room_rt60_s"]
        rt60 = {r: paper_rt60[room_key(r)] for r in rooms if room_key(r) in paper_rt60}
    ordered = sorted((r for r in rooms if r in rt60), key=lambda r: rt60[r])
    if len(ordered) >= 2:
        statement = "drier rooms beat more reverberant ones: " + " < ".join(
            f"{r} (RT60 {rt60[r]:g} s)" for r in ordered
        )
        entries = [_entry(f"Points2Sound in {r}", r, **HEADLINE, paper=False) for r in ordered]
        claims.append(Claim(statement, entries, conditions))
        claims.append(Claim(statement + ", by ratio to Mono-Mono", entries, conditions, by_ratio=True))
    return claims


def paper_claims(
    anechoic: str, rooms: Sequence[str] = (), room_rt60_s: Mapping[str, float] | None = None
) -> list[Claim]:
    """The orderings the paper reports, as claims on our entries."""
    return [
        *_baseline_claims(anechoic),
        *_model_claims(anechoic),
        _same_side_claim(anechoic),
        *_room_claims(anechoic, rooms, room_rt60_s),
    ]


def check_claims(
    df: pd.DataFrame,
    anechoic: str,
    rooms: Sequence[str] | None = None,
    room_rt60_s: Mapping[str, float] | None = None,
    metrics: Sequence[str] = ("d_env", "d_stft"),
    *,
    boot: Bootstrap,
    residual_copy: bool = False,
) -> list[Claim]:
    """Evaluate every paper claim on `df` (rooms default to every ir_set but the anechoic one), marking
    those that do not fit this data; `residual_copy`: L_full has the residual copy path
    (`model.demucs.residual`)."""
    if rooms is None:
        rooms = sorted(set(df["ir_set"]) - {anechoic})
    claims = [c.evaluate(df, metrics, boot) for c in paper_claims(anechoic, rooms, room_rt60_s)]
    for c in claims:
        for m in metrics:
            reason = misfit_reason(c, df, m, boot, residual_copy)
            if reason:
                c.mark_misfit(m, reason)
    return claims


def misfit_reason(claim: Claim, df: pd.DataFrame, metric: str, boot: Bootstrap, residual_copy: bool) -> str:
    """Why `claim` does not fit this data on `metric`, measured ('' when it fits)."""
    if claim.tests_loss and residual_copy:
        gains = [learned_gain(e, df, metric)[0] for e in claim.entries]
        return (
            "the residual copy path (`model.demucs.residual: true`) starts L_full at the Mono-Mono estimate, as "
            "L_diff starts by construction, which removes the difference the paper tests; learned gains over "
            "Mono-Mono: " + ", ".join(f"{e.label} {_pct(g)}" for e, g in zip(claim.entries, gains))
        )
    if claim.by_ratio:
        return ""
    reasons = []
    for k, (a, b) in enumerate(zip(claim.entries, claim.entries[1:])):
        if a.ir_set == b.ir_set:
            continue
        base = compare(a.mono_mono(), b.mono_mono(), df, metric, boot, f"{claim.statement}|{metric}|{k}|fit")
        if base.verdict == FAILS:
            reasons.append(
                f"Mono-Mono itself is lower in {b.ir_set} than in {a.ir_set} ({base.worse_mean:.4g} against "
                f"{base.better_mean:.4g}, {base.interval_text()}, {base.scenes}): the conditions' inputs differ "
                "in difficulty before any learning, so only ratios to Mono-Mono compare (the check by ratio)"
            )
    return "; ".join(reasons)


def _fmt(values: Sequence[float]) -> str:
    return " / ".join("n/a" if math.isnan(v) else f"{v:.3f}" for v in values)


def pair_spreads(claim: Claim, metric: str, spread: Any) -> list[Any]:
    """The seed spread (report.spread.PairSpread, or None) of each adjacent pair of `claim`."""
    pairs = list(zip(claim.entries, claim.entries[1:]))
    if claim.by_ratio:  # Mono-Mono does not move with the seed: sigma of a ratio is sigma / baseline
        bases = claim.bases.get(metric, [math.nan] * len(claim.entries))
        return [spread.ratio_pair(metric, a, b, bases[k], bases[k + 1]) for k, (a, b) in enumerate(pairs)]
    return [spread.pair(claim.statement, metric, k, a, b) for k, (a, b) in enumerate(pairs)]


def within_seed_spread(claim: Claim, metric: str, spread: Any) -> bool | None:
    """Whether one pair of the check differs by no more than the seed spread allows (None: unknown)."""
    if spread is None or claim.verdicts.get(metric) == NA:
        return None
    spreads = pair_spreads(claim, metric, spread)
    if any(s is not None and s.within(d.diff) for s, d in zip(spreads, claim.pairs[metric])):
        return True
    return False if all(s is not None for s in spreads) else None


def _spread_text(claim: Claim, metric: str, spread: Any) -> str:
    within = within_seed_spread(claim, metric, spread)
    if within is None:
        return ""
    texts = [
        s.text(d.diff) if s is not None else "no spread"
        for s, d in zip(pair_spreads(claim, metric, spread), claim.pairs[metric])
    ]
    if within and seeds_agree(claim, metric, spread):
        texts.append(f"all {len(spread.seeds)} seeds agree in sign")
    return ("; **within seed spread**: " if within else "; outside seed spread: ") + "; ".join(texts)


def seeds_agree(claim: Claim, metric: str, spread: Any) -> bool:
    """Every retrained seed gives each pair's difference the sign of ours (False where a seed is unknown)."""
    for k, d in enumerate(claim.pairs.get(metric, [])):
        diffs = spread.per_seed(claim.statement, metric, k)
        if not diffs or any(x is None or math.isnan(x) or x * d.diff <= 0 for x in diffs):
            return False
    return bool(claim.pairs.get(metric))


def claims_markdown(claims: Sequence[Claim], df: pd.DataFrame, boot: Bootstrap, spread: Any = None) -> str:
    """A Markdown table: claim, our means along the ordering, the paper's, the interval of each
    adjacent pair's difference (worse - better; > 0: the paper's ordering) and the verdict, per metric;
    with `spread` (report.spread.SeedSpread) the verdict says whether the check lies within the seed spread."""
    metrics = list(claims[0].verdicts) if claims else []
    header = ["claim (best first)"]
    for m in metrics:
        label = METRIC_LABELS.get(m, m)
        header += [f"{label} ours", f"{label} paper", f"{label} difference [{boot.percent} CI]", f"{label}"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    for c in claims:
        cells = [c.statement + " (" + " < ".join(e.label for e in c.entries) + ")"]
        if c.by_ratio:
            cells[0] += " [ratios to Mono-Mono]"
        for m in metrics:
            paper = [e.paper.get(m, math.nan) for e in c.entries]
            if c.by_ratio:  # the paper's ratio to its own Mono-Mono, where it gives both
                paper = [1.0 - _paper_gain(e, m)[1] for e in c.entries]
            verdict = c.verdicts[m]
            if verdict == NA:
                verdict = "n/a (not run: " + ", ".join(c.missing(df)) + ")"
            elif verdict == MISFIT:
                verdict = f"{MISFIT} (measured: {c.measured[m]}; why: below)"
            intervals = "; ".join(
                f"{d.interval_text()} ({'paired' if d.paired else 'unpaired'})" if not math.isnan(d.diff) else "n/a"
                for d in c.pairs.get(m, [])
            )
            verdict += _spread_text(c, m, spread)
            cells += [_fmt(c.ours[m]), "–" if all(math.isnan(v) for v in paper) else _fmt(paper), intervals, verdict]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines) + "\n"


def learned_gain(entry: Entry, df: pd.DataFrame, metric: str) -> tuple[float, int]:
    """1 - mean(entry) / mean(Mono-Mono) over the scenes both scored, and how many."""
    rows = entry.rows(df).drop_duplicates("scene_id").set_index("scene_id")[metric]
    if entry.method == "mono_mono":
        return (0.0 if len(rows) else math.nan), len(rows)
    base = entry.mono_mono().rows(df).drop_duplicates("scene_id").set_index("scene_id")[metric]
    common = rows.index.intersection(base.index)
    if not len(common) or base.loc[common].mean() == 0:
        return math.nan, 0
    return float(1.0 - rows.loc[common].mean() / base.loc[common].mean()), len(common)


_BASELINE = {
    FAILS: "the baseline shows the same reversed ordering",
    HOLDS: "the baseline shows the paper's ordering",
    UNRESOLVED: "the baseline does not resolve a difference",
    NA: "the baseline was not scored on these scenes",
}


def _pct(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{100 * v:+.1f} %"


def explain_pair(
    statement: str, better: Entry, worse: Entry, model: Difference, df: pd.DataFrame, metric: str, boot: Bootstrap
) -> str:
    """One measured explanation of a pair of an ordering that did not hold (Markdown list item)."""
    label = METRIC_LABELS.get(metric, metric)
    mm_b, mm_w = better.mono_mono(), worse.mono_mono()
    same_baseline = (mm_b.ir_set, mm_b.mono_input, mm_b.filters) == (mm_w.ir_set, mm_w.mono_input, mm_w.filters)
    base = compare(
        mm_b,
        mm_w,
        df,
        metric,
        boot,
        f"{statement}|{metric}|baseline|{better.label}|{worse.label}",
        scenes_of=(better, worse),
    )
    g_b, n_b = learned_gain(better, df, metric)
    g_w, n_w = learned_gain(worse, df, metric)
    text = (
        f"- **{statement}**, {label}: {better.label} {model.better_mean:.4g} against {worse.label} "
        f"{model.worse_mean:.4g}; difference {model.interval_text()} ({boot.percent}, {model.scenes}): "
        f"**{model.verdict}**. "
    )
    if same_baseline:
        text += (
            f"Both sides have the same Mono-Mono baseline ({mm_b.mono_input}, {mm_b.ir_set}"
            f"{', same scenes' if better.pairs_with(worse) else ''}), so the inputs do not differ. "
        )
    else:
        text += (
            f"Mono-Mono on the same scenes: {base.better_mean:.4g} against {base.worse_mean:.4g}, "
            f"difference {base.interval_text()} ({base.scenes}): {_BASELINE[base.verdict]}. "
        )
    text += (
        f"Learned gain over Mono-Mono (1 - ratio of means on the same scenes): {better.label} {_pct(g_b)} "
        f"({n_b} scenes), {worse.label} {_pct(g_w)} ({n_w} scenes). "
    )
    if model.verdict == FAILS and "mono_mono" in (better.method, worse.method):
        side, gain = (worse, g_w) if better.method == "mono_mono" else (better, g_b)
        text += (
            f"{side.label}'s learned gain over Mono-Mono is {_pct(gain)}: its output is further from the "
            f"truth than the mono input copied to both ears."
        )
    elif model.verdict == FAILS and base.verdict == FAILS:
        text += "The reversal is already in the inputs of these scenes before any learning"
        text += ", and the learned gains do not undo it." if not (math.isnan(g_b) or math.isnan(g_w)) else "."
        text += _paper_inputs_text(better, worse, metric, g_b, g_w)
    elif model.verdict == FAILS:
        if not (math.isnan(g_b) or math.isnan(g_w)) and g_b < g_w:
            text += (
                f"The baseline does not show it: {worse.label} learned a larger gain over Mono-Mono than "
                f"{better.label} ({_pct(g_w)} against {_pct(g_b)})."
            )
        else:
            text += "The baseline does not show it: the reversal comes from what the models output."
    elif model.verdict == UNRESOLVED:
        text += (
            f"The interval ({model.high - model.low:.3g} wide) contains zero: these scenes do not resolve the ordering."
        )
    return text


def _paper_gain(entry: Entry, metric: str) -> tuple[float, float]:
    """(the paper's Mono-Mono value for the entry's mono input, the paper's learned gain over it)."""
    base = _paper_means("mono_mono", "", entry.mono_input).get(metric, math.nan)
    value = entry.paper.get(metric, math.nan)
    return base, (1.0 - value / base) if base and not math.isnan(value) else math.nan


def _paper_inputs_text(better: Entry, worse: Entry, metric: str, g_b: float, g_w: float) -> str:
    """Whether the paper's own Mono-Mono shows the reversal, and whether its models overcame it."""
    (pb, pg_b), (pw, pg_w) = _paper_gain(better, metric), _paper_gain(worse, metric)
    if any(math.isnan(v) for v in (pb, pw, pg_b, pg_w)):
        return ""
    same = pb > pw
    overcame = better.paper[metric] < worse.paper[metric]
    text = (
        f" The paper's own Mono-Mono {'has the same reversal' if same else 'does not show it'} "
        f"({pb:.3f} against {pw:.3f})"
    )
    if same:
        text += " and its models " + ("overcame it" if overcame else "did not overcome it either")
    return text + (
        f": learned gains over Mono-Mono {_pct(pg_b)} against {_pct(pg_w)} in the paper, "
        f"{_pct(g_b)} against {_pct(g_w)} here."
    )


def misfits_markdown(claims: Sequence[Claim]) -> list[str]:
    """Markdown list items: each check that does not fit this data, with its measured reason."""
    return [
        f"- **{c.statement}**, {METRIC_LABELS.get(m, m)} (measured verdict: {c.measured[m]}): {reason}."
        for c in claims
        for m, reason in c.misfit.items()
    ]


def explanations_markdown(claims: Sequence[Claim], df: pd.DataFrame, boot: Bootstrap) -> list[str]:
    """Markdown list items: a measured explanation of each pair of each check that does not hold."""
    items = []
    for c in claims:
        for m, verdict in c.verdicts.items():
            if verdict not in (FAILS, UNRESOLVED):
                continue
            for (a, b), d in zip(zip(c.entries, c.entries[1:]), c.pairs[m]):
                if d.verdict != HOLDS:
                    items.append(explain_pair(c.statement, a, b, d, df, m, boot))
    return items
