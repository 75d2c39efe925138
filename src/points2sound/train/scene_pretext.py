"""Self-supervised scene pretext for the vision network: where do the performers stand?

In a scene every performer faces the listener, so with colour features (rgb-depth) a
performer's orientation is what gives its azimuth away: sparse convolutions and global
max pooling see no absolute position. The paper's network learns this from the audio
loss alone over 120k iterations; on the demo's CPU budget it does not (the headline model
ended at the Mono-Mono copy, while the same Demucs with the true azimuth as its condition
beats the copy within 250 steps: benchmarks/diag_conditioning.py).

This pretext trains the binaural model's own vision network (trunk, K-wide head, global
max pool: the feature h) with a linear read-out on the point clouds of training scenes,
built exactly as the training scenes are (N performers at the render azimuths and 1-3 m,
augmented, voxelized), and asks which azimuths hold a performer (multi-label; with
`instrument_azimuth`, which instrument stands where). The labels are the placement the
pretext itself made: no annotation. Since each performer lands anywhere on the voxel
grid, the grid phase carries no label (an earlier pretext that turned performers about
their own origin learned the grid phase: 98 % on its own validation, 17 % on test
scenes). Not in the paper; off in the paper profile (`pretrain.scene_iterations: 0`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from points2sound.data.scenes import SceneSources, sample_scene_spec, scene_cloud
from points2sound.errors import ParameterError
from points2sound.geometry.voxelize import scene_features, voxelize
from points2sound.models.systems import build_vision
from points2sound.settings.scenes import SceneConfig
from points2sound.settings.train import PretrainConfig
from points2sound.train.data import IndexedScenes
from points2sound.train.loop import FitResult, fit, pretraining_settings

log = logging.getLogger(__name__)
TARGETS = ("azimuth", "instrument_azimuth")


@dataclass
class PlacedScene:
    """Voxels of one scene cloud, its label vector and the azimuth of its first source."""

    coords: np.ndarray
    feats: np.ndarray
    labels: np.ndarray
    azimuth_index: int
    n_sources: int


@dataclass(frozen=True)
class PlacementLabels:
    """Label layout: one slot per azimuth, or per (instrument, azimuth) pair."""

    instruments: tuple[str, ...]
    azimuths_deg: tuple[int, ...]
    target: str

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ParameterError("pretrain.scene_target", f"must be one of {TARGETS}, got {self.target!r}")

    @property
    def size(self) -> int:
        return len(self.azimuths_deg) * (len(self.instruments) if self.target == "instrument_azimuth" else 1)

    def vector(self, sources: Sequence[Any]) -> np.ndarray:
        y = np.zeros(self.size, np.float32)
        for s in sources:
            a = self.azimuths_deg.index(int(s.azimuth_deg))
            y[
                a
                + (
                    self.instruments.index(s.instrument) * len(self.azimuths_deg)
                    if self.target == "instrument_azimuth"
                    else 0
                )
            ] = 1.0
        return y

    def azimuth_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, labels) -> (B, azimuths): the best instrument's logit at each azimuth."""
        return logits.reshape(len(logits), -1, len(self.azimuths_deg)).amax(1)


class PlacedScenes:
    """Item i: the cloud of scene i of a seeded scene draw (spec and augmentation from (seed, i))."""

    def __init__(
        self,
        sources: SceneSources,
        labels: PlacementLabels,
        scenes: SceneConfig,
        *,
        seed: int,
        features: str,
        max_sources: int,
        augment: bool,
        n_sources: int | None = None,
    ):
        self.sources, self.labels, self.seed = sources, labels, int(seed)
        self.features, self.n_sources = features, n_sources
        self.augment = scenes.augment if augment else None
        # scenes of 1..max_sources at the labels' azimuths; no audio is read
        self.scenes = scenes.replace(max_sources=max_sources, azimuths_deg=labels.azimuths_deg, segment_samples=1)

    def __getitem__(self, i: int) -> PlacedScene:
        rng = np.random.default_rng([self.seed, int(i)])
        spec = sample_scene_spec(rng, self.sources, self.scenes, n_sources=self.n_sources)
        cloud = scene_cloud(
            spec,
            self.sources,
            augment=self.augment,
            rng=rng if self.augment else None,
            listener_height_m=self.scenes.listener_height_m,
        )
        coords, feats = voxelize(cloud.xyz, scene_features(cloud, self.features), self.scenes.voxel_size_m)
        first = self.labels.azimuths_deg.index(int(spec.sources[0].azimuth_deg))
        return PlacedScene(coords, feats, self.labels.vector(spec.sources), first, spec.n_sources)


