"""Pre-training of the 2D vision net (3D against 2D): the scene pretext on panoramas.

The 3D net of `p2s_rgb` starts from shape classification and then the scene pretext
(train/scene_pretext.py). The 2D net (vision2d/network.py) has no shape stage: its
counterpart would be ImageNet, whose weights cannot be downloaded here, and the shapes
have no colours to render a panorama from. It goes through the same scene pretext, on
the same scenes, with the same budget (`pretrain.scene_*`), so both nets reach the
binaural training having learnt the same thing: which azimuths hold a performer. The
paper profile has no scene pretext (`pretrain.scene_iterations: 0`): there this stage
refuses to run, and the 2D variant is a demo and GPU-profile experiment.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from points2sound.errors import ParameterError
from points2sound.models.checkpoint import save_checkpoint
from points2sound.settings.train import PretrainConfig
from points2sound.train.loop import FitResult
from points2sound.train.scene_pretext import scene_pretext, scene_vision

log = logging.getLogger(__name__)
KIND = "pretrain_vision"  # the 3D pre-training's kind: a variant loads either through `load_pretrained`


def pretrain_panorama(
    settings: PretrainConfig,
    dataset_root: Path,
    checkpoint_dir: Path,
    out_path: Path,
    *,
    device: torch.device,
    stop_after: int | None = None,
) -> FitResult:
    """Train the 2D net on the scene pretext (settings: `pretrain_config(params, "panorama2d")`); write out_path."""
    if settings.scene.features != "rgb":
        raise ParameterError(
            "pretrain.scene_features",
            f"the 2D net sees rgb-depth panoramas: needs 'rgb', got {settings.scene.features!r}",
        )
    if not settings.scene.iterations:
        raise ParameterError(
            "pretrain.scene_iterations",
            "is 0, but the scene pretext is the 2D net's only pre-training: set it above 0 (the demo trains 1200)",
        )
    config: dict[str, Any] = {**settings.vision, "seed": settings.seed}
    vision, result, figures = scene_pretext(
        settings, scene_vision(settings), dataset_root, checkpoint_dir, device, config, stop_after=stop_after
    )
    if result.stopped_early:
        return result
    result.extra = {"test_accuracy": figures["scene_test_azimuth_accuracy"], **figures}
    weights = {k: v.detach().cpu() for k, v in vision.state_dict().items()}
    save_checkpoint(
        out_path, KIND, settings.with_scene_pretext(config), model=weights, test_accuracy=result.extra["test_accuracy"]
    )
    return result
