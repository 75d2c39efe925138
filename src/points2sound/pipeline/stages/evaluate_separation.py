"""Stage `evaluate_separation`: bss_eval SDR/SIR/SAR of the separation network, and per ear of the
binaural variants `pretrain_audio.per_ear_variants` names."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import Opt, Out, Report, Stage, StageKind

if TYPE_CHECKING:
    from ..layout import Layout

log = logging.getLogger(__name__)

KIND = StageKind(
    command="evaluate-separation",
    help="bss_eval SDR/SIR/SAR of the separation network and, per ear, of binaural variants",
    topic="evaluate",
    options=(
        Opt("--dataset", Path, required=True),
        Opt("--model", Path, required=True, help="the separation network's model.pt"),
        Opt("--models-dir", Path, required=True, help="trained variants: <dir>/<variant>/model.pt"),
        Opt(
            "--binaural",
            nargs="*",
            help="binaural variants scored per ear (default: pretrain_audio.per_ear_variants)",
        ),
        Opt("--out-dir", Path, required=True, help="writes mono.csv and <variant>_per_ear.csv"),
        Opt("--threads", int, help="torch threads (default 1)"),
    ),
    params=("audio", "model", "pretrain_audio", "scenes", "render", "train.device"),
)


def separation_report(what: str) -> Report:
    return Report("scores", "separation_scores.rst", subcategory="separation scores", labels={"scores": what})


def stages(layout: Layout) -> list[Stage]:
    D, M, R = layout.data, layout.models, layout.results
    per_ear = list(layout.P["pretrain_audio"]["per_ear_variants"])
    values = {
        "dataset": D,
        "model": f"{M}/pretrain_separation/model.pt",
        "models_dir": M,
        "binaural": per_ear,
        "out_dir": f"{R}/separation",
    }
    deps = {
        "model": f"{M}/pretrain_separation",
        "audio": f"{D}/audio",
        "renders": f"{D}/binaural/{layout.hrir}",
        "splits": f"{D}/splits",
        "frames": f"{D}/frames",
        "binaural": tuple(f"{M}/{v}" for v in per_ear),
    }
    outs = {"mono": Out(f"{R}/separation/mono.csv", cache=False, report=separation_report("mono"))}
    for v in per_ear:
        outs[f"per_ear_{v}"] = Out(
            f"{R}/separation/{v}_per_ear.csv", cache=False, report=separation_report(f"{v} per ear")
        )
    params = tuple(f"variants.{v}" for v in per_ear)
    return [layout.stage(KIND, "evaluate_separation", values, deps, outs, params)]


def run(
    params: Any,
    dataset: Path,
    model: Path,
    models_dir: Path,
    binaural: list[str] | None,
    out_dir: Path,
    threads: int | None = None,
) -> None:
    from ...evaluate.separation import evaluate_separation
    from ...models.loading import load_system
    from ...settings import stage_seed
    from ...settings.train import separation_eval_config, system_config
    from ...train.runtime import setup_runtime

    settings = separation_eval_config(params)
    names = list(settings.per_ear_variants) if binaural is None else binaural
    models = {v: models_dir / v / "model.pt" for v in names}

    def load(variant: str, path: Path):
        system, blob = load_system(path, system_config(params, variant))
        return system, blob["config"]

    device, _ = setup_runtime(params["train"]["device"], threads or 1, stage_seed(params, "evaluate"))
    for path in evaluate_separation(settings, dataset, model, models, out_dir, device, load):
        log.info("wrote %s", path)
