"""The report commands: the results page (`report`) and the stages' timing (`stage-costs`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .. import stages


def _cmd_report(args: argparse.Namespace, params: dict) -> None:
    stages.report(
        params,
        args.scores,
        args.examples,
        args.out,
        separation_scores=args.separation_scores,
        costs=args.costs,
        artifacts=args.artifacts,
        reference=args.reference,
        seed_spread=args.seed_spread,
        curves=args.curves,
        foa_scores=args.foa_scores,
        pretext=args.pretext,
    )


def _cmd_stage_costs(args: argparse.Namespace, params: dict) -> None:
    from ..report.costs import write_stage_costs

    files = args.benchmarks
    if files is None:
        files = sorted(Path("logs").glob(f"{args.profile or '*'}/benchmarks/*.tsv"))
    print(write_stage_costs(files, args.out, args.html), end="")


def _add_report(cmd: Callable[..., argparse.ArgumentParser]) -> None:
    p = cmd("report", "tables, figures and the report page from per-scene scores", _cmd_report)
    p.add_argument("--scores", type=Path, nargs="+", required=True, help="score CSVs, or folders of them")
    p.add_argument("--examples", type=Path, default=None)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--separation-scores",
        type=Path,
        nargs="+",
        default=None,
        help="separation scores: mono.csv, <variant>_per_ear.csv, or folders of them (adds the audio "
        "pre-training section; absent files are named there)",
    )
    p.add_argument("--costs", type=Path, default=None, help="the audio-costs CSV (cost table of that section)")
    p.add_argument(
        "--foa-scores",
        type=Path,
        nargs="*",
        default=(),
        help="the FOA stages' scores.csv and energy_maps.csv (<dir>/<variant>/): the first-order ambisonics section",
    )
    p.add_argument(
        "--artifacts",
        type=Path,
        nargs="*",
        default=(),
        help="data and model outputs whose hashes the reproduction section records and compares",
    )
    p.add_argument(
        "--reference",
        type=Path,
        default=None,
        help="a committed reference run (results/reference/<profile>) to compare against",
    )
    p.add_argument(
        "--curves",
        type=Path,
        nargs="*",
        default=(),
        help="the training runs' dvclive folders (plots/metrics/*.tsv, metrics.json): the learning-curve figure",
    )
    p.add_argument(
        "--pretext",
        type=Path,
        nargs="*",
        default=(),
        help="the vision pre-trainings' dvclive summaries (metrics.json): the 3D-against-2D section's pretext accuracies",
    )
    p.add_argument(
        "--seed-spread",
        type=Path,
        default=None,
        help="the training noise of benchmarks/seed_spread.py (report.seed_spread): marks the checks within it",
    )


def add_report_commands(cmd: Callable[..., argparse.ArgumentParser]) -> None:
    """Register `report` and `stage-costs` through the CLI's command factory."""
    _add_report(cmd)
    p = cmd(
        "stage-costs",
        "the stages' wall time, CPU time and peak memory from Snakemake's benchmark files",
        _cmd_stage_costs,
        needs_params=False,
    )
    p.add_argument(
        "--benchmarks",
        type=Path,
        nargs="*",
        default=None,
        help="benchmark TSVs (default: logs/<profile>/benchmarks/*.tsv of --profile, or of every profile)",
    )
    p.add_argument("--out", type=Path, required=True, help="Markdown table to write")
    p.add_argument("--html", type=Path, default=None, help="also as a standalone HTML page")
