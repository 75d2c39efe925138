"""What the training stages share: their torch threads, and the run around a pre-training."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..atomic import atomic_dir
from ..errors import RunStopped
from ..runrecord import RUN
from ..settings import stage_seed


def stage_threads(params: Mapping[str, Any], kind: str, given: int | None) -> int:
    """Torch threads of a run: the engine's allocation, else resources.<kind>.cpus (at most the cores).

    Float sums depend on the thread count, so both engines must use the same one for the
    same weights: Snakemake passes min(cores, cpus), DVC nothing, and this default agrees.
    """
    if given:
        return int(given)
    return max(1, min(int(params["resources"][kind]["cpus"]), os.cpu_count() or 1))


def pretraining_run(
    params: Mapping[str, Any],
    name: str,
    fit: str,
    threads: int | None,
    out_dir: Path,
    live_dir: Path,
    run: Callable[[Path, Any], Any],
) -> None:
    """What the pre-training stages share: the runtime, the atomic model folder, the metrics and the summary.
    `run(model_path, device)` trains and writes model_path, returning the loop's FitResult (its fit `fit`
    logs to `live_dir`, train/live.py)."""
    from ..train.live import recording
    from ..train.runtime import setup_runtime

    device, _ = setup_runtime(
        params["train"]["device"], stage_threads(params, "pretrain", threads), stage_seed(params, name)
    )
    with recording(live_dir, fit) as live, atomic_dir(out_dir) as tmp:
        result = run(tmp / "model.pt", device)
        if result.stopped_early:
            raise RunStopped(result.iterations_done)
    live.finish(
        {
            "best_iteration": result.best_iteration,
            "best_val_loss": result.best_val,
            "iterations": result.iterations_done,
            **result.extra,
        },
        result.iterations_done,
    )
    RUN.update(**result.timing(), device=str(device), world_size=1)
