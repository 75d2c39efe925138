"""The human-readable results page, results/<profile>/README.md.

It says what ran, shows the tables (ours beside the paper), links the figures
and listening examples, checks the paper's orderings on our numbers, and says
how to trace any cell back to the scenes behind it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import write_text
from ..evaluate.scores import SOURCE_COLUMN
from .claims import (
    FAILS,
    HOLDS,
    UNRESOLVED,
    Claim,
    check_claims,
    claims_markdown,
    explanations_markdown,
    within_seed_spread,
)
from .tables import Table

PAPER_SAMPLE_RATE = 44100

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
        set(run_info) - shown - {"scenes_dir", "room_rt60_s", "bootstrap", "sample_rate_hz", "seed_spread"}
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
        lines += [table.to_markdown(), f"Files: {links}.", ""]
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


def _claims_section(df: pd.DataFrame, run_info: Mapping[str, Any]) -> list[str]:
    anechoic = str(run_info.get("anechoic", ""))
    rooms = run_info.get("rooms")
    boot = run_info["bootstrap"]
    claims = check_claims(df, anechoic, rooms, run_info.get("room_rt60_s"), boot=boot)
    spread = run_info.get("seed_spread")
    verdicts = [v for c in claims for v in c.verdicts.values()]
    n_other = len(verdicts) - verdicts.count(HOLDS) - verdicts.count(FAILS) - verdicts.count(UNRESOLVED)
    lines = [
        "## Honest comparison with the paper",
        "",
        "Each row is an ordering the paper reports (best first), checked per metric on each adjacent pair "
        f"of entries: the difference of means (worse - better; positive is the paper's ordering) and its "
        f"{boot.percent} bootstrap interval ({boot.resamples} resamples of the scene ids, seeded; paired by "
        "scene where both sides score the same scenes, unpaired otherwise). An ordering **holds** only "
        "when every interval lies above zero, **does not hold** when one lies below zero, and is **not "
        "resolved** otherwise. Nothing here is written by hand.",
        "",
        f"Of {len(verdicts)} checks, {verdicts.count(HOLDS)} hold, {verdicts.count(FAILS)} do not hold, "
        f"{verdicts.count(UNRESOLVED)} are not resolved and {n_other} cannot be checked (entries not run).",
        "",
        *_spread_lines(claims, spread),
        claims_markdown(claims, df, boot, spread),
    ]
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
    marks = [within_seed_spread(c, m, spread) for c in claims for m in c.verdicts]
    held = [within_seed_spread(c, m, spread) for c in claims for m, v in c.verdicts.items() if v == HOLDS]
    return [
        f"**Training noise.** From {spread.summary()}: σ is the standard deviation over seeds of each "
        "pair's difference (measured where both sides were retrained or are Mono-Mono; where a side was "
        "not retrained, its σ is the largest of a retrained Points2Sound entry on the same scenes, marked "
        "*proxy*). A check lies **within the seed spread** when one of its pairs differs by at most 2σ: "
        f"another seed could flip its verdict. {marks.count(True)} of {len(marks)} checks lie within it "
        f"({held.count(True)} of the {len(held)} that hold), {marks.count(False)} outside, "
        f"{marks.count(None)} without a spread (entries not run).",
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
