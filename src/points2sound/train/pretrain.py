"""Vision pre-training: shape classification with the sparse ResNet18 (paper Sec. 3.5).

The paper pre-trains on ModelNet40 (points from mesh surfaces, voxel 0.02 m); the
demo profile on the embedded shapes, which share ModelNet's layout
(<class>/<shape>.ply, splits/{train,test}.csv). ModelNet has no colours, so the
input features are the shape's centred metric coordinates. A seeded tenth of the
training shapes is held out for validation (ModelNet has no val split); the test
split is scored once, with the best weights. Training shapes are turned by up to
+-15 deg about the vertical axis and scaled by U(0.9, 1.1), drawn from (seed, index):
no full turns, since ModelNet is aligned and the binaural task needs features that see
which way a performer faces (their orientation gives away their azimuth).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from points2sound.errors import InputFileError
from points2sound.geometry.pointcloud import read_ply
from points2sound.geometry.transforms import rotation_y
from points2sound.geometry.voxelize import voxelize
from points2sound.models.checkpoint import save_checkpoint
from points2sound.models.vision import SparseResNetClassifier
from points2sound.settings.train import PretrainConfig
from points2sound.train.data import IndexedScenes
from points2sound.train.loop import FitResult, fit, pretraining_settings

log = logging.getLogger(__name__)
KIND = "pretrain_vision"


def _read_split(shapes_root: Path, split: str) -> pd.DataFrame:
    path = shapes_root / "splits" / f"{split}.csv"
    if not path.is_file():
        raise InputFileError(
            path, "shape index not found", "run the embed-shapes stage, or convert ModelNet40 (data fetch modelnet40)"
        )
    table = pd.read_csv(path)
    if not {"shape", "class", "path"} <= set(table.columns) or table.empty:
        raise InputFileError(path, "needs rows with columns shape, class, path")
    return table


@dataclass
class Shape:
    coords: np.ndarray
    feats: np.ndarray
    label: int


class ShapeSet:
    """Shapes of a split as voxel grids; item i of an augmented set is a fresh draw from (seed, i)."""

    def __init__(
        self,
        shapes_root: Path,
        table: pd.DataFrame,
        classes: Sequence[str],
        voxel_size: float,
        seed: int,
        augment: bool,
    ):
        self.voxel_size, self.seed, self.augment = voxel_size, seed, augment
        self.labels = [classes.index(c) for c in table["class"]]
        self.points = []
        for rel in table["path"]:
            xyz = read_ply(shapes_root / rel).xyz.astype(np.float64)
            self.points.append(xyz - xyz.mean(axis=0))

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, i: int) -> Shape:
        n = len(self.points)
        k = i % n
        xyz = self.points[k]
        if self.augment:
            rng = np.random.default_rng([self.seed, i])
            k = int(np.random.default_rng([self.seed, i // n]).permutation(n)[i % n])  # epoch-wise shuffle
            # small turns only: ModelNet is aligned, and the binaural task needs orientation-aware features
            xyz = self.points[k] @ rotation_y(rng.uniform(-np.pi / 12, np.pi / 12)).T * rng.uniform(0.9, 1.1)
        coords, feats = voxelize(xyz, xyz.astype(np.float32), self.voxel_size)
        return Shape(coords, feats, self.labels[k])


def collate_shapes(items: Sequence[Shape]) -> tuple[list[np.ndarray], list[np.ndarray], torch.Tensor]:
    return [s.coords for s in items], [s.feats for s in items], torch.tensor([s.label for s in items])


@dataclass
class ShapeTask:
    model: SparseResNetClassifier
    val: Sequence[tuple[list[np.ndarray], list[np.ndarray], torch.Tensor]]

    def loss(self, net: nn.Module, batch: Any, device: torch.device) -> torch.Tensor:
        coords, feats, labels = batch
        return F.cross_entropy(net(self.model.collate(coords, feats, device=device)), labels.to(device))

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        was_training = model.training
        model.eval()
        n, loss, correct = 0, 0.0, 0
        for coords, feats, labels in self.val:
            logits = model(self.model.collate(coords, feats, device=device))
            labels = labels.to(device)
            loss += float(F.cross_entropy(logits, labels, reduction="sum"))
            correct += int((logits.argmax(1) == labels).sum())
            n += len(labels)
        model.train(was_training)
        return {"val_loss": loss / n, "val_accuracy": correct / n}


def _batches(items: ShapeSet, size: int) -> list[Any]:
    return [collate_shapes([items[i] for i in range(j, min(j + size, len(items)))]) for j in range(0, len(items), size)]


def pretrain_vision(
    settings: PretrainConfig,
    shapes_root: Path,
    checkpoint_dir: Path,
    out_path: Path,
    *,
    device: torch.device,
    stop_after: int | None = None,
    dataset_root: Path | None = None,
) -> tuple[FitResult, dict[str, Any]]:
    """Train the classifier, score the test split with the best weights, then (with `pretrain.scene_iterations`)
    the scene pretext; write the checkpoint."""
    train_table, test_table = _read_split(shapes_root, "train"), _read_split(shapes_root, "test")
    classes = sorted(set(train_table["class"]) | set(test_table["class"]))
    train, val, test = shape_sets(settings, shapes_root, train_table, test_table, classes)
    config = settings.checkpoint_config(classes)
    model = _classifier(settings, config)
    result = fit(
        model,
        ShapeTask(model, _batches(val, settings.batch_size)),
        IndexedScenes(train.__getitem__),
        collate_shapes,
        pretraining_settings(settings.iterations, settings.lr, settings.val_every, settings.batch_size),
        config=settings.resume_config(config),
        kind="fit_" + KIND,
        checkpoint_dir=checkpoint_dir,
        device=device,
        stop_after=stop_after,
        desc="pretrain",
    )
    model.load_state_dict(result.best_state)
    test_metrics = ShapeTask(model, _batches(test, settings.batch_size)).validate(model, device)
    result.extra = {
        "test_accuracy": test_metrics["val_accuracy"],
        "test_loss": test_metrics["val_loss"],
        "chance_accuracy": 1.0 / len(classes),
        "train_shapes": len(train),
        "val_shapes": len(val),
        "test_shapes": len(test),
    }
    if settings.scene.iterations and not result.stopped_early:
        from points2sound.train.scene_pretext import scene_pretext, scene_vision

        vision = scene_vision(settings)
        vision.load_backbone(model.state_dict())
        model, scene_result, figures = scene_pretext(
            settings, vision, dataset_root, checkpoint_dir / "scene", device, config
        )
        result.extra.update(figures)
        result.facts.update({f"scene_{k}": v for k, v in scene_result.timing().items()})
        config = settings.with_scene_pretext(config)
    if not result.stopped_early:
        weights = {k: v.cpu() for k, v in model.state_dict().items()}
        save_checkpoint(out_path, KIND, config, model=weights, test_accuracy=result.extra["test_accuracy"])
    log.info(
        "pre-training: test accuracy %.3f over %d classes (chance %.3f)",
        result.extra["test_accuracy"],
        len(classes),
        1.0 / len(classes),
    )
    return result, config


def _classifier(settings: PretrainConfig, config: Mapping[str, Any]) -> SparseResNetClassifier:
    return SparseResNetClassifier(
        3,
        len(config["classes"]),
        tuple(config["planes"]),
        tuple(config["layers"]),
        stem_kernel=config["stem_kernel"],
        backend=settings.backend,
        seed=settings.seed,
    )


def shape_sets(
    settings: PretrainConfig,
    shapes_root: Path,
    train_table: pd.DataFrame,
    test_table: pd.DataFrame,
    classes: Sequence[str],
) -> tuple[ShapeSet, ShapeSet, ShapeSet]:
    """Training (augmented), validation (a seeded tenth of the training shapes, at least one) and test shapes."""
    seed = settings.seed
    rng = np.random.default_rng(seed)
    held = rng.random(len(train_table)) < 0.1
    if held.all() or not held.any():
        held = np.zeros(len(train_table), bool)
        held[rng.integers(len(train_table))] = True
    vox = settings.voxel_size_m
    return (
        ShapeSet(shapes_root, train_table[~held], classes, vox, seed, augment=True),
        ShapeSet(shapes_root, train_table[held], classes, vox, seed, augment=False),
        ShapeSet(shapes_root, test_table, classes, vox, seed, augment=False),
    )
