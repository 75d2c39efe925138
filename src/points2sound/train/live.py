"""The training metrics through dvclive: one folder per training stage, what DVC's metrics and plots read.

`<dir>/plots/metrics/<metric>.tsv` holds the loop's history (one file per metric, `step` = the
iteration, a row where the loop logged that metric: train loss every `log_every` iterations,
validation metrics every `val_every`); `<dir>/metrics.json` holds, while the run goes on, the latest
value of each (dvclive's summary), and at the end the run's summary (best iteration, best validation
loss, the figures of the best weights), which `dvc metrics show` and `dvc exp show` list.

Deterministic, so the engines and a resumed run write the same bytes: no timestamps in the TSVs
(`log_metric(timestamp=False)`), nothing but the summary and the last step in metrics.json.

Exact resume: a stage's outputs are not there to resume from (Snakemake removes a failed job's
outputs, `dvc repro` a stage's before it runs it, and a killed run may have logged rows its last
checkpoint does not know), so the logger resumes from the checkpoint: when `fit` resumes, the folder
is rewritten from the checkpoint's history, and the run goes on logging from there. Each step is
logged once, and the files equal an uninterrupted run's.

dvclive is kept to writing files: no DVC experiment of its own (`save_dvc_exp=False`; under
`dvc exp run` DVC makes the experiment), no `dvc.yaml` (`dvcyaml=False`: the project renders its own,
graph.py declares these files), and no DVC repository opened, git touched or Studio contacted
(`_QuietLive`), whichever engine runs the stage.

The stage (stages.py) opens the folder for the run of one `kind` (`recording(dir, kind)`); `fit`
finds it with `logger_for(kind)`, so a stage's other fits (the scene pretext after the shape
pre-training) log nothing here.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.json"
PLOTS_DIR = "plots/metrics"
STEP = "iteration"  # the history's step column (dvclive calls it `step`)


def _live_class() -> type:
    from dvclive import Live

    class _QuietLive(Live):
        """dvclive's file writing only: no DVC repository (dvclive would `dvc init` a git repo without one),
        no git, no experiment, no Studio posts."""

        def _init_dvc(self) -> None:
            self._save_dvc_exp, self._dvc_file = False, "dvc.yaml"  # dvcyaml=False: never written

        def _init_studio(self) -> None:
            self._studio_events_to_skip |= {"start", "data", "done"}

    return _QuietLive


class LiveLog:
    """One training run's dvclive folder."""

    def __init__(self, directory: str | Path, kind: str):
        self.directory, self.kind = Path(directory), kind
        self._live: Any = None

    @property
    def metrics_file(self) -> Path:
        return self.directory / METRICS_FILE

    @property
    def plots_dir(self) -> Path:
        return self.directory / PLOTS_DIR

    def begin(self, history: Sequence[Mapping[str, Any]]) -> None:
        """Start logging: an empty folder, then the rows the run already has (a resumed run's checkpoint)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._live = _live_class()(
            str(self.directory), resume=False, save_dvc_exp=False, dvcyaml=False, report=None, monitor_system=False
        )  # resume=False: a clean folder
        for row in history:
            self.log(row, summary=False)
        if history:
            self._live.make_summary()

    def log(self, row: Mapping[str, Any], summary: bool = True) -> None:
        """One history row ({'iteration': i, metric: value, ...}): a TSV row per metric at step i."""
        if self._live is None:
            raise RuntimeError("LiveLog.log before begin")
        self._live.step = int(row[STEP])
        for name, value in row.items():
            if name != STEP:
                self._live.log_metric(name, float(value), timestamp=False)
        if summary:
            self._live.make_summary()  # the latest values, for `dvc exp show` while the run goes on

    def finish(self, summary: Mapping[str, Any], step: int) -> None:
        """The run's summary as dvclive's metrics.json (with the last step), replacing the latest values."""
        if self._live is None:
            raise RuntimeError(f"no fit of kind {self.kind!r} ran in this stage: nothing logged to {self.directory}")
        self._live.summary = {k: _plain(summary[k]) for k in sorted(summary)}
        self._live.step = int(step)
        self._live.make_summary()


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


_ACTIVE: contextvars.ContextVar[LiveLog | None] = contextvars.ContextVar("points2sound_live", default=None)


@contextlib.contextmanager
def recording(directory: str | Path | None, kind: str) -> Iterator[LiveLog | None]:
    """Log the fit of `kind` run inside this block to `directory` (None: no dvclive folder)."""
    log = None if directory is None else LiveLog(directory, kind)
    token = _ACTIVE.set(log)
    try:
        yield log
    finally:
        _ACTIVE.reset(token)


def logger_for(kind: str, is_main: bool = True) -> LiveLog | None:
    """The folder the current stage opened for a fit of `kind`, on the process that writes (rank 0)."""
    log = _ACTIVE.get()
    if log is None or log.kind != kind or not is_main:
        return None
    return log
