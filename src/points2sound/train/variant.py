"""Training one variant of the paper (a Points2Sound or Mono2Binaural model) on scenes.

A variant is a named entry of `variants:` in the parameters (model kind, visual
features, loss, mono input). Its run: build the network from `model:`, initialize
the vision trunk from the pre-training checkpoint, train on scenes drawn on the fly
from the train split (augmented), validate on fixed val-split scenes, and keep the
best weights. The saved model records its configuration, so evaluation rebuilds it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from points2sound.data.scenes import Scene, SceneSampler, SceneSources
from points2sound.errors import ParameterError
from points2sound.geometry.voxelize import rotate_voxels_quarter
from points2sound.model_kinds import is_foa
from points2sound.models.checkpoint import load_checkpoint, save_checkpoint
from points2sound.models.loading import MODEL_KIND, PRETRAIN_KIND, SEPARATION_KIND, build_from_config
from points2sound.settings.train import VariantConfig
from points2sound.train.data import BatchPlan, IndexedScenes, SceneBatch, collate_scenes
from points2sound.train.distributed import DistContext
from points2sound.train.loop import FitResult, LoopSettings, fit

log = logging.getLogger(__name__)


def make_sampler(
    run: VariantConfig, sources: SceneSources, seed: int, augment: bool, length: int | None
) -> SceneSampler:
    """The variant's scenes: its clips, mono input and visual features."""
    return SceneSampler(
        sources,
        seed,
        run.scenes.replace(segment_samples=run.segment_samples),
        mono_input=run.system["mono_input"],
        features=run.system["features"],
        augment=augment,
        length=length,
        target=target_kind(run.system),
    )


def target_kind(config: Mapping[str, Any]) -> str:
    """What a variant learns to produce: 'foa' for the FOA model, 'binaural' for the paper's."""
    return "foa" if is_foa(config) else "binaural"


def collate_for(config: Mapping[str, Any]) -> Callable[[Sequence[Scene]], SceneBatch]:
    """The batch collation of a variant's scenes (its target signals)."""
    return functools.partial(collate_scenes, target=target_kind(config))


def mono_copy(mono: torch.Tensor, mono_input: str, target: str = "binaural") -> torch.Tensor:
    """The copy estimate: the mono input in both ears (B, 2, T), halved when s_m = L + R (Mono-Mono); for an
    FOA target, the omnidirectional field, W alone: zero first-order channels (B, 3, T)."""
    if target == "foa":
        return torch.zeros_like(mono).expand(-1, 3, -1)
    scale = 0.5 if mono_input == "sum_lr" else 1.0
    return (mono * scale).expand(-1, 2, -1)


def rotated(batch: SceneBatch, features: str) -> SceneBatch:
    """The same batch with every scene turned by pi/2 (the Rotated-Visual input)."""
    pairs = [rotate_voxels_quarter(c, f, features) for c, f in zip(batch.coords, batch.feats)]
    return SceneBatch(batch.mono, batch.target, [p[0] for p in pairs], [p[1] for p in pairs])


