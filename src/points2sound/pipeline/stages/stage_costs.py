"""Snakemake only: what each stage cost (wall and CPU seconds, peak memory), read from the benchmark
files the rules write, as a table `snakemake --report` shows. Timing is no artifact, so this kind has
no stage in the graph (DVC writes no benchmark files): workflow/rules/costs.smk runs it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import Opt, Stage, StageKind

if TYPE_CHECKING:
    from ..layout import Layout

KIND = StageKind(
    command="stage-costs",
    help="the stages' wall time, CPU time and peak memory from Snakemake's benchmark files",
    topic="report",
    options=(
        Opt(
            "--benchmarks",
            Path,
            nargs="*",
            help="benchmark TSVs (default: logs/<profile>/benchmarks/*.tsv of --profile, or of every profile)",
        ),
        Opt("--out", Path, required=True, help="Markdown table to write"),
        Opt("--html", Path, help="also as a standalone HTML page"),
    ),
    needs_params=False,
)


def stages(layout: Layout) -> list[Stage]:
    return []


def run(
    params: Any, out: Path, benchmarks: list[Path] | None = None, html: Path | None = None, profile: str | None = None
) -> None:
    from ...report.costs import write_stage_costs

    files = benchmarks
    if files is None:
        files = sorted(Path("logs").glob(f"{profile or '*'}/benchmarks/*.tsv"))
    print(write_stage_costs(files, out, html), end="")
