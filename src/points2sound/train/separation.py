"""Audio pre-training by visually-conditioned source separation (not in the paper; README, "Audio pre-training by separation").

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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from points2sound.data.scenes import SceneSources
from points2sound.data.scenes.mixtures import Mixture, MixtureSampler
from points2sound.errors import ParameterError
from points2sound.models.checkpoint import load_checkpoint, save_checkpoint
from points2sound.models.loading import PRETRAIN_KIND, SEPARATION_KIND, build_separation
from points2sound.models.systems import SeparationNet
from points2sound.settings.train import SeparationConfig
from points2sound.train.data import IndexedScenes, SceneBatch, stacked
from points2sound.train.loop import FitResult, fit, pretraining_settings

log = logging.getLogger(__name__)


def collate_mixtures(items: Sequence[Mixture]) -> SceneBatch:
    """Mixtures as a batch: the mono mixture in, the target source (B, 1, T) out, the target's voxels."""
    target = stacked([m.sources[m.target] for m in items])[:, None]
    return SceneBatch(
        stacked([m.mono for m in items])[:, None], target, [m.coords for m in items], [m.feats for m in items]
    )


@dataclass
class SeparationTask:
    """L1 between the separated and the true source; validated against the mixture itself as the estimate."""

    system: SeparationNet
    val_batches: Sequence[SceneBatch]

    def _scene(self, batch: SceneBatch, device: torch.device) -> Any:
        return self.system.vision.collate(batch.coords, batch.feats, device=device)

    def loss(self, net: nn.Module, batch: SceneBatch, device: torch.device) -> torch.Tensor:
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


def pretrain_separation(
    settings: SeparationConfig,
    dataset_root: Path,
    pretrained_vision: Path | None,
    checkpoint_dir: Path,
    out_path: Path,
    *,
    device: torch.device,
    stop_after: int | None = None,
) -> tuple[FitResult, dict[str, Any]]:
    """Train the separation network on train-split mixtures, keep the best on val-split mixtures, save it."""
    config = dict(settings.network)
    net = build_separation(config)
    if settings.pretrained_vision:
        if pretrained_vision is None:
            raise ParameterError("train.pretrained_vision", "is true but no pre-trained vision checkpoint was given")
        net.vision.load_pretrained(load_checkpoint(pretrained_vision, PRETRAIN_KIND)["model"])
    train, task = mixture_sets(settings, dataset_root, net)
    result = fit(
        net,
        task,
        IndexedScenes(train.__getitem__),
        collate_mixtures,
        pretraining_settings(settings.iterations, settings.lr, settings.val_every, settings.batch_size),
        config=settings.resume_config(),
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


def mixture_sets(
    settings: SeparationConfig, dataset_root: Path, net: SeparationNet
) -> tuple[MixtureSampler, SeparationTask]:
    """The training mixtures (augmented, endless) and the task validating on the fixed val-split ones."""
    scenes, mixtures = settings.scenes, settings.mixtures

    def sampler(split: str, seed: int, augment: bool) -> MixtureSampler:
        sources = SceneSources.from_dataset(dataset_root, split, scenes.ir_set, require_renders=False)
        return MixtureSampler(sources, seed, scenes, mixtures, augment=augment)

    train, val = sampler("train", settings.train_seed, True), sampler("val", settings.val_seed, False)
    size = settings.batch_size
    val_items = [val[i] for i in range(settings.val_mixtures)]
    batches = [collate_mixtures(val_items[i : i + size]) for i in range(0, len(val_items), size)]
    return train, SeparationTask(net, batches)
