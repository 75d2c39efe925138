"""Command-line interface: one command per pipeline stage, plus user-facing commands.

Every Snakemake rule and DVC stage calls one of these commands with explicit
paths and the parameter file, so both engines run the same code.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .. import stages
from ..config import load_params
from ..errors import Points2SoundError
from ..runrecord import RUN, record_path
from .building import add_building_commands
from .data import add_data_commands
from .evaluation import add_evaluation_commands
from .project import add_project_commands
from .report import add_report_commands
from .training import add_training_commands
from .user import add_user_commands

log = logging.getLogger("points2sound")


def _setup_logging(log_file: Path | None, verbose: bool) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--params",
        type=Path,
        default=Path(os.environ.get("P2S_PARAMS") or "params.yaml"),
        help="parameter file (default: params.yaml; under Snakemake its frozen run copy, $P2S_PARAMS)",
    )
    p.add_argument("--profile", default=None, help="profile overlay to apply (default: the file's `profile`)")
    p.add_argument(
        "--log",
        "--log-file",
        dest="log",
        type=Path,
        default=None,
        help="also write the log to this file, and the run record (timing, machine) beside it as "
        "<log stem>.run.json; under torchrun write --log-file (torchrun takes --log for its own)",
    )
    p.add_argument("-v", "--verbose", action="store_true")


class Commands:
    """The subcommand factory every command group registers through (`cmd(name, help, func)`)."""

    def __init__(self, sub: argparse._SubParsersAction):
        self.sub = sub

    def __call__(
        self, name: str, help_: str, func: Callable[[argparse.Namespace, dict], None], needs_params: bool = True
    ) -> argparse.ArgumentParser:
        """A subcommand; `needs_params=False` for one that reads no parameter (it runs outside the project too)."""
        p = self.sub.add_parser(name, help=help_, description=help_)
        _common(p)
        p.set_defaults(func=func, needs_params=needs_params)
        return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="points2sound", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = Commands(sub)
    add_project_commands(cmd)  # params, dvc-yaml
    add_building_commands(cmd)  # embed-*, make-hrir, make-brir, split, render-split, scenes
    add_training_commands(cmd)  # pretrain, train, pretrain-separation
    add_evaluation_commands(cmd)  # evaluate-separation, evaluate, examples, audio-costs
    add_report_commands(cmd)  # report, stage-costs
    add_data_commands(sub, _common)  # data status | fetch <source>
    add_user_commands(cmd)  # binauralize, render, show-scene
    return parser


def _refuse_stale_dvc_yaml(params_path: Path) -> None:
    """Under `dvc repro` a stage runs only from a dvc.yaml that params.yaml still describes."""
    from ..dvc_yaml import check_current, under_dvc

    if under_dvc():
        check_current(params_path, Path(os.environ.get("DVC_ROOT") or "."))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    _setup_logging(args.log, args.verbose)
    start = time.perf_counter()
    record = args.log is not None and _is_rank0()  # one record per command, also under torchrun
    if record:
        record_path(args.log).unlink(missing_ok=True)  # a failed rerun must not leave the last success's record
    RUN.start(args.command, argv)
    try:
        params = load_params(args.params, args.profile) if getattr(args, "needs_params", True) else {}
        if args.command not in ("params", "dvc-yaml"):
            _refuse_stale_dvc_yaml(args.params)
        RUN.update(profile=params.get("profile"))
        args.func(args, params)
    except Points2SoundError as exc:
        log.debug("traceback of the error below", exc_info=True)  # --verbose shows it, as does its log file
        log.error("%s", exc)
        return 2
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        log.debug("traceback of the error below", exc_info=True)
        log.error(
            "%s: %s", exc.filename or "output", exc.strerror.lower() if exc.strerror else "no space left on device"
        )
        return 2
    except stages.RunStopped as exc:
        log.info("%s", exc)
        return 3
    except KeyboardInterrupt:
        log.error("interrupted: no partial output was kept")
        return 130
    if args.command != "params":
        log.info("%s finished in %.1f s", args.command, time.perf_counter() - start)
    if record:
        log.debug("run record: %s", RUN.write(record_path(args.log)))
    return 0


def _is_rank0() -> bool:
    return os.environ.get("RANK", "0") == "0"


if __name__ == "__main__":
    sys.exit(main())
