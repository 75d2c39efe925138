"""The paper's tables rebuilt from per-scene scores, our value beside the paper's.

Every cell is a mean over scene rows of one entry (ir_set, method, variant,
mono_input) as defined in `points2sound.evaluate.scores`: per-N cells average
the scenes with that N, the "mean" cells all scenes of the entry. Entries
that were not run show "n/a"; cells the paper has no number for show "–".
Each table is written as CSV (separate ours / paper columns), Markdown and
LaTeX by the report's one table writer (table_text.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..evaluate.metrics import FIELD_METRICS, HIGHER_IS_BETTER, METRIC_LABELS
from ..evaluate.scores import SOURCE_COLUMN, entry_means
from .copies import snr_note, symmetry_note
from .entries import HEADLINE, MONO_LABELS, by_scene, mono_mono_rows, select_entry
from .paper import load_paper_numbers
from .stats import standard_error
from .table_text import TableWriter, tex

PAPER_SAMPLE_RATE = 44100  # the paper's rate (its d_STFT values grow with the rate)
NA_OURS = "n/a"  # the entry was not run (or has no scene of that kind)
NA_PAPER = "–"  # the paper gives no number for this cell
DIFF_METRICS = frozenset(HIGHER_IS_BETTER)  # compared with Mono-Mono by difference, not ratio
MEDIAN_METRICS = frozenset({"snr_db"})  # capped where the prediction is exact: a median, not a mean
PAPER_NS = (1, 2, 3)


@dataclass
class Table(TableWriter):
    """One table: row labels, (metric, sub-column) columns, our means and the paper's numbers."""

    name: str  # file stem: <name>.csv / .md / .tex
    caption: str
    index_names: list[str]
    index: list[tuple[str, ...]]
    columns: list[tuple[str, str]]  # (metric, "n1" | "n2" | ... | "all")
    ours: np.ndarray  # rows x columns, NaN: not run
    paper: np.ndarray  # rows x columns, NaN: the paper has no number
    counts: list[int] = field(default_factory=list)  # scenes behind each row
    sources: list[list[str]] = field(default_factory=list)  # per-scene CSVs behind each row
    decimals: int = 3
    se: np.ndarray | None = None  # standard error of each of our means (NaN: fewer than 2 scenes)
    ratio: np.ndarray | None = None  # ours / Mono-Mono on the same scenes (difference for DIFF_METRICS)
    paper_ratio: np.ndarray | None = None  # the paper's value / the paper's Mono-Mono value
    show_paper: bool = True
    note: str = ""  # generated from the same scores: printed under the table on the page

    def __post_init__(self) -> None:
        for name in ("se", "ratio", "paper_ratio"):
            if getattr(self, name) is None:
                setattr(self, name, np.full(self.ours.shape, np.nan))

    @property
    def has_ratio(self) -> bool:
        return bool(np.isfinite(self.ratio).any() or np.isfinite(self.paper_ratio).any())

    # -- cells ------------------------------------------------------------------
    def _value(self, v: float, na: str) -> str:
        return na if math.isnan(v) else f"{v:.{self.decimals}f}"

    def ours_text(self, i: int, j: int) -> str:
        return self._value(self.ours[i, j], NA_OURS)

    def se_text(self, i: int, j: int) -> str:
        v = self.se[i, j]
        return "" if math.isnan(v) or math.isnan(self.ours[i, j]) else f" ± {v:.2g}"

    def paper_text(self, i: int, j: int) -> str:
        return self._value(self.paper[i, j], NA_PAPER)

    def ratio_text(self, i: int, j: int) -> str:
        """'×ours (×paper)' against Mono-Mono; a difference ('Δ') for DIFF_METRICS."""
        diff = self.columns[j][0] in DIFF_METRICS
        r, pr = self.ratio[i, j], self.paper_ratio[i, j]
        ours = NA_OURS if math.isnan(r) else (f"Δ{r:+.2f}" if diff else f"×{r:.2f}")
        if not self.show_paper:
            return ours
        return f"{ours} ({NA_PAPER if math.isnan(pr) else f'×{pr:.2f}'})"

    def cell(self, i: int, j: int) -> str:
        """'ours ± se (paper) ×ratio (×paper ratio)'; the parts a table has no numbers for are left out."""
        text = self.ours_text(i, j) + self.se_text(i, j)
        if self.show_paper:
            text += f" ({self.paper_text(i, j)})"
        if self.has_ratio and not (math.isnan(self.ours[i, j]) and math.isnan(self.paper_ratio[i, j])):
            text += " " + self.ratio_text(i, j)
        return text

    def legend(self) -> str:
        parts = ["ours ± standard error over the scenes"]
        if self.show_paper:
            parts.append("(paper)")
        if self.has_ratio:
            parts.append(
                "×: ratio to Mono-Mono with the same mono input on the same scenes"
                + (" (the paper's ratio)" if self.show_paper else "")
                + ("; Δ: difference to Mono-Mono (SNR, dB)" if any(m in DIFF_METRICS for m, _ in self.columns) else "")
            )
        return "Each cell: " + " ".join(parts) + "."

    @staticmethod
    def column_label(col: tuple[str, str]) -> str:
        metric, sub = col
        return f"{METRIC_LABELS.get(metric, metric)} {sub if sub in ('median',) else 'mean' if sub == 'all' else 'N=' + sub[1:]}"

    # -- renderings -------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The CSV form: label columns, then `<metric>_<sub>_ours` / `_published` pairs (`_published`: the
        paper's printed number; the score files' `d_env_paper` is the paper-text metric definition)."""
        data: dict[str, list] = {name: [r[k] for r in self.index] for k, name in enumerate(self.index_names)}
        for j, (metric, sub) in enumerate(self.columns):
            data[f"{metric}_{sub}_ours"] = [NA_OURS if math.isnan(v) else f"{v:.6g}" for v in self.ours[:, j]]
            data[f"{metric}_{sub}_published"] = [NA_PAPER if math.isnan(v) else f"{v:g}" for v in self.paper[:, j]]
            data[f"{metric}_{sub}_se"] = [NA_OURS if math.isnan(v) else f"{v:.6g}" for v in self.se[:, j]]
            data[f"{metric}_{sub}_vs_mono_mono"] = [NA_OURS if math.isnan(v) else f"{v:.6g}" for v in self.ratio[:, j]]
            data[f"{metric}_{sub}_published_vs_mono_mono"] = [
                NA_PAPER if math.isnan(v) else f"{v:.6g}" for v in self.paper_ratio[:, j]
            ]
        data["scenes"] = list(self.counts) or [0] * len(self.index)
        data["score_files"] = [";".join(s) for s in self.sources] or [""] * len(self.index)
        return pd.DataFrame(data)

    def to_csv(self) -> str:
        return self.to_frame().to_csv(index=False, lineterminator="\n")

    def header(self) -> list[str]:
        return [*self.index_names, *(self.column_label(c) for c in self.columns)]

    def right_aligned(self) -> list[bool]:
        return [False] * len(self.index_names) + [True] * len(self.columns)

    def body(self) -> list[list[str]]:
        return [[*labels, *(self.cell(i, j) for j in range(len(self.columns)))] for i, labels in enumerate(self.index)]

    def tex_header(self) -> list[str]:
        """One header row of metrics spanning their N columns, one of N."""
        spans: list[tuple[str, int]] = []
        for metric, _ in self.columns:
            if spans and spans[-1][0] == metric:
                spans[-1] = (metric, spans[-1][1] + 1)
            else:
                spans.append((metric, 1))
        top = [""] * len(self.index_names) + [f"\\multicolumn{{{k}}}{{c}}{{{_latex_metric(m)}}}" for m, k in spans]
        sub = [tex(x) for x in self.index_names] + [
            "mean" if s == "all" else s if s == "median" else f"$N={s[1:]}$" for _, s in self.columns
        ]
        return [" & ".join(top), " & ".join(sub)]


def _latex_metric(metric: str) -> str:
    base = {"d_env": r"$d_{\mathrm{ENV}}$", "d_stft": r"$d_{\mathrm{STFT}}$"}
    if metric in base:
        return base[metric]
    return tex(METRIC_LABELS.get(metric, metric))


# ---------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------


def _sources(rows: pd.DataFrame) -> list[str]:
    if SOURCE_COLUMN not in rows.columns:
        return []
    return sorted({Path(p).name for p in rows[SOURCE_COLUMN].dropna()})


def _ns(df: pd.DataFrame) -> list[int]:
    """The paper's N = 1..3 plus any other N present in the scores."""
    return sorted(set(PAPER_NS) | {int(n) for n in df["n_sources"].unique()})


