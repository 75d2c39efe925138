"""Stage `report`: the paper's tables, the ordering checks with bootstrap intervals, the figures,
metrics.json and the comparison with the committed reference run, from every score file."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...model_kinds import VISION_NETS
from ..declare import Opt, Out, Report, Stage, StageKind

if TYPE_CHECKING:
    from ..layout import Layout

log = logging.getLogger(__name__)

KIND = StageKind(
    command="report",
    help="tables, figures and the report page from per-scene scores",
    topic="report",
    options=(
        Opt("--scores", Path, required=True, nargs="+", help="score CSVs, or folders of them"),
        Opt("--examples", Path),
        Opt("--out", Path, required=True),
        Opt(
            "--separation-scores",
            Path,
            nargs="+",
            help="separation scores: mono.csv, <variant>_per_ear.csv, or folders of them (adds the audio "
            "pre-training section; absent files are named there)",
        ),
        Opt("--costs", Path, help="the audio-costs CSV (cost table of that section)"),
        Opt(
            "--foa-scores",
            Path,
            nargs="*",
            default=(),
            help="the FOA stages' scores.csv and energy_maps.csv (<dir>/<variant>/): the first-order ambisonics section",
        ),
        Opt(
            "--artifacts",
            Path,
            nargs="*",
            default=(),
            help="data and model outputs whose hashes the reproduction section records and compares",
        ),
        Opt("--reference", Path, help="a committed reference run (results/reference/<profile>) to compare against"),
        Opt(
            "--curves",
            Path,
            nargs="*",
            default=(),
            help="the training runs' dvclive folders (plots/metrics/*.tsv, metrics.json): the learning-curve figure",
        ),
        Opt(
            "--pretext",
            Path,
            nargs="*",
            default=(),
            help="the vision pre-trainings' dvclive summaries (metrics.json): the 3D-against-2D section's pretext accuracies",
        ),
        Opt(
            "--seed-spread",
            Path,
            help="the training noise of benchmarks/seed_spread.py (report.seed_spread): marks the checks within it",
        ),
    ),
    params=(
        "audio",
        "hrir",
        "rooms",
        "scenes",
        "dataset",
        "pretrain_audio",
        "variants",
        "reproduce",
        "report",
        "model.demucs.residual",
    ),
)


def reference_dir(layout: Layout) -> str | None:
    """The committed reference run of this profile, when there is one (results/reference/<profile>)."""
    path = f"results/reference/{layout.profile}"
    return path if (layout.root / path / "tables").is_dir() else None


def stages(layout: Layout) -> list[Stage]:
    R, built = layout.results, layout.built
    entries = [*layout.binaural_variants(), "mono_mono"]
    scores = tuple(layout.score_path(e, i) for e in entries for i in layout.ir_sets())
    foa = tuple(o.path for s in layout.named("evaluate_foa_") for o in s.outs.values())
    separation = tuple(o.path for s in built if s.name == "evaluate_separation" for o in s.outs.values())
    # the learning curves: every variant's dvclive folder (history and summary; the pre-trainings log others)
    runs = [s for s in layout.named("train_") if "plots" in s.outs]
    curves = tuple(str(Path(s.outs["plots"].path).parent.parent) for s in runs)
    histories = tuple(p for s in runs for p in (s.outs["plots"].path, s.outs["metrics"].path))
    # every artifact upstream of the report: the reproduction section compares their hashes
    artifacts = tuple(
        sorted({o.path for s in built for o in s.outs.values() if o.path.startswith(("data/", "models/"))})
    )
    values: dict[str, Any] = {
        "scores": scores,
        "examples": f"{R}/examples",
        "separation_scores": separation,
        "costs": f"{R}/audio_costs.csv",
        "artifacts": artifacts,
        "curves": curves,
    }
    deps: dict[str, Any] = {
        "scores": scores,
        "examples": f"{R}/examples",
        "separation": separation,
        "costs": f"{R}/audio_costs.csv",
        "artifacts": artifacts,
        "curves": histories,
    }
    if foa:
        values["foa_scores"] = deps["foa"] = foa
    if layout.panorama_variants():  # the vision pre-trainings' summaries: the 3D-against-2D pretext accuracies
        pretext = tuple(s.outs["metrics"].path for s in built if s.name in VISION_NETS.values())
        values["pretext"] = deps["pretext"] = pretext
    reference = reference_dir(layout)
    if reference is not None:
        values["reference"] = deps["reference"] = reference
    spread = layout.P["report"]["seed_spread"]
    if spread:  # a committed benchmark output (benchmarks/seed_spread.py): an input of the page
        values["seed_spread"] = deps["seed_spread"] = spread
    values["out"] = R
    page = Report("scores", "report_page.rst", subcategory="results page")
    outs = {
        "page": Out(f"{R}/README.md", cache=False, report=page),
        "metrics": Out(f"{R}/metrics.json", cache=False, metric=True, report=page),
        "reproduction": Out(f"{R}/reproduction.json", cache=False, report=page),
        "tables": Out(
            f"{R}/tables",
            True,
            cache=False,
            report=Report("scores", "tables.rst", subcategory="tables", patterns=("{table}.html",)),
        ),
        "figures": Out(
            f"{R}/figures",
            True,
            cache=False,
            report=Report("scores", "figures.rst", subcategory="figures", patterns=("{figure}.png",)),
        ),
    }
    return [layout.stage(KIND, "report", values, deps, outs)]


def run(
    params: Any,
    scores: list[Path],
    out: Path,
    examples: Path | None = None,
    separation_scores: list[Path] | None = None,
    costs: Path | None = None,
    artifacts: Sequence[Path] = (),
    reference: Path | None = None,
    seed_spread: Path | None = None,
    curves: Sequence[Path] = (),
    foa_scores: Sequence[Path] = (),
    pretext: Sequence[Path] = (),
) -> None:
    """With `separation_scores` (mono.csv / <variant>_per_ear.csv, or folders of them) or `costs` (the
    audio-costs CSV) the page gets the audio pre-training section."""
    from ...report.run import ReportInputs, write_results
    from ...settings.report import report_settings

    inputs = ReportInputs(
        scores, examples, separation_scores, costs, artifacts, reference, seed_spread, curves, foa_scores, pretext
    )
    page = write_results(report_settings(params), inputs, out)
    log.info("report written to %s", page)
