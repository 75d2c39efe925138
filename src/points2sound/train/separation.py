"""Audio pre-training by visually-conditioned source separation (issue 7; not in the paper).

Mix-and-separate on the mono recordings, as LAVSS pre-trains on MUSIC before binaural
fine-tuning: a mixture of N = min..max sources (distinct instruments of the split, each
a segment of one recording, scaled by 1/N like the scenes), the point cloud of one of the
performers placed where a scene would place it, and that performer's mono signal as the
target. The trained SeparationNet initializes the audio (and vision) network of the
variants whose `init` is `separation`.

Mixture i is drawn from np.random.default_rng([seed, i]) alone (N, the scene spec, the
target, then the augmentation), so a run is reproducible and resumes exactly.
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

from points2sound.config import stage_seed
from points2sound.data.scenes import SceneSources
from points2sound.data.scenes.mixtures import Mixture, MixtureSampler
from points2sound.errors import ParameterError
from points2sound.models.checkpoint import load_checkpoint, save_checkpoint
from points2sound.models.loading import PRETRAIN_KIND, SEPARATION_KIND, build_separation
from points2sound.models.systems import SeparationNet
from points2sound.train.data import BatchPlan, IndexedScenes
from points2sound.train.loop import FitResult, LoopSettings, fit

log = logging.getLogger(__name__)


@dataclass
class MixtureBatch:
    """mono (B, 1, T) mixtures, target (B, 1, T) sources; voxels per example as numpy arrays."""

    mono: torch.Tensor
    target: torch.Tensor
    coords: list[np.ndarray]
    feats: list[np.ndarray]

    def to(self, device: torch.device) -> MixtureBatch:
        return MixtureBatch(self.mono.to(device), self.target.to(device), self.coords, self.feats)


def collate_mixtures(items: Sequence[Mixture]) -> MixtureBatch:
    mono = torch.from_numpy(np.stack([m.mono for m in items]))[:, None]
    target = torch.from_numpy(np.stack([m.sources[m.target] for m in items]))[:, None]
    return MixtureBatch(mono, target, [m.coords for m in items], [m.feats for m in items])


@dataclass
class SeparationTask:
    """L1 between the separated and the true source; validated against the mixture itself as the estimate."""

    system: SeparationNet
    val_batches: Sequence[MixtureBatch]

    def _scene(self, batch: MixtureBatch, device: torch.device) -> Any:
        return self.system.vision.collate(batch.coords, batch.feats, device=device)

    def loss(self, net: nn.Module, batch: MixtureBatch, device: torch.device) -> torch.Tensor:
        b = batch.to(device)
        return self.system.objective(net(b.mono, self._scene(b, device)), b.mono, b.target)

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        was_training = model.training
        model.eval()
        n, l1, l1_mix = 0, 0.0, 0.0
        for batch in self.val_batches:
            b = batch.to(device)
            k = b.mono.shape[0]
            l1 += float(F.l1_loss(model(b.mono, self._scene(b, device)), b.target)) * k
            l1_mix += float(F.l1_loss(b.mono, b.target)) * k
            n += k
        model.train(was_training)
        return {"val_loss": l1 / n, "val_l1_mixture": l1_mix / n}


def separation_config(params: Mapping[str, Any]) -> dict[str, Any]:
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


def pretrain_separation(
    params: Mapping[str, Any],
    dataset_root: Path,
    pretrained_vision: Path | None,
    checkpoint_dir: Path,
    out_path: Path,
    *,
    device: torch.device,
    stop_after: int | None = None,
) -> tuple[FitResult, dict[str, Any]]:
    """Train the separation network on train-split mixtures, keep the best on val-split mixtures, save it."""
    cfg = params["pretrain_audio"]
    config = separation_config(params)
    net = build_separation(config)
    if params["train"]["pretrained_vision"]:
        if pretrained_vision is None:
            raise ParameterError("train.pretrained_vision", "is true but no pre-trained vision checkpoint was given")
        net.vision.load_pretrained(load_checkpoint(pretrained_vision, PRETRAIN_KIND)["model"])
    hrir = params["hrir"]["name"]
    train = MixtureSampler(
        params,
        SceneSources.from_dataset(dataset_root, "train", hrir, require_renders=False),
        stage_seed(params, "separation_mixtures"),
        augment=True,
    )
    val = MixtureSampler(
        params,
        SceneSources.from_dataset(dataset_root, "val", hrir, require_renders=False),
        stage_seed(params, "separation_val"),
        augment=False,
    )
    size = int(cfg["batch_size"])
    val_items = [val[i] for i in range(int(cfg["val_mixtures"]))]
    task = SeparationTask(net, [collate_mixtures(val_items[i : i + size]) for i in range(0, len(val_items), size)])
    plan = BatchPlan(size, size)
    settings = LoopSettings(
        int(cfg["iterations"]), float(cfg["lr"]), int(cfg["val_every"]), max(1, min(int(cfg["val_every"]), 50)), plan
    )
    resume = {**config, **{k: cfg[k] for k in ("batch_size", "iterations", "lr", "val_every", "val_mixtures")}}
    result = fit(
        net,
        task,
        IndexedScenes(train.__getitem__),
        collate_mixtures,
        settings,
        config=resume,
        kind="fit_" + SEPARATION_KIND,
        checkpoint_dir=checkpoint_dir,
        device=device,
        stop_after=stop_after,
        desc="separation",
    )
    if result.stopped_early:
        return result, config
    net.load_state_dict(result.best_state)
    final = task.validate(net, device)
    result.extra = {
        "val_l1": final["val_loss"],
        "val_l1_mixture": final["val_l1_mixture"],
        "parameters": sum(p.numel() for p in net.parameters()),
    }
    save_checkpoint(
        out_path, SEPARATION_KIND, config, model={k: v.cpu() for k, v in net.state_dict().items()}, **result.extra
    )
    log.info(
        "separation pre-training: val L1 %.5f (the mixture itself: %.5f)", final["val_loss"], final["val_l1_mixture"]
    )
    return result, config
