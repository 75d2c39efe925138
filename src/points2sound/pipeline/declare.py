"""What a stage kind declares, and the stages of the graph built from those declarations.

A `StageKind` names its command, its options (each spelled once: the parser is built from
them and every stage's command line is written from them), the parameter keys it reads and
the `resources:` entry it asks a cluster for. A `Stage` is one node of the graph: a kind's
command with values, the files it reads and writes, and its log.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOPICS = ("download", "data", "render", "scenes", "train", "evaluate", "report")
REPORT_CATEGORIES = ("data", "training", "scores", "listening", "benchmarks")  # of `snakemake --report`


@dataclass(frozen=True)
class Report:
    """How `snakemake --report` shows an output (Snakemake only; DVC ignores it).

    `caption` names an RST file under workflow/report/; a folder output shows the files matching
    `patterns` (Snakemake's glob_wildcards patterns, relative to the folder), whose wildcards the
    caption, `subcategory` and `labels` may use.
    """

    category: str
    caption: str
    subcategory: str | None = None
    patterns: tuple[str, ...] = ()
    labels: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.category not in REPORT_CATEGORIES:
            raise ValueError(f"report category {self.category!r} is not one of {REPORT_CATEGORIES}")


@dataclass(frozen=True)
class Out:
    """One output path. `cache: False` leaves it to git (small results), `metric`/`plot` are for DVC."""

    path: str
    directory: bool = False
    cache: bool = True
    metric: bool = False
    plot: Mapping[str, str] | None = None
    report: Report | None = None  # shown by `snakemake --report` (workflow/report/)


@dataclass(frozen=True)
class Opt:
    """One command-line option of a stage kind; `dest` is the keyword a stage gives its value by."""

    flag: str  # "--out", or a bare name for a positional argument
    type: Callable[[str], Any] = str
    required: bool = False
    default: Any = None
    nargs: str | None = None
    help: str | None = None
    choices: Sequence[str] | None = None
    flag_only: bool = False  # a switch (store_true)

    @property
    def positional(self) -> bool:
        return not self.flag.startswith("-")

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        if self.flag_only:
            parser.add_argument(self.flag, action="store_true", help=self.help)
            return
        kwargs: dict[str, Any] = {"type": self.type, "help": self.help}
        if self.choices is not None:
            kwargs["choices"] = list(self.choices)
        if self.nargs is not None:
            kwargs["nargs"] = self.nargs
        if not self.positional:
            kwargs.update(required=self.required, default=self.default)
        parser.add_argument(self.flag, **kwargs)

    def words(self, value: Any) -> list[str]:
        """The option and its value as command-line words (none for None or an unset switch)."""
        if value is None or value is False:
            return []
        if self.flag_only:
            return [self.flag]
        values = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
        return values if self.positional else [self.flag, *values]


# the options of every training command (train/live.py writes the dvclive folder)
TRAINING_OPTIONS = (
    Opt("--out", Path, required=True, help="output folder (model.pt)"),
    Opt(
        "--live",
        Path,
        required=True,
        help="dvclive folder: plots/metrics/<metric>.tsv (history), metrics.json (summary)",
    ),
    Opt("--checkpoints", Path, required=True, help="resume state; a rerun continues from it"),
    Opt("--threads", int, help="torch CPU threads (default: resources.<kind>.cpus, at most the cores)"),
    Opt("--stop-after", int, help="stop after this many iterations (resumable)"),
)
THREADS = Opt("--threads", int, help="torch threads (default 1: scores do not depend on the machine)")


@dataclass(frozen=True)
class StageKind:
    """One kind of stage: its command, options, parameter keys and cluster resources, declared once."""

    command: str  # after `points2sound`; two words for a command group (`data fetch`)
    help: str
    topic: str
    options: tuple[Opt, ...]
    params: tuple[str, ...] = ()  # parameter keys every stage of the kind reads, beyond profile and seed
    resources: str | None = None  # `resources.<name>` in params.yaml: threads and cluster requests
    needs_params: bool = True  # False: runs outside a project too (reads no parameter file)

    def __post_init__(self) -> None:
        if self.topic not in TOPICS:
            raise ValueError(f"topic {self.topic!r} is not one of {TOPICS}")

    def option(self, dest: str) -> Opt:
        for opt in self.options:
            if opt.dest == dest:
                return opt
        raise KeyError(f"{self.command}: no option {dest!r}; it has {[o.dest for o in self.options]}")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        for opt in self.options:
            opt.add_to(parser)

    def command_line(self, profile: str, log: str, values: Mapping[str, Any]) -> tuple[str, ...]:
        """The command's words: its name, positionals, `--profile`, the options in the order given, the log."""
        words = self.command.split()
        given = {dest: self.option(dest) for dest in values}
        for dest, opt in given.items():
            if opt.positional:
                words += opt.words(values[dest])
        words += ["--profile", profile]
        for dest, opt in given.items():
            if not opt.positional:
                words += opt.words(values[dest])
        missing = [o.flag for o in self.options if o.required and values.get(o.dest) is None]
        if missing:
            raise ValueError(f"{self.command}: a stage must give {missing}")
        return (*words, "--log-file", log)  # torchrun takes --log for its own


@dataclass(frozen=True)
class Stage:
    """One node of the graph: Snakemake rule name == DVC stage name."""

    name: str
    kind: StageKind
    module: str  # the stage kind's module (dotted, under the package): its imports are the code it runs
    args: tuple[str, ...]  # after `points2sound`: the command and its arguments
    deps: Mapping[str, str | tuple[str, ...]]  # named data inputs (files or folders)
    outs: Mapping[str, Out]  # named outputs
    params: tuple[str, ...]  # parameter keys it reads (dotted), beyond profile and seed
    log: str
    code: tuple[str, ...] = field(default=(), compare=False)  # filled by the graph: source paths it runs

    @property
    def topic(self) -> str:
        return self.kind.topic

    @property
    def resources(self) -> str | None:
        return self.kind.resources

    @property
    def command(self) -> str:
        """The command line after the launcher (`points2sound`, or torchrun on a cluster)."""
        return " ".join(self.args)

    @property
    def run_record(self) -> str:
        """Timing and machine facts of the command (the runner writes it beside the log; not an artifact)."""
        return str(Path(self.log).with_suffix(".run.json"))

    @property
    def benchmark(self) -> str:
        """Snakemake's `benchmark:` file of the rule (wall, CPU time, peak memory; not an artifact)."""
        return str(Path(self.log).parent / "benchmarks" / f"{self.name}.tsv")

    def dep_paths(self) -> list[str]:
        out: list[str] = []
        for value in self.deps.values():
            out += [value] if isinstance(value, str) else list(value)
        return out

    def param_keys(self) -> tuple[str, ...]:
        return ("profile", "seed", *self.params)
