"""Training settings: the vision pre-training (shapes, then the scene pretext), the separation pre-training and
its scoring, and the variants' training; with the configuration each run's checkpoints carry.

A checkpoint records the configuration that built it (JSON, with a digest: models/checkpoint.py), and a run
resumes only from a checkpoint of the same configuration. Those dicts are built here, from the parameters as
they are given: a cast (1 -> 1.0) or another key would change a model's bytes and refuse old checkpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError
from ..model_kinds import MODEL_KINDS, VISION_NETS, vision_net
from . import stage_seed
from .scenes import SceneConfig, scene_config

# the losses each model kind trains with (model_kinds.py)
MODEL_LOSSES = {k.name: k.losses for k in MODEL_KINDS.values()}
# The weights a binaural model may take from the separation pre-training
# (`variants.<name>.transfer`): name prefixes that keep the binaural model's own init instead. The separation's
# last decoder block writes the separated source; with the residual copy path the binaural model would start at
# the copy plus that source in each ear and stay there (benchmarks/diag_audio_transfer.py).
SEPARATION_TRANSFERS: dict[str, tuple[str, ...]] = {
    "all": (),
    "all_but_output": ("audio.decoder.{last}.",),
    "encoder": ("audio.decoder.",),
}

_TRAIN_RESUME_KEYS = (
    "batch_size",
    "iterations",
    "lr",
    "val_every",
    "val_scenes",
    "pretrained_vision",
    "vision_lr_scale",
)
_SEPARATION_RESUME_KEYS = ("batch_size", "iterations", "lr", "val_every", "val_mixtures")


@dataclass(frozen=True)
class TrainConfig:
    """`train.*`: the joint training of a variant's vision and audio networks."""

    batch_size: int  # global batch, whatever the number of processes
    micro_batch_size: int
    iterations: int
    lr: float
    val_every: int
    val_scenes: int
    log_every: int
    workers: int
    device: str
    pretrained_vision: bool
    vision_lr_scale: float

    def resume_record(self) -> dict[str, Any]:
        """The settings a resumed run must share with its checkpoint."""
        return {k: getattr(self, k) for k in _TRAIN_RESUME_KEYS}


@dataclass(frozen=True)
class VariantConfig:
    """One variant's training run."""

    name: str
    system: Mapping[str, Any]  # `system_config`: what fixes its network and inputs
    segment_samples: int  # its training clips
    train_seed: int
    val_seed: int
    train: TrainConfig
    scenes: SceneConfig
    scenes_record: Mapping[str, Any]  # the `scenes` section as given: a run resumes only under the same one

    def resume_config(self, pretrained_digest: str | None) -> dict[str, Any]:
        """The configuration of the run's own checkpoints (`pretrained_digest`: of the checkpoint it started from)."""
        return {
            "system": dict(self.system),
            "train": self.train.resume_record(),
            "scenes": dict(self.scenes_record),
            "pretrained": pretrained_digest,
        }


@dataclass(frozen=True)
class ScenePretextConfig:
    """`pretrain.scene_*`: the self-supervised scene pretext after the shape classification (train/scene_pretext.py)."""

    iterations: int  # 0: no pretext
    target: str  # azimuth | instrument_azimuth
    features: str
    max_sources: int
    val_scenes: int


