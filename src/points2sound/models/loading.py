"""Trained networks back from their checkpoints: what inference, evaluation and training share.

A checkpoint stores the configuration that built its network (`models.checkpoint`),
so a loader rebuilds the network from that configuration alone and loads the weights;
no parameter file and no training code is needed to use a trained model.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from points2sound.model_kinds import uses_vision
from points2sound.models.checkpoint import load_checkpoint, load_weights
from points2sound.models.systems import DEMUCS_KINDS, SeparationNet, build_system

MODEL_KIND = "binauralizer"  # a trained variant (train_<variant>)
PRETRAIN_KIND = "pretrain_vision"  # the vision net of the scene pretext (pretrain_vision)
SEPARATION_KIND = "pretrain_separation"  # the separation network (pretrain_separation)


def build_from_config(config: Mapping[str, Any]) -> nn.Module:
    """The (untrained) network a system config describes."""
    sizes = config["sizes"]
    audio_key = "demucs" if config["model"] in DEMUCS_KINDS else "mono2binaural"
    return build_system(
        config["model"],
        {"vision": sizes["vision"], audio_key: sizes["audio"]},
        config["loss"],
        config["sample_rate"],
        seed=config["seed"],
        mono_input=config["mono_input"],
        vision=uses_vision(config),
    )


def load_system(path: str | Path, expected: Mapping[str, Any] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """A trained variant (eval mode, CPU) and its checkpoint; `expected` refuses another configuration."""
    blob = load_checkpoint(path, MODEL_KIND, expected)
    system = build_from_config(blob["config"])
    load_weights(system, blob.get("model"), path)
    return system.eval(), blob


def build_separation(config: Mapping[str, Any]) -> SeparationNet:
    return SeparationNet(config["sizes"]["vision"], config["sizes"]["audio"], seed=config["seed"])


def load_separation(path: str | Path) -> tuple[SeparationNet, dict[str, Any]]:
    """A trained separation network (eval mode, CPU) and its checkpoint."""
    blob = load_checkpoint(path, SEPARATION_KIND)
    net = build_separation(blob["config"])
    load_weights(net, blob.get("model"), path)
    return net.eval(), blob