def _metric_columns(metrics: Sequence[str], ns: Sequence[int]) -> list[tuple[str, str]]:
    return [(m, s) for m in metrics for s in [*(f"n{n}" for n in ns), "all"]]


def _sub_rows(rows: pd.DataFrame, sub: str) -> pd.DataFrame:
    return rows if sub == "all" else rows.loc[rows["n_sources"] == int(sub[1:])]


def vs_mono_mono(rows: pd.DataFrame, base: pd.DataFrame, metric: str) -> float:
    """mean(rows) / mean(Mono-Mono) over the scene ids both scored (a difference for DIFF_METRICS)."""
    if not len(rows) or not len(base):
        return math.nan
    a = rows.drop_duplicates("scene_id").set_index("scene_id")[metric]
    b = base.drop_duplicates("scene_id").set_index("scene_id")[metric]
    common = a.index.intersection(b.index)
    if not len(common):
        return math.nan
    ma, mb = float(a.loc[common].mean()), float(b.loc[common].mean())
    if metric in DIFF_METRICS:
        return ma - mb
    return ma / mb if mb != 0 else math.nan


def _cell_stats(rows: pd.DataFrame, base: pd.DataFrame | None, metric: str, sub: str) -> tuple[float, float]:
    """(standard error, ratio to Mono-Mono) of one cell."""
    sel = _sub_rows(rows, sub)
    se = standard_error(sel[metric]) if len(sel) else math.nan
    ratio = vs_mono_mono(sel, _sub_rows(base, sub), metric) if base is not None else math.nan
    return se, ratio