@dataclass(frozen=True)
class PretrainConfig:
    """`pretrain.*`: the vision pre-training by shape classification, with the network sizes of `model.vision`."""

    batch_size: int
    iterations: int
    lr: float
    val_every: int
    features: str
    seed: int
    vision: Mapping[str, Any]  # model.vision
    instruments: tuple[str, ...]  # the pretext's labels
    scene: ScenePretextConfig
    scenes: SceneConfig  # the pretext's scenes; shapes are voxelized as scenes are

    @property
    def voxel_size_m(self) -> float:
        return self.scenes.voxel_size_m

    @property
    def backend(self) -> str:
        return self.vision["backend"]

    def checkpoint_config(self, classes: list[str]) -> dict[str, Any]:
        """What fixes the classifier (stored in its checkpoints)."""
        return {
            "classes": classes,
            "planes": list(self.vision["planes"]),
            "layers": list(self.vision["layers"]),
            "stem_kernel": int(self.vision["stem_kernel"]),
            "voxel_size_m": self.voxel_size_m,
            "features": self.features,
            "seed": self.seed,
        }

    def resume_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The classifier's checkpoint config with the loop settings a resumed run must share."""
        return {
            **config,
            "batch_size": self.batch_size,
            "iterations": self.iterations,
            "lr": self.lr,
            "val_every": self.val_every,
        }

    def scene_pretext_config(self) -> dict[str, Any]:
        """The settings that fix the pretext's result (stored in the checkpoint's config)."""
        s = self.scene
        return {
            "scene_iterations": s.iterations,
            "scene_target": s.target,
            "scene_features": s.features,
            "scene_max_sources": s.max_sources,
            "scene_val_scenes": s.val_scenes,
            "batch_size": self.batch_size,
            "lr": self.lr,
        }

    def with_scene_pretext(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The checkpoint config of a vision net that also went through the scene pretext (trunk and K-wide head)."""
        return {
            **config,
            "scene_pretext": self.scene_pretext_config(),
            "out_channels": int(self.vision["out_channels"]),
        }


@dataclass(frozen=True)
class MixtureConfig:
    """`pretrain_audio.*`: how the separation pre-training draws its mixtures and shows their target."""

    min_sources: int
    max_sources: int
    features: str  # the target performer's voxel features
    placement: str  # canonical (straight ahead at mid distance) | scene (where the scene puts it)


@dataclass(frozen=True)
class SeparationConfig:
    """`pretrain_audio.*`: the audio pre-training by visually-conditioned separation."""

    network: Mapping[str, Any]  # what fixes the network and its inputs (stored in its checkpoints)
    mixtures: MixtureConfig
    batch_size: int
    iterations: int
    lr: float
    val_every: int
    val_mixtures: int
    pretrained_vision: bool  # train.pretrained_vision: start from the vision pre-training
    train_seed: int
    val_seed: int
    scenes: SceneConfig
    resume_record: Mapping[str, Any]  # the loop settings a resumed run must share, as given

    def resume_config(self) -> dict[str, Any]:
        return {**self.network, **self.resume_record}


@dataclass(frozen=True)
class SeparationEvalConfig:
    """`pretrain_audio.test_*`: the fixed test mixtures the separation is scored on."""

    mixtures: MixtureConfig
    mixtures_per_n: int
    clip_s: float
    seed: int
    per_ear_variants: tuple[str, ...]  # binaural variants also scored per ear
    scenes: SceneConfig


def _train(params: Mapping[str, Any]) -> TrainConfig:
    t = params["train"]
    return TrainConfig(
        t["batch_size"],
        t["micro_batch_size"],
        t["iterations"],
        t["lr"],
        t["val_every"],
        t["val_scenes"],
        t["log_every"],
        t["workers"],
        t["device"],
        t["pretrained_vision"],
        t["vision_lr_scale"],
    )


def vision_sizes(params: Mapping[str, Any], net: str = "sparse3d") -> dict[str, Any]:
    """The vision config `models.systems.build_vision` builds: `model.vision`, or for the 2D net the
    panorama's size (`model.panorama`), the voxel size its input comes in and the same K."""
    if net == "sparse3d":
        return dict(params["model"]["vision"])
    if net == "panorama2d":
        return {
            "net": net,
            **params["model"]["panorama"],
            "voxel_size_m": params["scenes"]["voxel_size_m"],
            "out_channels": params["model"]["vision"]["out_channels"],
        }
    raise ParameterError("vision_net", f"must be one of {sorted(VISION_NETS)}, got {net!r}")


def system_config(params: Mapping[str, Any], variant: str) -> dict[str, Any]:
    """Everything that fixes a variant's network and its inputs (stored in its checkpoints)."""
    variants = params["variants"]
    if variant not in variants:
        raise ParameterError("variant", f"no variant named {variant!r}; known: {sorted(variants)}")
    v = dict(variants[variant])
    sizes = {"vision": vision_sizes(params, vision_net(v))}
    sizes["audio"] = dict(params["model"]["demucs" if v["model"] != "mono2binaural" else "mono2binaural"])
    return {
        "variant": variant,
        **v,
        "sample_rate": int(params["audio"]["sample_rate"]),
        "voxel_size_m": float(params["scenes"]["voxel_size_m"]),
        "sizes": sizes,
        "seed": stage_seed(params, f"init_{variant}"),
    }


def _segment_samples(params: Mapping[str, Any], config: Mapping[str, Any]) -> int:
    """Training clip length: 3 s segments (reference code) for Demucs, 0.63 s clips for Mono2Binaural."""
    if config["model"] == "mono2binaural":
        return max(256, round(float(params["model"]["mono2binaural"]["clip_s"]) * params["audio"]["sample_rate"]))
    return int(params["scenes"]["segment_samples"])


def variant_config(params: Mapping[str, Any], variant: str) -> VariantConfig:
    system = system_config(params, variant)
    return VariantConfig(
        name=variant,
        system=system,
        segment_samples=_segment_samples(params, system),
        train_seed=stage_seed(params, f"train_scenes_{variant}"),
        val_seed=stage_seed(params, "val_scenes"),
        train=_train(params),
        scenes=scene_config(params),
        scenes_record=dict(params["scenes"]),
    )


def pretrain_config(params: Mapping[str, Any], net: str = "sparse3d") -> PretrainConfig:
    """The vision pre-training of the `net` kind: shapes then the scene pretext (3D), the pretext alone (2D)."""
    cfg = params["pretrain"]
    scene = ScenePretextConfig(
        cfg["scene_iterations"],
        cfg["scene_target"],
        cfg["scene_features"],
        cfg["scene_max_sources"],
        cfg["scene_val_scenes"],
    )
    return PretrainConfig(
        batch_size=cfg["batch_size"],
        iterations=cfg["iterations"],
        lr=cfg["lr"],
        val_every=cfg["val_every"],
        features=cfg["features"],
        seed=stage_seed(params, VISION_NETS[net]),
        vision=vision_sizes(params, net),
        instruments=tuple(params["instruments"]),
        scene=scene,
        scenes=scene_config(params),
    )


def _separation_network(params: Mapping[str, Any]) -> dict[str, Any]:
    """What fixes the separation network and its inputs (stored in its checkpoints)."""
    cfg = params["pretrain_audio"]
    demucs = {k: v for k, v in params["model"]["demucs"].items() if k != "residual"}
    return {
        "sizes": {"vision": dict(params["model"]["vision"]), "audio": demucs},
        "features": cfg["features"],
        "sample_rate": int(params["audio"]["sample_rate"]),
        "voxel_size_m": float(params["scenes"]["voxel_size_m"]),
        "sources": [int(cfg["min_sources"]), int(cfg["max_sources"])],
        "placement": cfg["placement"],
        "seed": stage_seed(params, "init_separation"),
    }


def separation_config(params: Mapping[str, Any]) -> SeparationConfig:
    cfg = params["pretrain_audio"]
    return SeparationConfig(
        network=_separation_network(params),
        mixtures=_mixtures(params),
        batch_size=int(cfg["batch_size"]),
        iterations=int(cfg["iterations"]),
        lr=float(cfg["lr"]),
        val_every=int(cfg["val_every"]),
        val_mixtures=int(cfg["val_mixtures"]),
        pretrained_vision=params["train"]["pretrained_vision"],
        train_seed=stage_seed(params, "separation_mixtures"),
        val_seed=stage_seed(params, "separation_val"),
        scenes=scene_config(params),
        resume_record={k: cfg[k] for k in _SEPARATION_RESUME_KEYS},
    )


def separation_eval_config(params: Mapping[str, Any]) -> SeparationEvalConfig:
    cfg = params["pretrain_audio"]
    return SeparationEvalConfig(
        mixtures=_mixtures(params),
        mixtures_per_n=int(cfg["test_mixtures_per_n"]),
        clip_s=float(cfg["test_clip_s"]),
        seed=stage_seed(params, "separation_test"),
        per_ear_variants=tuple(cfg["per_ear_variants"]),
        scenes=scene_config(params),
    )


def _mixtures(params: Mapping[str, Any]) -> MixtureConfig:
    cfg = params["pretrain_audio"]
    return MixtureConfig(int(cfg["min_sources"]), int(cfg["max_sources"]), cfg["features"], cfg["placement"])
