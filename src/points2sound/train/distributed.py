"""Process-group setup for data-parallel training (torchrun), and a no-op single-process context.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; `DistContext.from_env` joins the group
(NCCL on GPUs, gloo on CPU). With one process every method is a no-op, so the loop
has a single code path.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_env(cls, device: torch.device) -> DistContext:
        """Join the process group torchrun describes; a plain run is a world of one."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return cls(rank=rank, world_size=world, local_rank=local)

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        if not self.active:
            return model
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)

    def no_sync(self, net: nn.Module) -> contextlib.AbstractContextManager[Any]:
        """Skip the gradient all-reduce on accumulation micro-steps."""
        return net.no_sync() if self.active else contextlib.nullcontext()

    def mean(self, value: float) -> float:
        """The mean of a number over all processes (e.g. each rank's share of the batch loss)."""
        if not self.active:
            return value
        t = torch.tensor([value], dtype=torch.float64)
        torch.distributed.all_reduce(t)
        return float(t) / self.world_size

    def sync_buffers(self, model: nn.Module) -> None:
        """Average floating buffers (BatchNorm running statistics) over the processes.

        DDP would otherwise broadcast rank 0's at the next forward and drop what the
        other ranks' micro-batches contributed. (One process accumulating micro-batches
        updates them sequentially, so the two agree closely but not bit for bit.)
        """
        if not self.active:
            return
        for buf in model.buffers():
            if buf.is_floating_point():
                torch.distributed.all_reduce(buf)
                buf.div_(self.world_size)

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()

    def close(self) -> None:
        if self.active and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def pick_device(setting: str, local_rank: int = 0) -> torch.device:
    """'auto' is CUDA when present (one GPU per local rank), else the CPU."""
    if setting == "cpu" or (setting == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        from points2sound.errors import ParameterError

        raise ParameterError("train.device", "is 'cuda' but no CUDA device is available")
    return torch.device("cuda", local_rank % torch.cuda.device_count())
