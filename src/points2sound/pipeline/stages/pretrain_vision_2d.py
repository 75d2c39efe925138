"""Stage `pretrain_vision_2d`: the 2D vision net (torchvision's ResNet18 on the listener's rgb-depth
panorama) pre-trained on the same scene pretext as the 3D net; only when a variant uses it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import TRAINING_OPTIONS, Opt, Stage, StageKind
from ..training import pretraining_run

if TYPE_CHECKING:
    from ..layout import Layout

KIND = StageKind(
    command="pretrain-panorama",
    help="pre-train the 2D vision net (ResNet18 on the scene's panorama) on the scene pretext",
    topic="train",
    options=(
        Opt("--dataset", Path, required=True, help="dataset root (performers for the scene pretext)"),
        *TRAINING_OPTIONS,
    ),
    params=("model", "pretrain", "scenes", "train.device"),
    resources="pretrain",
)


def stages(layout: Layout) -> list[Stage]:
    if not layout.panorama_variants():
        return []
    D = layout.data
    deps = {"splits": f"{D}/splits", "frames": f"{D}/frames"}
    return [layout.training(KIND, "pretrain_vision_2d", {"dataset": D}, deps)]


def run(
    params: Any,
    dataset: Path,
    out: Path,
    live: Path,
    checkpoints: Path,
    threads: int | None = None,
    stop_after: int | None = None,
) -> None:
    from ...settings.train import pretrain_config
    from ...train.pretrain_panorama import pretrain_panorama

    pretraining_run(
        params,
        "pretrain_vision_2d",
        "fit_pretrain_scene",
        threads,
        out,
        live,
        lambda model_path, device: pretrain_panorama(
            pretrain_config(params, "panorama2d"),
            dataset,
            checkpoints,
            model_path,
            device=device,
            stop_after=stop_after,
        ),
    )