def collate_placed(
    items: Sequence[PlacedScene],
) -> tuple[list[np.ndarray], list[np.ndarray], torch.Tensor, torch.Tensor]:
    return (
        [s.coords for s in items],
        [s.feats for s in items],
        torch.from_numpy(np.stack([s.labels for s in items])),
        torch.tensor([s.azimuth_index for s in items]),
    )


class PlacementNet(nn.Module):
    """The binaural model's vision network (h: (B, K)) and a linear read-out (B, labels)."""

    def __init__(self, vision: nn.Module, n_labels: int, seed: int):
        super().__init__()
        self.vision = vision
        self.head = nn.Linear(vision.out_channels, n_labels)
        generator = torch.Generator().manual_seed(int(seed))
        bound = 1.0 / np.sqrt(vision.out_channels)
        with torch.no_grad():
            self.head.weight.uniform_(-bound, bound, generator=generator)
            self.head.bias.zero_()

    def forward(self, x: Any) -> torch.Tensor:
        return self.head(self.vision(x))


@dataclass
class PlacementTask:
    """BCE on the label vectors; validation also scores the N = 1 azimuth (8-way) accuracy."""

    model: PlacementNet
    labels: PlacementLabels
    val: Sequence[Any]  # batches of mixed-N scenes (loss)
    val_single: Sequence[Any]  # batches of N = 1 scenes (accuracy)

    def loss(self, net: nn.Module, batch: Any, device: torch.device) -> torch.Tensor:
        coords, feats, y, _ = batch
        return F.binary_cross_entropy_with_logits(
            net(self.model.vision.collate(coords, feats, device=device)), y.to(device)
        )

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        was_training = model.training
        model.eval()
        loss, n = 0.0, 0
        for coords, feats, y, _ in self.val:
            logits = model(self.model.vision.collate(coords, feats, device=device))
            loss += float(F.binary_cross_entropy_with_logits(logits, y.to(device), reduction="sum")) / y.shape[1]
            n += len(y)
        accuracy = azimuth_accuracy(model, self.labels, self.val_single, device)
        model.train(was_training)
        return {"val_loss": loss / n, "val_azimuth_accuracy": accuracy}


@torch.no_grad()
def azimuth_accuracy(
    model: PlacementNet, labels: PlacementLabels, batches: Sequence[Any], device: torch.device
) -> float:
    """Share of N = 1 scenes whose azimuth the read-out ranks first."""
    right, n = 0, 0
    for coords, feats, _, azimuth in batches:
        logits = labels.azimuth_logits(model(model.vision.collate(coords, feats, device=device)))
        right += int((logits.argmax(1).cpu() == azimuth).sum())
        n += len(azimuth)
    return right / max(n, 1)


@torch.no_grad()
def unit_feature_scale(model: PlacementNet, batches: Sequence[Any], device: torch.device) -> torch.Tensor:
    """Scale the K-wide head so that h has unit standard deviation per channel over `batches`; returns the
    standard deviations it divided by.

    The read-out drives h to tens (std about 5, peaks about 30), and a fresh Demucs conditioned on
    that starts far from the copy (val L1 0.040 against 0.0315 at 250 steps, measured). Both vision
    nets' heads commute with a positive per-channel factor (`scale_feature`), so h keeps what it knows;
    the read-out's weights take the inverse factor, so its logits do not change.
    """
    was_training = model.training
    model.eval()
    h = torch.cat([model.vision(model.vision.collate(c, f, device=device)) for c, f, _, _ in batches])
    model.train(was_training)
    std = h.std(0).clamp_min(1e-3)
    model.vision.scale_feature(std)
    model.head.weight.mul_(std)
    return std.cpu()


def _batches(items: PlacedScenes, count: int, size: int) -> list[Any]:
    return [collate_placed([items[i] for i in range(j, min(j + size, count))]) for j in range(0, count, size)]