def paper_mono_mono_row(mono_input: str) -> dict | None:
    """The paper's Mono-Mono row (Table 1) of one mono input."""
    return next(
        (
            r
            for r in load_paper_numbers()["table1"]["rows"]
            if r["method"] == "mono_mono" and r["mono_input"] == mono_input
        ),
        None,
    )


def _paper_ratio(paper_row: dict | None, mono_input: str, metric: str, sub: str) -> float:
    value, base = _paper_cell(paper_row, metric, sub), _paper_cell(paper_mono_mono_row(mono_input), metric, sub)
    return value / base if base and not (math.isnan(value) or math.isnan(base)) else math.nan


def _paper_cell(paper_row: dict | None, metric: str, sub: str) -> float:
    if not paper_row or metric not in paper_row:
        return math.nan
    key = "mean" if sub == "all" else int(sub[1:])
    value = paper_row[metric].get(key)
    return math.nan if value is None else float(value)


class _Rows:
    """A Table's arrays and lists, filled one row at a time (every cell NaN until filled)."""

    def __init__(self, n_rows: int, columns: list[tuple[str, str]]):
        self.columns = columns
        shape = (n_rows, len(columns))
        self.ours, self.paper, self.se, self.ratio, self.paper_ratio = (np.full(shape, np.nan) for _ in range(5))
        self.index: list[tuple[str, ...]] = []
        self.counts: list[int] = []
        self.sources: list[list[str]] = []

    def add(self, label: tuple[str, ...], sel: pd.DataFrame) -> None:
        """The next row's label and the scene rows behind it."""
        self.index.append(label)
        self.counts.append(len(sel))
        self.sources.append(_sources(sel))

    def fill_per_n(
        self,
        i: int,
        sel: pd.DataFrame,
        base: pd.DataFrame,
        paper_row: dict | None,
        metrics: Sequence[str],
        ns: Sequence[int],
        paper_mono_input: str | None,
    ) -> None:
        """Row i of a per-N table; the paper's ratio to Mono-Mono with `paper_mono_input` (None: none)."""
        means = entry_means(sel, metrics, ns)
        for j, (m, sub) in enumerate(self.columns):
            self.ours[i, j] = means[f"{m}_{sub}"]
            self.paper[i, j] = _paper_cell(paper_row, m, sub)
            self.se[i, j], self.ratio[i, j] = _cell_stats(sel, base, m, sub)
            if paper_mono_input is not None:
                self.paper_ratio[i, j] = _paper_ratio(paper_row, paper_mono_input, m, sub)

    def table(self, name: str, caption: str, index_names: list[str], show_paper: bool = True, note: str = "") -> Table:
        return Table(
            name,
            caption,
            index_names,
            self.index,
            self.columns,
            self.ours,
            self.paper,
            self.counts,
            self.sources,
            se=self.se,
            ratio=self.ratio,
            paper_ratio=self.paper_ratio,
            show_paper=show_paper,
            note=note,
        )


