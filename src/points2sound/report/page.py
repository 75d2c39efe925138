"""The human-readable results page, results/<profile>/README.md.

It says what ran, shows the tables (ours beside the paper), links the figures
and listening examples, checks the paper's orderings on our numbers, and says
how to trace any cell back to the scenes behind it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from ..atomic import write_text
from ..evaluate.scores import SOURCE_COLUMN
from .claims import FAILS, HOLDS, check_claims, claims_markdown
from .tables import Table

RUN_INFO_KEYS = (  # shown first, in this order; any other key of run_info follows
    ("profile", "profile"), ("data_source", "data source"), ("git_commit", "git commit"),
    ("params_hash", "params hash"), ("anechoic", "anechoic IR set"), ("rooms", "rooms"),
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
    for key in sorted(set(run_info) - shown - {"scenes_dir", "room_rt60_s"}):
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


def _tables_section(tables: Sequence[Table], out_dir: Path, df: pd.DataFrame) -> list[str]:
    lines = ["## Tables", "",
             "Lower is better. Per-N cells are means over the scenes with that N; `mean` is the mean over "
             "all scenes of the entry." + _balance_note(df) + " `n/a`: that entry was not run; `–`: the paper "
             "gives no number.", ""]
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
        paths = [Path(p) for p in paths]
        png = next((p for p in paths if p.suffix == ".png"), None)
        lines.append(f"**{caption}** Boxes: first to third quartile, line: median, whiskers: data range.")
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
    claims = check_claims(df, anechoic, rooms, run_info.get("room_rt60_s"))
    verdicts = [v for c in claims for v in c.verdicts.values()]
    lines = ["## Honest comparison with the paper", "",
             "Each row is an ordering the paper reports (best first). Whether it holds on this run is computed "
             "from our means over all scenes of each entry, per metric; nothing here is written by hand.", "",
             f"Of {len(verdicts)} checks, {verdicts.count(HOLDS)} hold, {verdicts.count(FAILS)} do not hold and "
             f"{len(verdicts) - verdicts.count(HOLDS) - verdicts.count(FAILS)} cannot be checked (entries not run).",
             "", claims_markdown(claims, df)]
    return lines


def _trace_section(df: pd.DataFrame, run_info: Mapping[str, Any], out_dir: Path) -> list[str]:
    profile = run_info.get("profile", "<profile>")
    scenes_dir = run_info.get("scenes_dir", f"data/{profile}/scenes")
    lines = ["## Tracing a number back to its scenes", "",
             "1. A table cell is the mean of `d_env` or `d_stft` over the rows of the per-scene score CSVs named "
             "in the table's CSV (column `score_files`) whose `ir_set`, `method`, `variant` and `mono_input` "
             "match the row; a per-N cell keeps the rows with `n_sources` = N (the N = 2 placement table also "
             "filters on `same_side`).",
             f"2. Each score row names its `scene_id` and `ir_set`; the scene's specification (recordings, "
             f"segments, performers, frames, azimuths, distances) is the row of `{scenes_dir}/test_<ir_set>/scenes.csv` "
             f"with that `scene_id`, and its arrays are `{scenes_dir}/test_<ir_set>/<scene_id>.npz`.", ""]
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
    ({room: RT60}) and scenes_dir (default data/<profile>/scenes); other keys are listed.
    `figures` maps a caption to the figure's files (already written); `examples`
    maps a label to a WAV path (or is a list of WAV paths). `separation`: the Markdown lines
    of the audio pre-training section (report/separation.py), placed after the claims.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = run_info.get("profile", "unknown")
    lines = [f"# Points2Sound reproduction: results of profile `{profile}`", "",
             "Mono music plus a 3D point-cloud scene in, binaural audio out: our numbers beside the paper's "
             "(Lluís, Chatziioannou & Hofmann, Points2Sound). Distances use the paper's reference-code "
             "definitions (d_ENV: RMS envelope difference; d_STFT: mean squared STFT difference).", ""]
    lines += _run_section(run_info, scores_df)
    lines += _tables_section(tables, out_dir, scores_df)
    lines += _figures_section(figures, out_dir)
    lines += _examples_section(examples, out_dir)
    lines += _claims_section(scores_df, run_info)
    if separation:
        lines += list(separation)
    lines += _trace_section(scores_df, run_info, out_dir)
    page = out_dir / "README.md"
    write_text(page, "\n".join(lines).rstrip() + "\n")
    return page
