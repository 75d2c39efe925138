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


@dataclass
class _Progress:
    """What a checkpoint keeps of a run besides its weights and optimizer: the iteration reached, the history,
    the best validation loss and weights, and the train losses since the last logged row."""

    iteration: int
    history: list[dict[str, float]]
    best_val: float
    best_iteration: int
    window: list[float]
    best_state: dict[str, torch.Tensor]

    def record(self, done: int, row: Mapping[str, float], live: Any) -> None:
        """A history row at iteration `done` (and in the stage's dvclive folder)."""
        self.history.append({"iteration": done, **row})
        if live is not None:
            live.log(self.history[-1])


@dataclass(frozen=True)
class _Checkpoints:
    """`last.pt` (the state to resume from) and `best.pt` (the best weights) of one run's configuration."""

    directory: Path
    kind: str
    config: Mapping[str, Any]

    def resume(self, model: nn.Module, optimizer: torch.optim.Optimizer, desc: str, iterations: int) -> _Progress:
        """The progress of `last.pt` when it matches the configuration (its weights and moments loaded into
        `model` and `optimizer`), else a fresh start."""
        fresh = _Progress(0, [], math.inf, -1, [], _cpu_state(model))
        last, best = self.directory / "last.pt", self.directory / "best.pt"
        if not last.is_file():
            return fresh
        try:
            blob = load_checkpoint(last, self.kind, self.config)
        except ParameterError as exc:
            log.warning("not resuming: %s", exc)
            return fresh
        model.load_state_dict(blob["model"])
        optimizer.load_state_dict(blob["optimizer"])
        progress = _Progress(
            int(blob["iteration"]),
            [{k: v for k, v in row.items() if k not in _TIMING_COLUMNS} for row in blob["history"]],
            float(blob["best_val"]),
            int(blob["best_iteration"]),
            [float(x) for x in blob.get("window", [])],  # losses since the last logged row
            load_checkpoint(best, self.kind, self.config)["model"] if best.is_file() else fresh.best_state,
        )
        log.info("resuming %s at iteration %d of %d", desc, progress.iteration, iterations)
        return progress

    def save_best(self, state: dict[str, torch.Tensor], done: int) -> None:
        save_checkpoint(self.directory / "best.pt", self.kind, self.config, model=state, iteration=done)

    def save_last(self, model: nn.Module, optimizer: torch.optim.Optimizer, progress: _Progress, done: int) -> None:
        save_checkpoint(
            self.directory / "last.pt",
            self.kind,
            self.config,
            model=_cpu_state(model),
            optimizer=optimizer.state_dict(),
            iteration=done,
            history=progress.history,
            best_val=progress.best_val,
            best_iteration=progress.best_iteration,
            window=list(progress.window),
        )


@dataclass
class _Run:
    """One call of `fit`: what its iterations share."""

    model: nn.Module
    net: nn.Module  # the model as the processes train it (DDP-wrapped when distributed)
    task: Task
    optimizer: torch.optim.Optimizer
    settings: LoopSettings
    checkpoints: _Checkpoints
    progress: _Progress
    live: Any  # the stage's dvclive folder, or None
    dist: DistContext
    device: torch.device
    stop: int

    def iteration(self, it: int, group: Sequence[Any], bar: Any) -> None:
        """Step, then log, validate and checkpoint as iteration `it` + 1 asks: the rows and checkpoints of an
        uninterrupted run, plus a checkpoint (no row) where this call stops."""
        self.progress.window.append(self._step(it, group))
        done, settings, progress = it + 1, self.settings, self.progress
        row: dict[str, float] = {}
        if done % settings.log_every == 0 or done == settings.iterations:  # not at a stop: rows as if uninterrupted
            row["train_loss"] = sum(progress.window) / len(progress.window)
            progress.window = []
            bar.set_postfix(loss=f"{row['train_loss']:.4g}")
        validate = done % settings.val_every == 0 or done == settings.iterations
        if validate or done == self.stop:
            if validate and self.dist.is_main:
                row.update(self._validate(done))
                log.info("iteration %d: %s", done, ", ".join(f"{k} {v:.5g}" for k, v in row.items()))
            if self.dist.is_main:
                if row:
                    progress.record(done, row, self.live)
                self.checkpoints.save_last(self.model, self.optimizer, progress, done)
            self.dist.barrier()
        elif row and self.dist.is_main:
            progress.record(done, row, self.live)

    def _step(self, it: int, group: Sequence[Any]) -> float:
        """One optimizer step over this rank's micro-batches (gradients all-reduced at the last one); the mean
        loss over the processes."""
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for m, batch in enumerate(group):
            sync = m == len(group) - 1
            with contextlib.nullcontext() if sync else self.dist.no_sync(self.net):
                loss = self.task.loss(self.net, batch, self.device) / len(group)
                loss.backward()
            total += float(loss.detach())
        total = self.dist.mean(total)
        if not math.isfinite(total):
            raise ParameterError("train.lr", f"the loss became {total} at iteration {it}: training diverged")
        self.optimizer.step()
        self.dist.sync_buffers(self.model)
        return total

    def _validate(self, done: int) -> dict[str, float]:
        """The validation metrics at iteration `done`; new best weights are kept and written."""
        metrics = self.task.validate(self.model, self.device)
        if metrics["val_loss"] < self.progress.best_val:
            self.progress.best_val, self.progress.best_iteration = metrics["val_loss"], done
            self.progress.best_state = _cpu_state(self.model)
            self.checkpoints.save_best(self.progress.best_state, done)
        return metrics


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
    checkpoints = _Checkpoints(checkpoint_dir, kind, config)
    progress = checkpoints.resume(model, optimizer, desc, settings.iterations)
    start = progress.iteration
    if start >= settings.iterations:
        log.info("%s already complete (%d iterations)", desc, start)
    live = logger_for(kind, dist.is_main)  # the stage's dvclive folder (train/live.py), rebuilt from the history
    if live is not None:
        live.begin(progress.history)
    net = dist.wrap(model, device)
    stop = settings.iterations if stop_after is None else min(settings.iterations, start + stop_after)
    run = _Run(model, net, task, optimizer, settings, checkpoints, progress, live, dist, device, stop)
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
        run.iteration(it, group, bar)
    bar.close()
    seconds = time.perf_counter() - t0
    return FitResult(
        best_state=progress.best_state,
        best_val=progress.best_val,
        best_iteration=progress.best_iteration,
        history=progress.history,
        iterations_done=stop,
        seconds=seconds,
        iterations_per_s=max(stop - start, 0) / seconds if seconds > 0 else 0.0,
        peak_memory_mb=_peak_memory_mb(device),
        resumed_from=start,
        stopped_early=stop < settings.iterations,
    )


def pretraining_settings(iterations: int, lr: float, val_every: int, batch_size: int) -> LoopSettings:
    """The loop of a pre-training: one process, each batch in one pass, a train-loss row every `val_every`
    iterations or every 50, whichever is more often."""
    return LoopSettings(iterations, lr, val_every, max(1, min(val_every, 50)), BatchPlan(batch_size, batch_size))