def _entry_table(
    name: str,
    caption: str,
    index_names: list[str],
    df: pd.DataFrame,
    ir_set: str,
    rows: list[dict],
    metrics: Sequence[str],
) -> Table:
    """One table row per paper row: our means of its entry beside its numbers."""
    ns = _ns(df)
    grid = _Rows(len(rows), _metric_columns(metrics, ns))
    for i, row in enumerate(rows):
        sel = select_entry(df, ir_set, row["method"], row["variant"], row["mono_input"])
        base = mono_mono_rows(df, ir_set, row["mono_input"])
        grid.fill_per_n(i, sel, base, row, metrics, ns, row["mono_input"])
        grid.add((row["group"], row["label"]), sel)
    return grid.table(name, caption, index_names)


# ---------------------------------------------------------------------------
# The four tables
# ---------------------------------------------------------------------------


def table1(df: pd.DataFrame, profile: str, anechoic: str, metrics: Sequence[str] = ("d_env", "d_stft")) -> Table:
    """Table 1: Mono-Mono, Rotated-Visual and Points2Sound per mono input, plus depth-only and L_diff."""
    rows = load_paper_numbers()["table1"]["rows"]
    caption = (
        f"Table 1 (profile {profile}, {anechoic}): baselines and Points2Sound by mono input, "
        f"rgb-depth unless noted; lower is better."
    )
    table = _entry_table("table1", caption, ["mono input", "method"], df, anechoic, rows, metrics)
    table.note = " ".join(x for x in (headline_note(df, anechoic), symmetry_note(df, anechoic, metrics)) if x)
    return table


def _mean_ratio(a: pd.DataFrame, b: pd.DataFrame, metric: str) -> tuple[float, int]:
    """mean(a) / mean(b) over the scene ids both have, and how many."""
    x, y = by_scene(a, metric), by_scene(b, metric)
    common = x.index.intersection(y.index)
    if not len(common) or y.loc[common].mean() == 0:
        return math.nan, 0
    return float(x.loc[common].mean() / y.loc[common].mean()), len(common)


def headline_note(df: pd.DataFrame, anechoic: str, metric: str = "d_env", n: int = 1) -> str:
    """The headline sentence: the headline model at N = n against both baselines, ours and the paper's."""
    model = select_entry(df, anechoic, **HEADLINE, n_sources=n)
    if not len(model):
        return ""
    rv = select_entry(df, anechoic, "rotated_visual", HEADLINE["variant"], HEADLINE["mono_input"], n_sources=n)
    mm = mono_mono_rows(df, anechoic, HEADLINE["mono_input"], n_sources=n)
    (r_mm, k_mm), (r_rv, k_rv) = _mean_ratio(model, mm, metric), _mean_ratio(model, rv, metric)
    rows = load_paper_numbers()["table1"]["rows"]

    def paper(method: str, variant: str) -> float:
        row = next(
            (r for r in rows if (r["method"], r["variant"], r["mono_input"]) == (method, variant, "sum_lr")), None
        )
        return _paper_cell(row, metric, f"n{n}")

    p_model = paper(HEADLINE["method"], HEADLINE["variant"])
    p_mm, p_rv = paper("mono_mono", ""), paper("rotated_visual", HEADLINE["variant"])
    label = METRIC_LABELS.get(metric, metric)
    return (
        f"**Headline.** At N = {n} the headline model ({HEADLINE['variant']}, s_L + s_R input) has a mean {label} "
        f"{r_mm:.2f} times Mono-Mono's ({k_mm} scenes) and {r_rv:.2f} times Rotated-Visual's ({k_rv} scenes) "
        f"on the same scenes; the paper's: {p_model / p_mm:.2f} ({p_model:g} / {p_mm:g}) and "
        f"{p_model / p_rv:.2f} ({p_model:g} / {p_rv:g})."
    )


