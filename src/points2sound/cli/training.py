"""The training stage commands: the two pre-trainings and the paper's variants."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .. import stages


def _training_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help="output folder (model.pt)")
    p.add_argument(
        "--live",
        type=Path,
        required=True,
        help="dvclive folder: plots/metrics/<metric>.tsv (history), metrics.json (summary)",
    )
    p.add_argument("--checkpoints", type=Path, required=True, help="resume state; a rerun continues from it")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: resources.<kind>.cpus, at most the cores)",
    )
    p.add_argument("--stop-after", type=int, default=None, help="stop after this many iterations (resumable)")


def _train(args: argparse.Namespace, params: dict) -> None:
    stages.train(
        params,
        args.variant,
        args.dataset,
        args.pretrained,
        args.out,
        args.live,
        args.checkpoints,
        args.threads,
        args.stop_after,
        pretrained_vision=args.pretrained_vision,
    )


def add_training_commands(cmd: Callable[..., argparse.ArgumentParser]) -> None:
    """Register `pretrain`, `pretrain-panorama`, `train` and `pretrain-separation` through the CLI's command factory."""
    p = cmd(
        "pretrain",
        "pre-train the vision trunk on shape classification",
        lambda a, P: stages.pretrain(P, a.shapes, a.out, a.live, a.checkpoints, a.threads, a.stop_after, a.dataset),
    )
    p.add_argument("--shapes", type=Path, required=True, help="shapes root (<class>/<shape>.ply, splits/)")
    p.add_argument("--dataset", type=Path, default=None, help="dataset root (performers for the scene pretext)")
    _training_options(p)

    p = cmd(
        "pretrain-panorama",
        "pre-train the 2D vision net (ResNet18 on the scene's panorama) on the scene pretext",
        lambda a, P: stages.pretrain_panorama(P, a.dataset, a.out, a.live, a.checkpoints, a.threads, a.stop_after),
    )
    p.add_argument("--dataset", type=Path, required=True, help="dataset root (performers for the scene pretext)")
    _training_options(p)

    p = cmd("train", "train one variant of the paper (see `variants:` in params.yaml)", _train)
    p.add_argument("--variant", required=True)
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument(
        "--pretrained",
        type=Path,
        default=None,
        help="the checkpoint (model.pt) of the pre-training the variant's `init` names",
    )
    p.add_argument(
        "--pretrained-vision",
        type=Path,
        default=None,
        help="with `init: separation_audio`: the vision pre-training's model.pt (the vision net's weights)",
    )
    _training_options(p)

    p = cmd(
        "pretrain-separation",
        "pre-train the audio network on visually-conditioned source separation",
        lambda a, P: stages.pretrain_separation(
            P, a.dataset, a.pretrained, a.out, a.live, a.checkpoints, a.threads, a.stop_after
        ),
    )
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--pretrained", type=Path, default=None, help="pre-trained vision checkpoint (model.pt)")
    _training_options(p)