@dataclass
class SceneTask:
    """Loss and validation of a binauralizer on scene batches."""

    system: nn.Module
    config: Mapping[str, Any]
    val_batches: Sequence[SceneBatch]

    def _scene(self, batch: SceneBatch, device: torch.device) -> Any:
        return self.system.vision.collate(batch.coords, batch.feats, device=device)

    def loss(self, net: nn.Module, batch: SceneBatch, device: torch.device) -> torch.Tensor:
        b = batch.to(device)
        return self.system.objective(net(b.mono, self._scene(b, device)), b.mono, b.target)

    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Mean objective and binaural L1 over the validation scenes (eval mode), with the two sanity
        baselines of every learning curve: the L1 of the mono copy and of the scene turned by pi/2."""
        metrics = self.validate_scenes(model, device)
        metrics["val_l1_rotated"] = self.validate_scenes(model, device, rotate=True)["val_l1"]
        return metrics

    @torch.no_grad()
    def validate_scenes(self, model: nn.Module, device: torch.device, rotate: bool = False) -> dict[str, float]:
        """Mean objective, binaural L1 and the copy's L1 over the validation scenes, optionally turned."""
        was_training = model.training
        model.eval()
        n, loss, l1, l1_copy = 0, 0.0, 0.0, 0.0
        for batch in self.val_batches:
            b = (rotated(batch, self.config["features"]) if rotate else batch).to(device)
            scene = self._scene(b, device)
            k = b.mono.shape[0]
            loss += float(self.system.loss(b.mono, scene, b.target)) * k
            l1 += float(self.system.l1(b.mono, scene, b.target)) * k
            copy = mono_copy(b.mono, self.config["mono_input"], target_kind(self.config))
            l1_copy += float(F.l1_loss(copy, b.target)) * k
            n += k
        model.train(was_training)
        return {"val_loss": loss / n, "val_l1": l1 / n, "val_l1_mono_copy": l1_copy / n}


def validation_batches(
    scenes: Sequence[Scene], batch_size: int, collate: Callable[[Sequence[Scene]], SceneBatch] = collate_scenes
) -> list[SceneBatch]:
    return [collate(scenes[i : i + batch_size]) for i in range(0, len(scenes), batch_size)]


def train_variant(
    run: VariantConfig,
    dataset_root: Path,
    pretrained: Path | None,
    checkpoint_dir: Path,
    *,
    device: torch.device,
    dist: DistContext | None = None,
    stop_after: int | None = None,
    pretrained_vision: Path | None = None,
) -> tuple[FitResult, dict[str, Any], nn.Module, SceneTask]:
    """Train one variant; returns the fit result, its system config, the best model and the task.

    `pretrained` is the checkpoint the variant's `init` names: the vision pre-training
    (`vision`, used when train.pretrained_vision is true) or the separation pre-training
    (`separation`: vision and audio weights; `separation_audio`: its audio weights, and the vision
    net from `pretrained_vision`, the vision pre-training, as `vision` variants have it).
    """
    dist = dist or DistContext()
    config, tcfg = dict(run.system), run.train
    system = build_from_config(config)
    head = _initialize(system, run, pretrained, pretrained_vision)
    train_sampler, task = scene_sets(run, system, dataset_root)
    settings = LoopSettings(
        tcfg.iterations,
        tcfg.lr,
        tcfg.val_every,
        tcfg.log_every,
        BatchPlan(tcfg.batch_size, tcfg.micro_batch_size, dist.world_size),
        tcfg.workers,
        lr_scales=vision_lr_scales(float(tcfg.vision_lr_scale), head),
    )
    started_from = _file_digest(pretrained) if tcfg.pretrained_vision or config["init"] != "vision" else None
    result = fit(
        system,
        task,
        IndexedScenes(train_sampler.__getitem__),
        collate_for(config),
        settings,
        config=run.resume_config(started_from),
        kind=f"train_{run.name}",
        checkpoint_dir=checkpoint_dir,
        device=device,
        dist=dist,
        stop_after=stop_after,
        desc=run.name,
    )
    system.load_state_dict(result.best_state)
    return result, config, system, task


def scene_sets(run: VariantConfig, system: nn.Module, dataset_root: Path) -> tuple[SceneSampler, SceneTask]:
    """The training scenes (augmented, endless) and the task validating on the fixed val-split scenes."""
    ir_set, count = run.scenes.ir_set, run.train.val_scenes
    train = make_sampler(run, SceneSources.from_dataset(dataset_root, "train", ir_set), run.train_seed, True, None)
    val = make_sampler(run, SceneSources.from_dataset(dataset_root, "val", ir_set), run.val_seed, False, count)
    batches = validation_batches([val[i] for i in range(count)], run.train.micro_batch_size, collate_for(run.system))
    return train, SceneTask(system, run.system, batches)