def placement_sets(settings: PretrainConfig, dataset_root: Path, labels: PlacementLabels) -> dict[str, Any]:
    """Training (augmented, endless), validation (mixed N, and N = 1) and test (N = 1) sets."""
    scenes, seed = settings.scenes, settings.seed

    def make(split: str, s: int, augment: bool, n: int | None) -> PlacedScenes:
        sources = SceneSources.from_dataset(dataset_root, split, scenes.ir_set, require_renders=False)
        return PlacedScenes(
            sources,
            labels,
            scenes,
            seed=s,
            features=settings.scene.features,
            max_sources=settings.scene.max_sources,
            augment=augment,
            n_sources=n,
        )

    return {
        "train": make("train", seed, True, None),
        "val": make("val", seed + 1, False, None),
        "val_single": make("val", seed + 2, False, 1),
        "test_single": make("test", seed + 3, False, 1),
    }


def scene_vision(settings: PretrainConfig) -> nn.Module:
    """The binaural model's vision net with its K-wide head, as the pretext starts it (seeded)."""
    return build_vision(settings.vision, int(settings.vision["out_channels"]), settings.seed + 1)


def scene_pretext(
    settings: PretrainConfig,
    vision: nn.Module,
    dataset_root: Path | None,
    checkpoint_dir: Path,
    device: torch.device,
    config: Mapping[str, Any],
    *,
    stop_after: int | None = None,
) -> tuple[nn.Module, FitResult, dict[str, Any]]:
    """Train `vision` (`scene_vision`: the 3D net with the shape-pretrained trunk, or the 2D net), with the
    binaural model's K-wide head, on scene placement.

    Returns the vision network (trunk and head: what the variants load), the loop's result and the pretext's
    summary figures. `config`: what the pretext's checkpoints must share (the network's config).
    """
    if dataset_root is None:
        raise ParameterError("pretrain.scene_iterations", "the scene pretext needs the dataset (--dataset)")
    pretext, seed = settings.scene, settings.seed
    azimuths = tuple(int(a) for a in settings.scenes.azimuths_deg)
    labels = PlacementLabels(settings.instruments, azimuths, pretext.target)
    sets = placement_sets(settings, dataset_root, labels)
    model = PlacementNet(vision, labels.size, seed + 2)
    count, size = int(pretext.val_scenes), int(settings.batch_size)
    task = PlacementTask(model, labels, _batches(sets["val"], count, size), _batches(sets["val_single"], count, size))
    iters = int(pretext.iterations)
    result: FitResult = fit(
        model,
        task,
        IndexedScenes(sets["train"].__getitem__),
        collate_placed,
        pretraining_settings(iters, settings.lr, min(settings.val_every, iters), size),
        config={**config, "scene_pretext": settings.scene_pretext_config()},
        kind="fit_pretrain_scene",
        checkpoint_dir=checkpoint_dir,
        device=device,
        stop_after=stop_after,
        desc="scene pretext",
    )
    if result.stopped_early:
        return model.vision.cpu(), result, {}
    model.load_state_dict(result.best_state)
    summary = _pretext_summary(model, task, _batches(sets["test_single"], count, size), result, iters, device)
    log.info(
        "scene pretext: N = 1 azimuth accuracy %.3f (val), %.3f (test), chance %.3f",
        summary["scene_val_azimuth_accuracy"] or -1.0,
        summary["scene_test_azimuth_accuracy"],
        summary["scene_azimuth_chance"],
    )
    return model.vision.cpu(), result, summary


def _pretext_summary(
    model: PlacementNet,
    task: PlacementTask,
    test: Sequence[Any],
    result: FitResult,
    iterations: int,
    device: torch.device,
) -> dict[str, Any]:
    """The pretext's figures; first scales the features h to unit spread (`unit_feature_scale`)."""
    labels = task.labels
    scale = unit_feature_scale(model, task.val, device)
    accuracy = azimuth_accuracy(model, labels, test, device)
    best = [r for r in result.history if r.get("iteration") == result.best_iteration and "val_azimuth_accuracy" in r]
    return {
        "scene_val_azimuth_accuracy": best[0]["val_azimuth_accuracy"] if best else None,
        "scene_test_azimuth_accuracy": accuracy,
        "scene_azimuth_chance": 1.0 / len(labels.azimuths_deg),
        "scene_iterations": iterations,
        "scene_target": labels.target,
        "scene_feature_std_before_scaling": [round(float(x), 6) for x in scale],
    }
