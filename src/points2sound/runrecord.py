"""The run record: what a command cost and where it ran, kept apart from its artifacts.

Artifacts (checkpoints, summaries, histories, scores) hold only what the parameters and
the data determine, so equal parameters give equal bytes on the same machine and neither
engine sees a changed output. How long a run took, how much memory it used, the device,
the process count and the machine's facts go to `<log>.run.json` instead: cli.main writes
it at the end of every successful command given `--log` (no engine caches it).

Fields: command, argv, profile, started_utc, finished_utc, wall_seconds (from cli.main's start),
cpu_seconds (user + system of this process and its waited-for children, getrusage), peak_rss_mb,
peak_rss_children_mb, pid; training runs add train_seconds, iterations_per_s, peak_memory_mb
(CUDA: max allocated; CPU: peak RSS), iterations_run, resumed_from, device, world_size (and
scene_* for the pretext); `machine` is machine.machine_facts() (torch_threads is null when
the command never loaded torch). Under torchrun only rank 0 writes it.

A stage hands its own facts over through the module-level `RUN`:

    from .runrecord import RUN
    RUN.update(train_seconds=..., device="cpu")
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .atomic import write_text

SUFFIX = ".run.json"


def record_path(log_path: str | Path) -> Path:
    """The run record beside a log: logs/demo/train_p2s_rgb.log -> logs/demo/train_p2s_rgb.run.json."""
    log_path = Path(log_path)
    return log_path.with_name(log_path.stem + SUFFIX) if log_path.suffix else log_path.with_name(log_path.name + SUFFIX)


def _usage() -> tuple[float, float, float]:
    """CPU seconds (this process and its waited-for children), peak RSS in MB of this process and of the largest child."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    return cpu, own.ru_maxrss / 1024.0, kids.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


@dataclass
class RunRecord:
    """One command's run facts: started by cli.main, extended by the stage, written at the end."""

    command: str = ""
    argv: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    _started_wall: float = 0.0
    _started_utc: str = ""
    _started_cpu: float = 0.0

    def start(self, command: str, argv: Sequence[str]) -> None:
        """Begin a new record (forgetting any earlier one in this process)."""
        self.command, self.argv, self.extras = command, list(argv), {}
        self._started_wall = time.perf_counter()
        self._started_utc = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._started_cpu = _usage()[0]

    def update(self, **facts: Any) -> None:
        """Facts of the stage (timing, memory, device, process count); JSON-able values."""
        self.extras.update(facts)

    def as_dict(self, machine: bool = True) -> dict[str, Any]:
        from .machine import machine_facts

        cpu, rss, rss_children = _usage()
        out: dict[str, Any] = {
            "command": self.command,
            "argv": self.argv,
            "started_utc": self._started_utc,
            "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wall_seconds": time.perf_counter() - self._started_wall,
            "cpu_seconds": cpu - self._started_cpu,
            "peak_rss_mb": rss,
            "peak_rss_children_mb": rss_children,
            "pid": os.getpid(),
            **self.extras,
        }
        if machine:
            out["machine"] = machine_facts(import_torch=False)
        return out

    def write(self, path: str | Path) -> Path:
        """Write the record atomically as JSON; returns its path."""
        write_text(path, json.dumps(self.as_dict(), indent=2, sort_keys=True, default=str) + "\n")
        return Path(path)


RUN = RunRecord()
