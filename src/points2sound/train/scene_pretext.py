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
from points2sound.geometry.augment import AugmentParams
from points2sound.geometry.voxelize import scene_features, voxelize
from points2sound.models.vision import SparseResNet18
from points2sound.train.data import BatchPlan, IndexedScenes
from points2sound.train.loop import FitResult, LoopSettings, fit

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
        *,
        seed: int,
        voxel_size: float,
        features: str,
        max_sources: int,
        distance_range: tuple[float, float],
        fps: float,
        listener_height_m: float,
        augment: AugmentParams | None,
        n_sources: int | None = None,
    ):
        self.sources, self.labels, self.seed = sources, labels, int(seed)
        self.voxel_size, self.features, self.augment = voxel_size, features, augment
        self.n_sources, self.listener_height_m = n_sources, listener_height_m
        self.spec_kwargs = dict(
            max_sources=max_sources,
            azimuths_deg=labels.azimuths_deg,
            distance_range=distance_range,
            segment_samples=1,
            fps=fps,
        )  # no audio is read

    def __getitem__(self, i: int) -> PlacedScene:
        rng = np.random.default_rng([self.seed, int(i)])
        spec = sample_scene_spec(rng, self.sources, n_sources=self.n_sources, **self.spec_kwargs)
        cloud = scene_cloud(
            spec,
            self.sources,
            augment=self.augment,
            rng=rng if self.augment else None,
            listener_height_m=self.listener_height_m,
        )
        coords, feats = voxelize(cloud.xyz, scene_features(cloud, self.features), self.voxel_size)
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

    def __init__(self, vision: SparseResNet18, n_labels: int, seed: int):
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
    that starts far from the copy (val L1 0.040 against 0.0315 at 250 steps, measured). Max pooling
    commutes with a positive per-channel factor, so h keeps what it knows; the read-out's weights take
    the inverse factor, so its logits do not change.
    """
    was_training = model.training
    model.eval()
    h = torch.cat([model.vision(model.vision.collate(c, f, device=device)) for c, f, _, _ in batches])
    model.train(was_training)
    std = h.std(0).clamp_min(1e-3)
    model.vision.fc.kernel.div_(std)
    model.head.weight.mul_(std)
    return std.cpu()


def _batches(items: PlacedScenes, count: int, size: int) -> list[Any]:
    return [collate_placed([items[i] for i in range(j, min(j + size, count))]) for j in range(0, count, size)]


def placement_sets(
    params: Mapping[str, Any], dataset_root: Path, seed: int, labels: PlacementLabels, features: str
) -> dict[str, Any]:
    """Training (augmented, endless), validation (mixed N, and N = 1) and test (N = 1) sets."""
    cfg, scenes = params["pretrain"], params["scenes"]
    hrir = params["hrir"]["name"]

    def make(split: str, s: int, augment: bool, n: int | None) -> PlacedScenes:
        sources = SceneSources.from_dataset(dataset_root, split, hrir, require_renders=False)
        return PlacedScenes(
            sources,
            labels,
            seed=s,
            voxel_size=scenes["voxel_size_m"],
            features=features,
            max_sources=cfg["scene_max_sources"],
            distance_range=tuple(scenes["distance_range_m"]),
            fps=params["dataset"]["fps"],
            listener_height_m=scenes["listener_height_m"],
            augment=AugmentParams(**scenes["augment"]) if augment else None,
            n_sources=n,
        )

    return {
        "train": make("train", seed, True, None),
        "val": make("val", seed + 1, False, None),
        "val_single": make("val", seed + 2, False, 1),
        "test_single": make("test", seed + 3, False, 1),
    }


def scene_pretext(
    params: Mapping[str, Any],
    trunk_state: Mapping[str, torch.Tensor],
    dataset_root: Path | None,
    checkpoint_dir: Path,
    device: torch.device,
    seed: int,
    config: Mapping[str, Any],
) -> tuple[SparseResNet18, dict[str, Any], dict[str, Any]]:
    """Fine-tune the shape-pretrained trunk, with the binaural model's K-wide head, on scene placement.

    Returns the vision network (trunk and head: what the variants load), its summary
    figures and its run-record facts (timing).
    """
    cfg = params["pretrain"]
    if dataset_root is None:
        raise ParameterError("pretrain.scene_iterations", "the scene pretext needs the dataset (--dataset)")
    labels = PlacementLabels(
        tuple(params["instruments"]), tuple(int(a) for a in params["render"]["azimuths_deg"]), cfg["scene_target"]
    )
    sets = placement_sets(params, dataset_root, seed, labels, cfg["scene_features"])
    vision_cfg = params["model"]["vision"]
    vision = SparseResNet18(
        3,
        int(vision_cfg["out_channels"]),
        tuple(vision_cfg["planes"]),
        tuple(vision_cfg["layers"]),
        stem_kernel=int(vision_cfg.get("stem_kernel", 5)),
        backend=vision_cfg.get("backend", "torch"),
        seed=seed + 1,
    )
    vision.load_backbone(trunk_state)
    model = PlacementNet(vision, labels.size, seed + 2)
    count, size = int(cfg["scene_val_scenes"]), int(cfg["batch_size"])
    task = PlacementTask(model, labels, _batches(sets["val"], count, size), _batches(sets["val_single"], count, size))
    iters = int(cfg["scene_iterations"])
    plan = BatchPlan(size, size)
    settings = LoopSettings(iters, cfg["lr"], min(cfg["val_every"], iters), max(1, min(cfg["val_every"], 50)), plan)
    resume = {**config, "scene_pretext": scene_pretext_config(params)}
    result: FitResult = fit(
        model,
        task,
        IndexedScenes(sets["train"].__getitem__),
        collate_placed,
        settings,
        config=resume,
        kind="fit_pretrain_scene",
        checkpoint_dir=checkpoint_dir,
        device=device,
        desc="scene pretext",
    )
    model.load_state_dict(result.best_state)
    scale = unit_feature_scale(model, task.val, device)
    test = azimuth_accuracy(model, labels, _batches(sets["test_single"], count, size), device)
    best = [r for r in result.history if r.get("iteration") == result.best_iteration and "val_azimuth_accuracy" in r]
    summary = {
        "scene_val_azimuth_accuracy": best[0]["val_azimuth_accuracy"] if best else None,
        "scene_test_azimuth_accuracy": test,
        "scene_azimuth_chance": 1.0 / len(labels.azimuths_deg),
        "scene_iterations": iters,
        "scene_target": labels.target,
        "scene_feature_std_before_scaling": [round(float(x), 6) for x in scale],
    }
    log.info(
        "scene pretext: N = 1 azimuth accuracy %.3f (val), %.3f (test), chance %.3f",
        summary["scene_val_azimuth_accuracy"] or -1.0,
        test,
        summary["scene_azimuth_chance"],
    )
    return model.vision.cpu(), summary, {f"scene_{k}": v for k, v in result.timing().items()}


def scene_pretext_config(params: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that fix the pretext's result (stored in the checkpoint's config)."""
    cfg = params["pretrain"]
    keys = (
        "scene_iterations",
        "scene_target",
        "scene_features",
        "scene_max_sources",
        "scene_val_scenes",
        "batch_size",
        "lr",
    )
    return {k: cfg[k] for k in keys}
