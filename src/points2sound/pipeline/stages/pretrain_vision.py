"""Stage `pretrain_vision`: the 3D vision trunk pre-trained on shape classification (ModelNet40 or the
embedded shapes), then, where the profile asks, on the scene pretext."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import TRAINING_OPTIONS, Opt, Stage, StageKind
from ..training import pretraining_run

if TYPE_CHECKING:
    from ..layout import Layout

KIND = StageKind(
    command="pretrain",
    help="pre-train the vision trunk on shape classification",
    topic="train",
    options=(
        Opt("--shapes", Path, required=True, help="shapes root (<class>/<shape>.ply, splits/)"),
        Opt("--dataset", Path, help="dataset root (performers for the scene pretext)"),
        *TRAINING_OPTIONS,
    ),
    params=("model", "pretrain", "shapes", "scenes", "train.device"),
    resources="pretrain",
)


def stages(layout: Layout) -> list[Stage]:
    D = layout.data
    deps = {"shapes": f"{D}/shapes", "splits": f"{D}/splits", "frames": f"{D}/frames"}
    return [layout.training(KIND, "pretrain_vision", {"shapes": f"{D}/shapes", "dataset": D}, deps)]


def run(
    params: Any,
    shapes: Path,
    out: Path,
    live: Path,
    checkpoints: Path,
    threads: int | None = None,
    stop_after: int | None = None,
    dataset: Path | None = None,
) -> None:
    from ...settings.train import pretrain_config
    from ...train.pretrain import KIND as FIT
    from ...train.pretrain import pretrain_vision

    pretraining_run(
        params,
        "pretrain_vision",
        "fit_" + FIT,
        threads,
        out,
        live,
        lambda model_path, device: pretrain_vision(
            pretrain_config(params),
            shapes,
            checkpoints,
            model_path,
            device=device,
            stop_after=stop_after,
            dataset_root=dataset,
        )[0],
    )
