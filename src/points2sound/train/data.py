"""Batches for training: which scenes an iteration uses, and their tensors.

Scene indices are a pure function of (iteration, micro-step, rank): the global
batch of iteration `it` is scenes it*B .. it*B + B - 1 of the seeded sampler,
cut into micro-batches of b scenes, micro-batch m of accumulation step s going
to rank r as slot s * world + r. So a run resumed at any iteration, or run with
another number of processes (same global batch), sees exactly the same scenes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from points2sound.errors import ParameterError


@dataclass(frozen=True)
class BatchPlan:
    """Global batch B split into micro-batches of b over `world` processes."""

    batch_size: int
    micro_batch_size: int
    world_size: int = 1

    def __post_init__(self) -> None:
        if self.batch_size % (self.micro_batch_size * self.world_size):
            raise ParameterError(
                "train.micro_batch_size",
                f"batch_size {self.batch_size} is not a multiple of micro_batch_size {self.micro_batch_size} "
                f"x {self.world_size} process(es)",
            )

    @property
    def accumulation(self) -> int:
        """Micro-batches each process accumulates per optimizer step."""
        return self.batch_size // (self.micro_batch_size * self.world_size)

    def indices(self, iteration: int, rank: int = 0) -> list[list[int]]:
        """Scene indices of each of this rank's micro-batches at `iteration`."""
        b = self.micro_batch_size
        start = iteration * self.batch_size
        return [
            list(range(start + (s * self.world_size + rank) * b, start + (s * self.world_size + rank + 1) * b))
            for s in range(self.accumulation)
        ]


@dataclass
class SceneBatch:
    """mono (B, 1, T) inputs and targets (B, C, T), float32: a scene's binaural signal (C = 2), its ambiX
    field's Y, Z, X (C = 3) or a mixture's source to separate (C = 1); voxels per example as numpy arrays."""

    mono: torch.Tensor
    target: torch.Tensor
    coords: list[np.ndarray]
    feats: list[np.ndarray]

    def to(self, device: torch.device) -> SceneBatch:
        return SceneBatch(self.mono.to(device), self.target.to(device), self.coords, self.feats)


def stacked(arrays: Sequence[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(arrays))


def collate_scenes(scenes: Sequence[Any], target: str = "binaural") -> SceneBatch:
    """Stack Scene objects (data.scenes.Scene) of equal length into one batch, with their `target` signals
    (the binaural pair, or the ambiX field's first-order channels)."""
    lengths = {len(s.mono) for s in scenes}
    if len(lengths) != 1:
        raise ParameterError("scenes", f"a batch needs scenes of one length, got {sorted(lengths)}")
    mono = stacked([s.mono for s in scenes])[:, None]
    return SceneBatch(
        mono, stacked([s.target(target) for s in scenes]), [s.coords for s in scenes], [s.feats for s in scenes]
    )


class IndexedScenes(torch.utils.data.Dataset):
    """A map-style dataset over any `get(i)` (e.g. a SceneSampler): workers rebuild scene i alone."""

    def __init__(self, get: Callable[[int], Any]):
        self.get = get

    def __getitem__(self, i: int) -> Any:
        return self.get(i)

    def __len__(self) -> int:  # indices come from the batch plan, never from len()
        return 2**62


def micro_batches(
    dataset: torch.utils.data.Dataset,
    plan: BatchPlan,
    start: int,
    stop: int,
    rank: int,
    collate: Callable[[Sequence[Any]], Any],
    workers: int = 0,
) -> Iterator[list[Any]]:
    """For each iteration in [start, stop): the list of this rank's collated micro-batches."""
    flat = [idx for it in range(start, stop) for idx in plan.indices(it, rank)]
    if not flat:
        return
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_sampler=flat,
        collate_fn=collate,
        num_workers=workers,
        persistent_workers=False,
        prefetch_factor=2 if workers else None,
    )
    group: list[Any] = []
    for batch in loader:
        group.append(batch)
        if len(group) == plan.accumulation:
            yield group
            group = []
