"""Process-level settings of a training run: threads, device, determinism (its metrics: train/live.py)."""

from __future__ import annotations

import logging
import os

import torch

from points2sound.train.distributed import DistContext, pick_device

log = logging.getLogger(__name__)


def setup_runtime(device_setting: str, threads: int | None, seed: int) -> tuple[torch.device, DistContext]:
    """Threads (Snakemake passes its allocation: two jobs on two cores must not each take both),
    the device (CUDA when present), the process group under torchrun, and deterministic CPU kernels."""
    if threads:
        torch.set_num_threads(int(threads))
    device = pick_device(device_setting, int(os.environ.get("LOCAL_RANK", "0")))
    dist = DistContext.from_env(device)
    torch.manual_seed(seed)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
        # Deterministic mode also fills every new tensor with NaN (so that reading memory before writing
        # it would show): about 1500 fills per demo iteration, 5-10 % of the step. No kernel here reads
        # memory it did not write (the results with and without the fill are bitwise equal), so skip it.
        torch.utils.deterministic.fill_uninitialized_memory = False
    else:
        torch.backends.cudnn.benchmark = False
    log.info(
        "device %s, %d thread(s), process %d of %d", device, torch.get_num_threads(), dist.rank + 1, dist.world_size
    )
    return device, dist
