"""One training loop for every run (vision pre-training and the paper's variants).

What it guarantees:
- exact resume: the state after iteration i (weights, Adam moments, history, best
  weights) is checkpointed at every validation; a rerun continues from it, and since
  each iteration's scenes depend only on the iteration index (train.data.BatchPlan),
  an interrupted and resumed run ends with the same weights as an uninterrupted one;
- the lowest-validation-loss weights are kept (paper Sec. 3.5);
- a metrics history (train loss, validation metrics), the same rows whether or not the run was
  interrupted: a stop checkpoints the losses not yet logged, and adds no row; each row goes to the
  stage's dvclive folder as it is made (train/live.py), rebuilt from the checkpoint's rows on resume;
- timing and memory of the run in FitResult (for the run record, runrecord.py), never in the
  history or a checkpoint, so equal parameters give byte-equal files;
- data-parallel training when a `DistContext` with world_size > 1 is given: gradients
  are averaged by DDP, accumulation micro-steps skip the all-reduce, and only rank 0
  validates and writes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import resource
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from tqdm import tqdm

from points2sound.errors import ParameterError
from points2sound.models.checkpoint import load_checkpoint, save_checkpoint
from points2sound.train.data import BatchPlan, micro_batches
from points2sound.train.distributed import DistContext
from points2sound.train.live import logger_for

log = logging.getLogger(__name__)


class Task(Protocol):
    """What the loop needs from a kind of run."""

    def loss(self, model: nn.Module, batch: Any, device: torch.device) -> torch.Tensor: ...

    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]: ...  # has 'val_loss'


@dataclass(frozen=True)
class LoopSettings:
    iterations: int
    lr: float
    val_every: int
    log_every: int
    plan: BatchPlan
    workers: int = 0
    lr_scales: tuple[tuple[str, float], ...] = ()  # (parameter-name prefix, factor on lr), first match wins


def param_groups(model: nn.Module, lr: float, scales: Sequence[tuple[str, float]]) -> list[dict[str, Any]]:
    """Adam parameter groups: the parameters under each prefix at lr times its factor, the rest at lr."""
    groups: dict[float, list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        factor = next((f for prefix, f in scales if name.startswith(prefix)), 1.0)
        groups.setdefault(factor, []).append(param)
    return [{"params": params, "lr": lr * factor} for factor, params in groups.items()]


@dataclass
class FitResult:
    """What a run produced (best weights, history, `extra` for the summary) and what it cost
    (seconds, throughput, memory, `facts`: for the run record only, see `timing`)."""

    best_state: dict[str, torch.Tensor]
    best_val: float
    best_iteration: int
    history: list[dict[str, float]]
    iterations_done: int
    seconds: float
    iterations_per_s: float
    peak_memory_mb: float
    resumed_from: int = 0
    stopped_early: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def timing(self) -> dict[str, Any]:
        """The run-record facts of this call (timing and memory: not parameters, kept out of artifacts)."""
        return {
            "train_seconds": self.seconds,
            "iterations_per_s": self.iterations_per_s,
            "peak_memory_mb": self.peak_memory_mb,
            "resumed_from": self.resumed_from,
            "iterations_run": max(self.iterations_done - self.resumed_from, 0),
            **self.facts,
        }


_TIMING_COLUMNS = ("seconds", "iterations_per_s")  # in histories of checkpoints written before the run record


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _cpu_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def fit(
    model: nn.Module,
    task: Task,
    dataset: torch.utils.data.Dataset,
    collate: Callable[[Sequence[Any]], Any],
    settings: LoopSettings,
    *,
    config: Mapping[str, Any],
    kind: str,
    checkpoint_dir: Path,
    device: torch.device,
    dist: DistContext | None = None,
    stop_after: int | None = None,
    desc: str = "train",
) -> FitResult:
    """Train `model` with Adam; resume from `checkpoint_dir/last.pt` when it matches `config`.

    `stop_after` ends the run after that many iterations of this call (with a
    checkpoint), as an interruption would; the next call resumes.
    """
    dist = dist or DistContext()
    model.to(device)
    optimizer = torch.optim.Adam(param_groups(model, settings.lr, settings.lr_scales), lr=settings.lr)
    last, best_path = checkpoint_dir / "last.pt", checkpoint_dir / "best.pt"
    start, history, best_val, best_iteration, window = 0, [], math.inf, -1, []
    best_state = _cpu_state(model)
    if last.is_file():
        try:
            blob = load_checkpoint(last, kind, config)
        except ParameterError as exc:
            log.warning("not resuming: %s", exc)
        else:
            model.load_state_dict(blob["model"])
            optimizer.load_state_dict(blob["optimizer"])
            start = int(blob["iteration"])
            history = [{k: v for k, v in row.items() if k not in _TIMING_COLUMNS} for row in blob["history"]]
            best_val, best_iteration = float(blob["best_val"]), int(blob["best_iteration"])
            window = [float(x) for x in blob.get("window", [])]  # losses since the last logged row
            if best_path.is_file():
                best_state = load_checkpoint(best_path, kind, config)["model"]
            log.info("resuming %s at iteration %d of %d", desc, start, settings.iterations)
    if start >= settings.iterations:
        log.info("%s already complete (%d iterations)", desc, start)
    live = logger_for(kind, dist.is_main)  # the stage's dvclive folder (train/live.py), rebuilt from the history
    if live is not None:
        live.begin(history)
    net = dist.wrap(model, device)
    stop = settings.iterations if stop_after is None else min(settings.iterations, start + stop_after)
    batches = micro_batches(dataset, settings.plan, start, stop, dist.rank, collate, settings.workers)
    t0 = time.perf_counter()
    bar = tqdm(
        range(start, stop),
        desc=desc,
        unit="it",
        disable=None if dist.is_main else True,
        initial=start,
        total=settings.iterations,
    )
    for it, group in zip(bar, batches):
        model.train()
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for m, batch in enumerate(group):
            sync = m == len(group) - 1
            with contextlib.nullcontext() if sync else dist.no_sync(net):
                loss = task.loss(net, batch, device) / len(group)
                loss.backward()
            total += float(loss.detach())
        total = dist.mean(total)
        if not math.isfinite(total):
            raise ParameterError("train.lr", f"the loss became {total} at iteration {it}: training diverged")
        optimizer.step()
        dist.sync_buffers(model)
        window.append(total)
        done = it + 1
        row: dict[str, float] = {}
        if done % settings.log_every == 0 or done == settings.iterations:  # not at a stop: rows as if uninterrupted
            row["train_loss"] = sum(window) / len(window)
            window = []
            bar.set_postfix(loss=f"{row['train_loss']:.4g}")
        validate = done % settings.val_every == 0 or done == settings.iterations
        if validate or done == stop:
            if validate and dist.is_main:
                metrics = task.validate(model, device)
                row.update(metrics)
                if metrics["val_loss"] < best_val:
                    best_val, best_iteration = metrics["val_loss"], done
                    best_state = _cpu_state(model)
                    save_checkpoint(best_path, kind, config, model=best_state, iteration=done)
                log.info("iteration %d: %s", done, ", ".join(f"{k} {v:.5g}" for k, v in row.items()))
            if dist.is_main:
                if row:
                    history.append({"iteration": done, **row})
                    if live is not None:
                        live.log(history[-1])
                save_checkpoint(
                    last,
                    kind,
                    config,
                    model=_cpu_state(model),
                    optimizer=optimizer.state_dict(),
                    iteration=done,
                    history=history,
                    best_val=best_val,
                    best_iteration=best_iteration,
                    window=list(window),
                )
            dist.barrier()
        elif row and dist.is_main:
            history.append({"iteration": done, **row})
            if live is not None:
                live.log(history[-1])
    bar.close()
    seconds = time.perf_counter() - t0
    done_iters = max(stop - start, 0)
    return FitResult(
        best_state=best_state,
        best_val=best_val,
        best_iteration=best_iteration,
        history=history,
        iterations_done=stop,
        seconds=seconds,
        iterations_per_s=done_iters / seconds if seconds > 0 else 0.0,
        peak_memory_mb=_peak_memory_mb(device),
        resumed_from=start,
        stopped_early=stop < settings.iterations,
    )
