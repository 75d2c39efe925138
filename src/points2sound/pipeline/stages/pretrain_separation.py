"""Stage `pretrain_separation`: the audio network pre-trained on visually-conditioned source separation
(the mix of several performers, each separated given its own cloud)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import TRAINING_OPTIONS, Opt, Stage, StageKind
from ..training import pretraining_run

if TYPE_CHECKING:
    from ..layout import Layout

KIND = StageKind(
    command="pretrain-separation",
    help="pre-train the audio network on visually-conditioned source separation",
    topic="train",
    options=(
        Opt("--dataset", Path, required=True),
        Opt("--pretrained", Path, help="pre-trained vision checkpoint (model.pt)"),
        *TRAINING_OPTIONS,
    ),
    params=("model", "pretrain_audio", "scenes", "render", "audio", "train.pretrained_vision", "train.device"),
    resources="pretrain",
)


def stages(layout: Layout) -> list[Stage]:
    D, vision = layout.data, f"{layout.models}/pretrain_vision"
    deps = {"audio": f"{D}/audio", "splits": f"{D}/splits", "frames": f"{D}/frames", "pretrained": vision}
    values = {"dataset": D, "pretrained": f"{vision}/model.pt"}
    return [layout.training(KIND, "pretrain_separation", values, deps)]


def run(
    params: Any,
    dataset: Path,
    pretrained: Path | None,
    out: Path,
    live: Path,
    checkpoints: Path,
    threads: int | None = None,
    stop_after: int | None = None,
) -> None:
    from ...models.loading import SEPARATION_KIND
    from ...settings.train import separation_config
    from ...train.separation import pretrain_separation

    pretraining_run(
        params,
        "pretrain_separation",
        "fit_" + SEPARATION_KIND,
        threads,
        out,
        live,
        lambda model_path, device: pretrain_separation(
            separation_config(params),
            dataset,
            pretrained,
            checkpoints,
            model_path,
            device=device,
            stop_after=stop_after,
        )[0],
    )
