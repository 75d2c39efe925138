"""What each stage cost, from Snakemake's benchmark files (`points2sound stage-costs`).

Every Snakemake rule writes `logs/<profile>/benchmarks/<stage>.tsv` (its `benchmark:` file: wall
seconds `s`, `cpu_time`, peak resident memory `max_rss` in MB, ...). This table collects them. It
is timing, not a result: it is written beside the results (results/<profile>/stage_costs.*), which
the results page, its reproduction check and the engines' byte-parity tests never read. DVC writes
no benchmark files; without them the table says so.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from ..atomic import write_text
from ..errors import InputFileError
from .html import markdown_table_html

NO_BENCHMARKS = "no benchmark files: run through Snakemake (DVC writes none)"


def _number(row: dict, key: str) -> float:
    try:
        value = float(row.get(key, "nan"))
    except ValueError:
        return math.nan
    return value


def read_benchmark(path: Path) -> dict[str, float]:
    """The last run recorded in one benchmark file (Snakemake writes one row per repeat)."""
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
    except OSError as exc:
        raise InputFileError(path, f"cannot be read ({exc.strerror})") from exc
    if not rows or "s" not in rows[-1]:
        raise InputFileError(path, "is not a Snakemake benchmark file (no `s` column)")
    row = rows[-1]
    return {"wall_s": _number(row, "s"), "cpu_s": _number(row, "cpu_time"), "max_rss_mb": _number(row, "max_rss")}


def _fmt(value: float, spec: str) -> str:
    return "–" if math.isnan(value) else format(value, spec)


def stage_costs_markdown(benchmarks: Sequence[Path]) -> str:
    present = [p for p in benchmarks if p.is_file()]
    lines = [
        "**Stage costs** Wall time, CPU time (user + system, children included) and peak resident memory "
        "of each stage's last run, from Snakemake's benchmark files (logs/<profile>/benchmarks/). "
        "Timing, not a result: it varies from run to run and machine to machine.",
        "",
    ]
    if not present:
        return "\n".join([*lines, NO_BENCHMARKS, ""])
    lines += ["| stage | wall (s) | CPU (s) | peak RSS (MB) |", "|---|---:|---:|---:|"]
    wall = cpu = 0.0
    for path in sorted(present, key=lambda p: p.stem):
        b = read_benchmark(path)
        wall += 0.0 if math.isnan(b["wall_s"]) else b["wall_s"]
        cpu += 0.0 if math.isnan(b["cpu_s"]) else b["cpu_s"]
        lines.append(
            f"| {path.stem} | {_fmt(b['wall_s'], '.1f')} | {_fmt(b['cpu_s'], '.1f')} | {_fmt(b['max_rss_mb'], '.0f')} |"
        )
    lines.append(f"| all {len(present)} stages (sum) | {wall:.1f} | {cpu:.1f} | |")
    missing = [p.stem for p in benchmarks if not p.is_file()]
    if missing:
        lines += ["", f"No benchmark file for {', '.join(sorted(missing))} (not run through Snakemake)."]
    return "\n".join(lines) + "\n"


def write_stage_costs(benchmarks: Sequence[Path], out_md: Path, out_html: Path | None = None) -> str:
    text = stage_costs_markdown(benchmarks)
    write_text(out_md, text)
    if out_html is not None:
        write_text(out_html, markdown_table_html(text, "stage costs"))
    return text
