"""The model kinds and vision nets a variant can name, declared once.

A variant (`variants.<name>` in params.yaml) picks a `model` kind and a `vision_net`; everything
that depends on the kind (its losses, whether it outputs binaural signals or an FOA field, which
pre-training its vision net starts from) is read from these tables, not re-spelled where it is used.
Adding a variant of an existing kind is one entry in params.yaml; adding a kind is one entry here
plus its network (`models/systems.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelKind:
    name: str
    losses: tuple[str, ...]  # `variants.<name>.loss` it accepts (paper: L_full, L_diff; appendix: the U-Net's MSE)
    output: str  # "binaural" (scored per ear, Tables 1 and 2, rooms) or "foa" (scored as a field, FOA tables)
    demucs: bool  # its audio net is the conditioned Demucs (else Mono2Binaural's U-Net)


MODEL_KINDS: dict[str, ModelKind] = {
    k.name: k
    for k in (
        ModelKind("points2sound", ("full", "diff"), "binaural", demucs=True),
        ModelKind("mono2binaural", ("mse",), "binaural", demucs=False),
        ModelKind("points2sound_foa", ("full",), "foa", demucs=True),
    )
}
FOA_KIND = "points2sound_foa"
# the paper's headline setting (rgb-depth, L_full, s_L + s_R): the variant the report's claims, the listening
# examples and `binauralize`'s default model name; a profile without it shows its first variant
HEADLINE_VARIANT = "p2s_rgb"
# `variants.<name>.vision_net`: the sparse 3D ResNet18 on the voxels (the paper), or torchvision's 2D ResNet18
# on the scene's rgb-depth panorama; -> the pre-training stage its weights start from
VISION_NETS = {"sparse3d": "pretrain_vision", "panorama2d": "pretrain_vision_2d"}
DEFAULT_VISION_NET = "sparse3d"  # the schema's default of `variants.<name>.vision_net`
# the inits that start a binaural model from the separation pre-training
SEPARATION_INITS = ("separation", "separation_audio")
# `init` -> the pre-training stage whose model.pt the variant's training gets as --pretrained
# (separation_audio also takes the vision pre-training's, as --pretrained-vision; `init: vision` takes
# the pre-training of the variant's vision net kind)
INIT_PRETRAINING = {"separation": "pretrain_separation", "separation_audio": "pretrain_separation"}


def vision_net(spec: Mapping[str, Any]) -> str:
    """The vision net kind of a variant's spec (`variants.<name>`)."""
    return spec.get("vision_net", DEFAULT_VISION_NET)


def uses_vision(spec: Mapping[str, Any]) -> bool:
    """Whether a variant's spec (or a checkpoint's config) feeds a visual feature; `vision: false` is Morgado's
    U-Net baseline of the FOA kind (absent: true)."""
    return spec.get("vision", True) is not False


def init_pretraining(spec: Mapping[str, Any]) -> str:
    """The pre-training stage a variant starts from."""
    return VISION_NETS[vision_net(spec)] if spec["init"] == "vision" else INIT_PRETRAINING[spec["init"]]


def binaural_output(spec: Mapping[str, Any]) -> bool:
    """Whether a variant (or a checkpoint's config) outputs binaural signals (else an FOA field)."""
    return MODEL_KINDS[spec["model"]].output == "binaural"


def is_foa(config: Mapping[str, Any]) -> bool:
    """Whether a variant's spec or a checkpoint's config is of the FOA kind."""
    return config["model"] == FOA_KIND
