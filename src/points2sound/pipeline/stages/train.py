"""Stage `train_<variant>`: one variant of the paper (`variants:` in params.yaml) trained from its
pre-training; the best weights and the run's dvclive history and summary. Runs under torchrun on
several GPUs (train/distributed.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import TRAINING_OPTIONS, Opt, Stage, StageKind

if TYPE_CHECKING:
    from ..layout import Layout

log = logging.getLogger(__name__)

KIND = StageKind(
    command="train",
    help="train one variant of the paper (see `variants:` in params.yaml)",
    topic="train",
    options=(
        Opt("--variant", required=True),
        Opt("--dataset", Path, required=True),
        Opt("--pretrained", Path, help="the checkpoint (model.pt) of the pre-training the variant's `init` names"),
        Opt(
            "--pretrained-vision",
            Path,
            help="with `init: separation_audio`: the vision pre-training's model.pt (the vision net's weights)",
        ),
        *TRAINING_OPTIONS,
    ),
    params=("model", "train", "scenes", "render", "audio", "hrir"),
    resources="train",
)


def stages(layout: Layout) -> list[Stage]:
    D, M, out = layout.data, layout.models, []
    for variant, spec in layout.variants().items():
        init = f"{M}/{layout.pretraining_of(variant)}"
        values: dict[str, Any] = {"variant": variant, "dataset": D, "pretrained": f"{init}/model.pt"}
        deps = {
            "audio": f"{D}/audio",
            "renders": f"{D}/binaural/{layout.hrir}",
            "splits": f"{D}/splits",
            "frames": f"{D}/frames",
            "pretrained": init,
        }
        if spec["init"] == "separation_audio":  # the audio from the separation, the vision net from its own
            values["pretrained_vision"] = f"{M}/pretrain_vision/model.pt"
            deps["pretrained_vision"] = f"{M}/pretrain_vision"
        out.append(layout.training(KIND, f"train_{variant}", values, deps, (f"variants.{variant}",)))
    return out


def run(
    params: Any,
    variant: str,
    dataset: Path,
    pretrained: Path | None,
    out: Path,
    live: Path,
    checkpoints: Path,
    threads: int | None = None,
    stop_after: int | None = None,
    pretrained_vision: Path | None = None,
) -> None:
    from ...atomic import atomic_dir
    from ...errors import RunStopped
    from ...runrecord import RUN
    from ...settings import stage_seed
    from ...settings.train import variant_config
    from ...train.live import recording
    from ...train.runtime import setup_runtime
    from ...train.variant import save_model, summarize, train_variant
    from ..training import stage_threads

    config_run = variant_config(params, variant)
    device, dist = setup_runtime(
        config_run.train.device, stage_threads(params, "train", threads), stage_seed(params, f"train_{variant}")
    )
    try:
        with recording(live, f"train_{variant}") as rec:
            result, config, system, task = train_variant(
                config_run,
                dataset,
                pretrained,
                checkpoints,
                device=device,
                dist=dist,
                stop_after=stop_after,
                pretrained_vision=pretrained_vision,
            )
        if result.stopped_early:  # every rank exits the same way, so torchrun reports it
            raise RunStopped(result.iterations_done)
        if not dist.is_main:
            return
        summary = {"variant": variant, **summarize(result, task, device)}
        RUN.update(**result.timing(), device=str(device), world_size=dist.world_size)
        with atomic_dir(out) as tmp:
            save_model(tmp / "model.pt", system, config, summary)
        rec.finish(summary, result.iterations_done)
        log.info(
            "%s: val L1 %.5f (scene rotated by pi/2: %.5f; mono copied to both ears: %.5f)",
            variant,
            summary["val_l1"],
            summary["val_l1_rotated"],
            summary["val_l1_mono_copy"],
        )
    finally:
        dist.close()