def _initialize(system: nn.Module, run: VariantConfig, pretrained: Path | None, pretrained_vision: Path | None) -> bool:
    """Load the weights the variant's `init` names; returns whether the vision head came pre-trained."""
    init, variant = run.system["init"], run.name
    head = init == "separation"  # a separation checkpoint holds the whole vision net
    if init in ("separation", "separation_audio"):
        _init_from_separation(system, variant, pretrained, run.system["transfer"])
    if init == "separation_audio" or (init == "vision" and run.train.pretrained_vision):
        vision_ckpt = pretrained_vision if init == "separation_audio" else pretrained
        if vision_ckpt is None:
            name, flag = (
                (f"variants.{variant}.init", "is 'separation_audio'")
                if init == "separation_audio"
                else ("train.pretrained_vision", "is true")
            )
            raise ParameterError(name, f"{flag} but no vision pre-training checkpoint was given")
        blob = load_checkpoint(vision_ckpt, PRETRAIN_KIND)
        head = system.vision.load_pretrained(blob["model"])
        log.info(
            "vision %s initialized from %s (test accuracy %.3f)",
            "trunk and head" if head else "trunk",
            vision_ckpt,
            blob.get("test_accuracy", float("nan")),
        )
    return head


def vision_lr_scales(scale: float, head_pretrained: bool) -> tuple[tuple[str, float], ...]:
    """The vision net learns at `scale` times the rate, except a head that starts untrained (Mono2Binaural's
    512-wide one, or any head when the pre-training had none of this width): it learns at the full rate."""
    return (("vision.fc.", scale if head_pretrained else 1.0), ("vision.", scale))


def _init_from_separation(system: nn.Module, variant: str, separation: Path | None, rule: str) -> None:
    """Vision and audio weights from the separation pre-training (whose vision came from the shape pre-training),
    except those the transfer `rule` keeps fresh."""
    from points2sound.models.systems import Points2SoundNet, init_from_separation

    if not isinstance(system, Points2SoundNet):
        raise ParameterError(f"variants.{variant}.init", "'separation' needs a points2sound model (a Demucs)")
    if separation is None:
        raise ParameterError(
            f"variants.{variant}.init", "is 'separation' but no separation checkpoint was given (--pretrained)"
        )
    blob = load_checkpoint(separation, SEPARATION_KIND)
    widened = init_from_separation(system, blob["model"], rule)
    log.info(
        "vision and audio initialized from %s (val L1 %.5f, transfer %s); copied to both ears: %s",
        separation,
        blob.get("val_l1", float("nan")),
        rule,
        widened,
    )


def _file_digest(path: Path | None) -> str | None:
    import hashlib

    if path is None:
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def summarize(result: FitResult, task: SceneTask, device: torch.device) -> dict[str, Any]:
    """Validation figures of the best weights, with the two sanity baselines (issue: scene guidance).

    Only what the parameters and data determine: timing, memory and the device are run facts
    (`result.timing()`, the run record), so a resumed run's summary equals an uninterrupted one's."""
    plain = task.validate(task.system, device)
    return {
        "best_iteration": result.best_iteration,
        "best_val_loss": result.best_val,
        "val_l1": plain["val_l1"],
        "val_l1_rotated": plain["val_l1_rotated"],
        "val_l1_mono_copy": plain["val_l1_mono_copy"],
        "iterations": result.iterations_done,
        "parameters": sum(p.numel() for p in task.system.parameters()),
    }


def save_model(path: Path, system: nn.Module, config: Mapping[str, Any], summary: Mapping[str, Any]) -> None:
    """The best weights with their config: what evaluation loads (weights_only)."""
    save_checkpoint(
        path, MODEL_KIND, config, model={k: v.cpu() for k, v in system.state_dict().items()}, summary=dict(summary)
    )