def table2(df: pd.DataFrame, profile: str, anechoic: str, metrics: Sequence[str] = ("d_env", "d_stft")) -> Table:
    """Table 2: Mono2Binaural against Points2Sound, depth and rgb-depth, s_L + s_R."""
    rows = load_paper_numbers()["table2"]["rows"]
    caption = (
        f"Table 2 (profile {profile}, {anechoic}): Mono2Binaural against Points2Sound, "
        f"s_m = s_L + s_R; lower is better."
    )
    return _entry_table("table2", caption, ["method", "features"], df, anechoic, rows, metrics)


def table_same_side(
    df: pd.DataFrame, profile: str, anechoic: str, metrics: Sequence[str] = ("d_env", "d_stft")
) -> Table:
    """The text-only N = 2 comparison: both sources on one side of the head vs the rest."""
    text = load_paper_numbers()["text"]["n2_same_side"]
    labels = [("same side", True, text["same_side"]), ("other configurations", False, text["other"])]
    grid = _Rows(2, [(m, "n2") for m in metrics])
    for i, (label, side, numbers) in enumerate(labels):
        sel = select_entry(df, anechoic, **HEADLINE, n_sources=2, same_side=side)
        base = mono_mono_rows(df, anechoic, HEADLINE["mono_input"], n_sources=2, same_side=side)
        for j, (m, _) in enumerate(grid.columns):
            grid.ours[i, j] = sel[m].mean() if len(sel) else math.nan
            grid.paper[i, j] = float(numbers.get(m, math.nan))
            grid.se[i, j], grid.ratio[i, j] = _cell_stats(sel, base, m, "all")
        grid.add(("Points2Sound (L_full), rgb-depth", label), sel)
    caption = (
        f"N = 2 by source placement (profile {profile}, {anechoic}, {HEADLINE['variant']}); "
        f"numbers from the paper's text; lower is better."
    )
    return grid.table("table_same_side", caption, ["method", "sources"])


def room_key(ir_set: str) -> str:
    """The paper's room an ir_set stands for: its name up to the first '_' (calypso_sim -> calypso)."""
    return ir_set.split("_")[0].lower()


def table_rooms(
    df: pd.DataFrame,
    profile: str,
    anechoic: str,
    rooms: Sequence[str] | None = None,
    metrics: Sequence[str] = ("d_env", "d_stft"),
    sample_rate: int | None = None,
) -> Table:
    """Anechoic and each room, per N, for the headline model p2s_rgb (Figure 4 as numbers)."""
    numbers = load_paper_numbers()
    if rooms is None:
        rooms = sorted(set(df["ir_set"]) - {anechoic})
    # the paper's anechoic row is Table 1's headline row; rooms have a few numbers in the text
    anechoic_row = next(r for r in numbers["table1"]["rows"] if all(r[k] == v for k, v in HEADLINE.items()))
    text_rooms = numbers["text"]["rooms"]
    ns = _ns(df)
    sets = [("anechoic", anechoic, anechoic_row)]
    for room in rooms:
        given = text_rooms.get(room_key(room), {})
        paper_row = {m: {n: v[m] for n, v in given.items() if m in v} for m in metrics}
        sets.append(("room", room, paper_row))
    grid = _Rows(len(sets), _metric_columns(metrics, ns))
    for i, (kind, ir_set, paper_row) in enumerate(sets):
        sel = select_entry(df, ir_set, **HEADLINE)
        base = mono_mono_rows(df, ir_set, HEADLINE["mono_input"])
        # the paper has Mono-Mono numbers for the anechoic set only
        grid.fill_per_n(i, sel, base, paper_row, metrics, ns, HEADLINE["mono_input"] if kind == "anechoic" else None)
        grid.add((kind, ir_set), sel)
    caption = (
        f"Points2Sound (L_full, rgb-depth, {HEADLINE['variant']}) in anechoic conditions and in rooms "
        f"(profile {profile}); paper numbers from Table 1 and the text; lower is better."
    )
    return grid.table("table_rooms", caption, ["condition", "ir_set"], note=rooms_note(sample_rate, metrics))


