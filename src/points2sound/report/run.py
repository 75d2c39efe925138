"""The report stage's whole output from its input paths: results/<profile>/ (page, tables, figures, metrics).

The page (README.md) with its tables and figures, the reproduction record and section
(reproduction.json), the tables' HTML copies for `snakemake --report` and the metrics
`dvc metrics show` reads (metrics.json). The glue passes paths and typed settings only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import write_text
from ..evaluate.metrics import SCORE_KEYS
from ..evaluate.scores import read_scores, summarize
from ..machine import machine_facts
from ..settings.report import ReportSettings
from . import reproduction
from .figures import figure_azimuth, figure_learning_curves, figure_p2s_vs_m2b, figure_rooms
from .foa import foa_section
from .html import write_table_pages
from .page import write_report
from .separation import separation_section
from .spread import SeedSpread
from .tables import build_tables
from .vision2d import vision2d_section

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportInputs:
    """The files the page is computed from (the report command's options)."""

    score_files: Sequence[Path]  # per-scene score CSVs, or folders of them
    examples_dir: Path | None = None
    separation_scores: Sequence[Path] | None = None  # mono.csv / <variant>_per_ear.csv, or folders of them
    costs: Path | None = None  # the audio-costs CSV
    artifacts: Sequence[Path] = ()  # data and model outputs whose hashes reproduction.json records
    reference: Path | None = None  # the committed reference run of the profile
    seed_spread: Path | None = None  # benchmarks/seed_spread.py's output
    curves: Sequence[Path] = ()  # the training runs' dvclive folders
    foa_scores: Sequence[Path] = ()  # the FOA stages' scores.csv / energy_maps.csv (<dir>/<variant>/)
    pretext: Sequence[Path] = ()  # the vision pre-trainings' dvclive summaries (metrics.json)

    @property
    def has_separation(self) -> bool:
        return self.separation_scores is not None or self.costs is not None


def score_csvs(paths: Sequence[Path]) -> list[Path]:
    """The per-scene score files among files and folders; a folder's separation/ holds another format."""
    return [
        f
        for p in paths
        for f in (sorted(p.glob("*/*.csv")) + sorted(p.glob("*.csv")) if p.is_dir() else [p])
        if not (p.is_dir() and f.parent.name == "separation")
    ]


def _run_info(settings: ReportSettings, machine: dict[str, Any], commit: str, seed_spread: Path | None) -> dict:
    """The page's "What ran" facts, in the order page.write_report shows them."""
    s = settings
    info = {
        "profile": s.profile,
        "data_source": s.data_source,
        "git_commit": commit,
        "params_hash": s.params_hash,
        "anechoic": s.anechoic,
        "rooms": s.rooms,
        "room_rt60_s": dict(s.room_rt60_s),
        "scenes_dir": f"data/{s.profile}/scenes",
        "test_scenes": f"{s.test_scene_count} per IR set, {s.test_clip_s} s clips",
        "sample_rate": f"{s.sample_rate} Hz",
        "machine": reproduction.machine_line(machine),
        "sample_rate_hz": int(s.sample_rate),
        "bootstrap": s.bootstrap,
        "residual_copy": s.residual_copy,
    }
    if seed_spread is not None:
        info["seed_spread"] = SeedSpread.read(seed_spread)
    return info


def _figures(df: pd.DataFrame, figures_dir: Path, settings: ReportSettings, curves: Sequence[Path]) -> dict:
    """Draw the page's figures; caption -> files (or files and a note, for those that are not box plots)."""
    profile, anechoic = settings.profile, settings.anechoic
    figures_dir.mkdir(exist_ok=True)
    figures = {
        "Figure 4: Points2Sound per N, anechoic and in each room": figure_rooms(
            df, figures_dir / "figure4_rooms", profile, anechoic, settings.rooms
        ),
        "Figure 5: Points2Sound against Mono2Binaural per N": figure_p2s_vs_m2b(
            df, figures_dir / "figure5_m2b", profile, anechoic
        ),
        "d_ENV against source azimuth at N = 1: Points2Sound, Rotated-Visual and Mono-Mono (s_L + s_R)": {
            "paths": figure_azimuth(df, figures_dir / "figure_azimuth", profile, anechoic),
            "note": "Points: mean over the N = 1 test scenes at that azimuth, bars: their standard error "
            "(series offset by a few degrees to stay apart).",
        },
    }
    if curves:  # <results>/train/<run>: dvclive's folder of each variant's training
        figures["Learning curves: validation L1 against the mono copy and the scene turned by pi/2"] = {
            "paths": figure_learning_curves(
                {Path(c).name: c for c in curves}, figures_dir / "learning_curves", profile
            ),
            "note": "Each run's validation L1 every `train.val_every` iterations (its dvclive history), beside the "
            "mono input copied to both ears and the same weights with the scene turned by pi/2, on the same scenes.",
        }
    return figures


def dvc_metrics(df: pd.DataFrame) -> dict[str, dict[str, float]]:
    """`dvc metrics show`: per entry, every metric over all scenes, and the two paper distances per N too."""
    summary = summarize(df, [k for k in SCORE_KEYS if k in df.columns])
    keep = [c for c in summary.columns if c.endswith("_all") and not c.startswith("count")]
    keep += [c for c in summary.columns if c.startswith(("d_env_n", "d_stft_n"))]
    metrics = {}
    for row in summary.to_dict("records"):
        name = "/".join(x for x in (row["ir_set"], row["method"], row["variant"] or row["mono_input"]) if x)
        metrics[name] = {k: float(row[k]) for k in keep if pd.notna(row[k])}
    return metrics


def write_results(settings: ReportSettings, inputs: ReportInputs, out_dir: Path) -> Path:
    """Tables, figures and the one-page report, all computed from the per-scene scores; returns the page.

    With separation scores or a cost table the page gets the audio pre-training section;
    files that are absent are named there instead of stopping the report.
    """
    df = read_scores(score_csvs(inputs.score_files))
    machine = machine_facts()  # runs git: the commit and whether tracked files differ
    commit = reproduction.commit_label(machine)
    run_info = _run_info(settings, machine, commit, inputs.seed_spread)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = build_tables(df, settings.profile, settings.anechoic, settings.rooms, settings.sample_rate)
    figures = _figures(df, out_dir / "figures", settings, inputs.curves)
    examples = inputs.examples_dir
    wavs = sorted(examples.glob("*.wav")) if examples is not None and examples.is_dir() else []
    separation = None
    if inputs.has_separation:
        separation = separation_section(
            out_dir,
            df,
            inputs.separation_scores,
            inputs.costs,
            settings.profile,
            settings.anechoic,
            [settings.anechoic, *settings.rooms],
            settings.per_ear_variants,
        )
    if inputs.foa_scores:
        foa = foa_section(
            out_dir,
            df,
            inputs.foa_scores,
            settings.profile,
            settings.anechoic,
            settings.bootstrap,
            settings.foa_baselines,
        )
        separation = [*(separation or []), *foa]
    if settings.panorama_variants:
        panorama = vision2d_section(
            out_dir,
            df,
            settings.panorama_variants,
            settings.profile,
            [settings.anechoic, *settings.rooms],
            settings.bootstrap,
            inputs.pretext,
            run_info.get("seed_spread"),
        )
        separation = [*(separation or []), *panorama]
    page = write_report(out_dir, df, run_info, tables, figures, wavs, separation)  # writes the tables too
    run = reproduction.record(list(inputs.artifacts), out_dir / "tables", machine, commit, settings.profile)
    closing = reproduction.section(run, out_dir / "tables", inputs.reference, settings.rel_tolerance)
    write_text(page, page.read_text() + "\n" + "\n".join(closing).rstrip() + "\n")
    write_text(out_dir / "reproduction.json", json.dumps(run, indent=2, sort_keys=True) + "\n")
    write_table_pages(out_dir / "tables")  # for `snakemake --report` (the CSVs are the tables' data)
    write_text(out_dir / "metrics.json", json.dumps(dvc_metrics(df), indent=2, sort_keys=True) + "\n")
    return page
