"""The human-readable results page, results/<profile>/README.md.

It says what ran, shows the tables (ours beside the paper), links the figures
and listening examples, checks the paper's orderings on our numbers, and says
how to trace any cell back to the scenes behind it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import write_text
from ..evaluate.metrics import METRIC_LABELS
from ..evaluate.scores import SOURCE_COLUMN
from .claims import (
    FAILS,
    GROUPS,
    HOLDS,
    MISFIT,
    NA,
    UNRESOLVED,
    Claim,
    check_claims,
    claims_markdown,
    explanations_markdown,
    misfits_markdown,
    seeds_agree,
    within_seed_spread,
)
from .stats import holm
from .tables import PAPER_SAMPLE_RATE, Table

RUN_INFO_KEYS = (  # shown first, in this order; any other key of run_info follows
    ("profile", "profile"),
    ("data_source", "data source"),
    ("git_commit", "git commit"),
    ("params_hash", "params hash"),
    ("anechoic", "anechoic IR set"),
    ("rooms", "rooms"),
    ("machine", "machine (scores computed on)"),
)


def _rel(path: str | Path, out_dir: Path) -> str:
    """A link relative to the page, with forward slashes."""
    return Path(os.path.relpath(Path(path).resolve(), out_dir.resolve())).as_posix()


def _run_section(run_info: Mapping[str, Any], df: pd.DataFrame) -> list[str]:
    lines = ["## What ran", "", "| item | value |", "|---|---|"]
    shown = set()
    for key, label in RUN_INFO_KEYS:
        value = run_info.get(key, "unknown")
        if isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value)) or "none"
        lines.append(f"| {label} | {value} |")
        shown.add(key)
    for key in sorted(
        set(run_info)
        - shown
        - {"scenes_dir", "room_rt60_s", "bootstrap", "sample_rate_hz", "seed_spread", "residual_copy"}
    ):
        lines.append(f"| {key} | {run_info[key]} |")
    lines.append(f"| scored scenes (rows) | {len(df)} |")
    if len(df):
        entries = df.groupby(["ir_set", "method", "variant"]).size()
        lines.append(f"| evaluated entries | {len(entries)} |")
    return lines + [""]


def _balance_note(df: pd.DataFrame) -> str:
    """Whether the overall mean equals the mean of per-N means on this run (equal counts per N)."""
    if not len(df):
        return ""
    counts = df.groupby(["ir_set", "method", "variant", "mono_input"])["n_sources"].value_counts()
    per_entry = counts.groupby(level=[0, 1, 2, 3]).nunique()
    if (per_entry == 1).all():
        return " Every entry has the same number of scenes per N, so this equals the mean of the per-N means."
    return " Some entries have unequal numbers of scenes per N, so this differs from the mean of the per-N means."


def _rate_note(run_info: Mapping[str, Any]) -> str:
    """Why d_STFT is compared with the paper through ratios (the STFT is unscaled: it grows with the rate)."""
    rate = run_info.get("sample_rate_hz")
    ours = f"{int(rate) / 1000:g} kHz" if rate else "its own sample rate"
    factor = (
        f" (about {PAPER_SAMPLE_RATE / int(rate):.2f} = 44.1 kHz / {ours})"
        if rate and int(rate) != PAPER_SAMPLE_RATE
        else ""
    )
    return (
        "**d_STFT depends on the sample rate, d_ENV does not.** The STFT is unscaled (as in the paper's "
        f"code), so its squared magnitudes grow with the samples per window: this run is at {ours}, the "
        f"paper at 44.1 kHz, and the same prediction/truth pairs resampled to 44.1 kHz score about 2.7 times "
        f"higher d_STFT{factor} (and Mag), while d_ENV, Phase, SNR, wave MSE, ITD and ILD do not move. "
        "Absolute d_STFT values are therefore not comparable with the paper's; the ratio to Mono-Mono on "
        "the same scenes (×) is, because both sides scale alike: compare those."
    )


def _tables_section(
    tables: Sequence[Table], out_dir: Path, df: pd.DataFrame, run_info: Mapping[str, Any] | None = None
) -> list[str]:
    lines = [
        "## Tables",
        "",
        "Lower is better. Per-N cells are means over the scenes with that N; `mean` is the mean over "
        "all scenes of the entry." + _balance_note(df) + " `± x`: the standard error of that mean over its "
        "scenes. `×r (×p)`: our mean divided by Mono-Mono's (same mono input, same IR set, same scenes), "
        "then the paper's ratio for the same cell, comparable across sample rates and datasets. "
        "`n/a`: that entry was not run (or the score files predate that metric); `–`: the paper "
        "gives no number.",
        "",
        _rate_note(run_info or {}),
        "",
    ]
    table_dir = out_dir / "tables"
    for table in tables:
        paths = table.write(table_dir)
        links = ", ".join(f"[{p.suffix[1:]}]({_rel(p, out_dir)})" for p in paths)
        lines += [table.to_markdown(), *([table.note, ""] if table.note else []), f"Files: {links}.", ""]
    return lines


def _figures_section(figures: Mapping[str, Sequence[str | Path]], out_dir: Path) -> list[str]:
    lines = ["## Figures", ""]
    if not figures:
        return lines + ["No figures were drawn.", ""]
    for caption, paths in figures.items():
        note = "Boxes: first to third quartile, line: median, whiskers: data range."
        if isinstance(paths, Mapping):  # {"paths": [...], "note": "..."}
            note, paths = paths.get("note", note), paths["paths"]
        paths = [Path(p) for p in paths]
        png = next((p for p in paths if p.suffix == ".png"), None)
        lines.append(f"**{caption}** {note}")
        lines.append("")
        if png is not None:
            lines += [f"![{caption}]({_rel(png, out_dir)})", ""]
        lines += ["Files: " + ", ".join(f"[{p.suffix[1:]}]({_rel(p, out_dir)})" for p in paths) + ".", ""]
    return lines


def _examples_section(examples: Mapping[str, str | Path] | Sequence[str | Path], out_dir: Path) -> list[str]:
    lines = ["## Listening examples", ""]
    items = examples.items() if isinstance(examples, Mapping) else [(Path(p).stem, p) for p in examples]
    items = list(items)
    if not items:
        return lines + ["None were written.", ""]
    lines += [f"- {label}: [{Path(p).name}]({_rel(p, out_dir)})" for label, p in items]
    return lines + [""]


def _count(verdicts: Sequence[str]) -> str:
    n_other = len(verdicts) - sum(verdicts.count(v) for v in (HOLDS, FAILS, UNRESOLVED, MISFIT))
    parts = [f"{verdicts.count(HOLDS)} hold", f"{verdicts.count(FAILS)} do not hold"]
    parts.append(f"{verdicts.count(UNRESOLVED)} are not resolved")
    if verdicts.count(MISFIT):
        parts.append(f"{verdicts.count(MISFIT)} do not fit this data")
    if n_other:
        parts.append(f"{n_other} cannot be checked (entries not run)")
    return ", ".join(parts)


def _summary_lines(claims: Sequence[Claim]) -> list[str]:
    """The verdict counts per group of checks, so that one group cannot hide another."""
    lines = []
    for group in GROUPS:
        verdicts = [v for c in claims if c.group == group for v in c.verdicts.values()]
        if verdicts:
            lines.append(f"- {group}: of {len(verdicts)} checks, {_count(verdicts)}.")
    every = [v for c in claims for v in c.verdicts.values()]
    return [f"Of {len(every)} checks, {_count(every)}:", "", *lines, ""]


def _method_lines(claims: Sequence[Claim], boot: Any) -> list[str]:
    """How loose the intervals are: where a t-interval disagrees, and what a correction for many checks keeps."""
    disagree = [
        f"{c.statement} ({METRIC_LABELS.get(m, m)}: bootstrap {d.verdict}, t {d.t_verdict}, {d.scenes})"
        for c in claims
        for m in c.pairs
        for d in c.pairs[m]
        if d.t_verdict != NA and d.verdict != NA and d.t_verdict != d.verdict
    ]
    checks = [(c, m) for c in claims for m in c.verdicts if c.verdicts[m] != NA]
    p_values = [max((d.p_value for d in c.pairs[m]), default=math.nan) for c, m in checks]
    adjusted = holm(p_values)
    alpha = (1.0 - boot.confidence) / 2.0
    held = [k for k, (c, m) in enumerate(checks) if c.verdicts[m] == HOLDS]
    kept = [k for k in held if not math.isnan(adjusted[k]) and adjusted[k] < alpha]
    untested = [k for k in held if math.isnan(adjusted[k])]
    lines = [
        f"**Intervals.** Percentile bootstrap intervals: they assume nothing of the metric's distribution, but "
        f"with few scenes a side and a skewed metric (d_STFT) they are loose. The t-interval on the same "
        f"differences (paired t, or Welch's) gives another verdict on {len(disagree)} pair(s)"
        + (": " + "; ".join(disagree) + "." if disagree else "."),
        "",
        f"**Many checks.** The {len(checks)} checks are made without a multiple-comparison correction. With "
        f"Holm's correction over their one-sided t-test p-values (a check's p: the largest of its pairs'; the "
        f"ratio checks have none), at level {alpha:g} each, {len(kept)} of the {len(held)} checks that hold "
        f"still hold" + (f" ({len(untested)} of them untested: ratio checks)" if untested else "") + ".",
        "",
    ]
    return lines


def _claims_section(df: pd.DataFrame, run_info: Mapping[str, Any]) -> list[str]:
    anechoic = str(run_info.get("anechoic", ""))
    rooms = run_info.get("rooms")
    boot = run_info["bootstrap"]
    claims = check_claims(
        df,
        anechoic,
        rooms,
        run_info.get("room_rt60_s"),
        boot=boot,
        residual_copy=bool(run_info.get("residual_copy", False)),
    )
    spread = run_info.get("seed_spread")
    lines = [
        "## Honest comparison with the paper",
        "",
        "Each row is an ordering the paper reports (best first), checked per metric on each adjacent pair "
        f"of entries: the difference of means (worse - better; positive is the paper's ordering) and its "
        f"{boot.percent} percentile bootstrap interval ({boot.resamples} resamples of the scene ids, seeded; "
        "paired by scene where both sides score the same scenes, unpaired otherwise). An ordering **holds** "
        "only when every interval lies above zero, **does not hold** when one lies below zero, and is **not "
        "resolved** otherwise. Rows marked [ratios to Mono-Mono] compare each side's mean divided by its own "
        "Mono-Mono's, for conditions whose inputs differ; a check that **does not fit this data** keeps its "
        "measured verdict beside the measured reason (below the table). Nothing here is written by hand.",
        "",
        *_summary_lines(claims),
        *_method_lines(claims, boot),
        *_spread_lines(claims, spread),
        claims_markdown(claims, df, boot, spread),
    ]
    misfits = misfits_markdown(claims)
    if misfits:
        lines += ["### Checks that do not fit this data", "", *misfits, ""]
    items = explanations_markdown(claims, df, boot)
    if items:
        lines += [
            "### Why the checks that do not hold fail, measured",
            "",
            "For each pair of an ordering that does not hold or is not resolved: the same comparison for "
            "the Mono-Mono baseline (the mono input copied to both ears) on the same scenes, which shows "
            "whether the inputs already differ before any learning, and each side's learned gain over "
            "Mono-Mono on its own scenes (1 - ratio of means; positive: better than the baseline).",
            "",
            *items,
            "",
        ]
    return lines


def _spread_lines(claims: Sequence[Claim], spread: Any) -> list[str]:
    """What the seed spread says of the checks (nothing without a seed-spread file)."""
    if spread is None:
        return [
            "Training noise is not marked: no seed-spread file (`report.seed_spread`, benchmarks/seed_spread.py).",
            "",
        ]
    marks = [(c, m, within_seed_spread(c, m, spread)) for c in claims for m in c.verdicts]
    within = [(c, m) for c, m, w in marks if w]
    agree = [1 for c, m in within if seeds_agree(c, m, spread)]
    held = [w for c, m, w in marks if c.verdicts[m] == HOLDS]
    return [
        f"**Training noise.** From {spread.summary()}: σ is the standard deviation over seeds of each "
        "pair's difference (measured where both sides were retrained or are Mono-Mono; where a side was "
        "not retrained, its σ is the largest of a retrained Points2Sound entry on the same scenes, marked "
        "*proxy*). A check lies **within the seed spread** when one of its pairs differs by at most 2σ: "
        "training noise of that size could move it across zero, though it need not; where every retrained "
        f"seed gives each pair the same sign, the check says **all seeds agree**. {len(within)} of "
        f"{len(marks)} checks lie within it ({len(agree)} of them with all seeds agreeing; "
        f"{held.count(True)} of the {len(held)} that hold), {[w for _, _, w in marks].count(False)} outside, "
        f"{[w for _, _, w in marks].count(None)} without a spread (entries not run).",
        "",
    ]


def _trace_section(df: pd.DataFrame, run_info: Mapping[str, Any], out_dir: Path) -> list[str]:
    scenes_dir = run_info["scenes_dir"]
    lines = [
        "## Tracing a number back to its scenes",
        "",
        "1. A table cell is the mean of its metric column (`d_env`, `d_stft`, ...) over the rows of the "
        "per-scene score CSVs named in the table's CSV (column `score_files`) whose `ir_set`, `method`, "
        "`variant` and `mono_input` match the row; a per-N cell keeps the rows with `n_sources` = N (the "
        "N = 2 placement table also filters on `same_side`). Its standard error is the standard deviation "
        "(ddof 1) of those rows over the square root of their number; its ratio to Mono-Mono divides the "
        "mean by that of the `mono_mono` rows with the same `mono_input` and `ir_set` over the scene ids "
        "both have (the table CSV's `_se` and `_vs_mono_mono` columns).",
        f"2. Each score row names its `scene_id` and `ir_set`; the scene's specification (recordings, "
        f"segments, performers, frames, azimuths, distances) is the row of `{scenes_dir}/test_<ir_set>/scenes.csv` "
        f"with that `scene_id`, and its arrays are `{scenes_dir}/test_<ir_set>/<scene_id>.npz`.",
        "",
    ]
    if SOURCE_COLUMN in df.columns and len(df):
        lines += ["Per-scene score files read for this report:", ""]
        for path in sorted(set(df[SOURCE_COLUMN])):
            lines.append(f"- `{_rel(path, out_dir)}` ({int((df[SOURCE_COLUMN] == path).sum())} rows)")
        lines.append("")
    return lines


def write_report(
    out_dir: str | Path,
    scores_df: pd.DataFrame,
    run_info: Mapping[str, Any],
    tables: Sequence[Table],
    figures: Mapping[str, Sequence[str | Path]],
    examples: Mapping[str, str | Path] | Sequence[str | Path],
    separation: Sequence[str] | None = None,
) -> Path:
    """Write <out_dir>/README.md (and the tables under <out_dir>/tables/); return the page's path.

    run_info keys used: profile, data_source, git_commit, params_hash, anechoic (the
    anechoic ir_set), rooms (list of room ir_sets), optionally room_rt60_s
    ({room: RT60}), scenes_dir, bootstrap (a
    settings.report.Bootstrap, required) and sample_rate_hz
    (for the note on d_STFT's rate dependence); other keys are listed.
    `figures` maps a caption to the figure's files (already written), or to
    {"paths": files, "note": text} for a figure that is not a box plot; `examples`
    maps a label to a WAV path (or is a list of WAV paths). `separation`: the Markdown lines
    of the sections beyond the paper (audio pre-training, report/separation.py; first-order ambisonics,
    report/foa.py), placed after the claims.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = run_info["profile"]
    lines = [
        f"# Points2Sound reproduction: results of profile `{profile}`",
        "",
        "Mono music plus a 3D point-cloud scene in, binaural audio out: our numbers beside the paper's "
        "(Lluís, Chatziioannou & Hofmann, Points2Sound). Distances use the paper's reference-code "
        "definitions (d_ENV: RMS envelope difference; d_STFT: mean squared STFT difference); the field's "
        "other metrics (Mag, Phase of L - R, SNR, wave MSE, ITD by GCC-PHAT, ILD broadband and per octave "
        "band) are defined in `points2sound.evaluate.metrics`.",
        "",
    ]
    lines += _run_section(run_info, scores_df)
    lines += _tables_section(tables, out_dir, scores_df, run_info)
    lines += _figures_section(figures, out_dir)
    lines += _examples_section(examples, out_dir)
    lines += _claims_section(scores_df, run_info)
    if separation:
        lines += list(separation)
    lines += _trace_section(scores_df, run_info, out_dir)
    page = out_dir / "README.md"
    write_text(page, "\n".join(lines).rstrip() + "\n")
    return page