def rooms_note(sample_rate: int | None, metrics: Sequence[str]) -> str:
    """The rooms table prints the paper's d_STFT beside ours: say when the rates differ."""
    if "d_stft" not in metrics or sample_rate is None or int(sample_rate) == PAPER_SAMPLE_RATE:
        return ""
    return (
        f"**Rates differ:** the paper's room numbers (from its text) are at {PAPER_SAMPLE_RATE / 1000:g} kHz, ours "
        f"at {int(sample_rate) / 1000:g} kHz, and d_STFT grows with the rate (see above): compare the ratios to "
        "Mono-Mono (×) and d_ENV, not the two d_STFT values. The paper gives no Mono-Mono numbers in rooms, "
        "so it has no room ratios."
    )


def _metrics_label(row: dict) -> str:
    if row["method"] == "mono2binaural":
        return f"Mono2Binaural {row['label']}"
    if row["method"] != "points2sound" or "L_" in row["label"]:
        return row["label"]
    return f"Points2Sound ({row['variant']})"


def table_metrics(
    df: pd.DataFrame, profile: str, anechoic: str, metrics: Sequence[str] = ("d_env", "d_stft", *FIELD_METRICS)
) -> Table:
    """The field's metric set (2.5D Visual Sound, Sep-Stereo, PseudoBinaural) for every entry of
    Tables 1 and 2, mean over all scenes; the paper reports none of these."""
    numbers = load_paper_numbers()
    rows, seen = [], set()
    for row in [*numbers["table1"]["rows"], *numbers["table2"]["rows"]]:
        key = (row["method"], row["variant"], row["mono_input"])
        if key not in seen:
            seen.add(key)
            rows.append(row)
    grid = _Rows(len(rows), [(m, "median" if m in MEDIAN_METRICS else "all") for m in metrics])
    for i, row in enumerate(rows):
        sel = select_entry(df, anechoic, row["method"], row["variant"], row["mono_input"])
        base = mono_mono_rows(df, anechoic, row["mono_input"])
        for j, (m, sub) in enumerate(grid.columns):
            if sub == "median":
                grid.ours[i, j], grid.ratio[i, j] = _median_cell(sel, base, m)
                continue
            grid.ours[i, j] = float(sel[m].mean()) if len(sel) else math.nan
            grid.se[i, j], grid.ratio[i, j] = _cell_stats(sel, base, m, sub)
        mono = MONO_LABELS.get(row["mono_input"], row["mono_input"])
        grid.add((mono, _metrics_label(row), row["variant"] or "-"), sel)
    caption = (
        f"The field's metrics (profile {profile}, {anechoic}), mean over all scenes (SNR: median): Mag and "
        f"Phase (of L - R) distances, SNR (higher is better), wave MSE, ITD and ILD errors, broadband and per "
        f"octave band; lower is better except SNR. The paper reports none of these."
    )
    note = snr_note(df, anechoic) if "snr_db" in metrics else ""
    return grid.table("table_metrics", caption, ["mono input", "method", "variant"], show_paper=False, note=note)


def _median_cell(rows: pd.DataFrame, base: pd.DataFrame, metric: str) -> tuple[float, float]:
    """(median over the scenes, median of the per-scene difference to Mono-Mono on the scenes both have)."""
    values = rows[metric].dropna()
    if not len(values):
        return math.nan, math.nan
    a, b = by_scene(rows, metric).dropna(), by_scene(base, metric).dropna()
    common = a.index.intersection(b.index)
    diff = float(np.median(a.loc[common] - b.loc[common])) if len(common) else math.nan
    return float(np.median(values)), diff


def build_tables(
    df: pd.DataFrame, profile: str, anechoic: str, rooms: Sequence[str] | None = None, sample_rate: int | None = None
) -> list[Table]:
    """All tables of the report, in the report's order."""
    return [
        table1(df, profile, anechoic),
        table2(df, profile, anechoic),
        table_same_side(df, profile, anechoic),
        table_rooms(df, profile, anechoic, rooms, sample_rate=sample_rate),
        table_metrics(df, profile, anechoic),
    ]
