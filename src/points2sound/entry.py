"""What every `points2sound` command shares: its common options, its log, its run record and the
one-line error a user sees (the traceback goes to the log)."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .config import load_params
from .errors import Points2SoundError, RunStopped
from .runrecord import RUN, record_path

log = logging.getLogger("points2sound")


def add_common_options(p: argparse.ArgumentParser) -> None:
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


def setup_logging(log_file: Path | None, verbose: bool) -> None:
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


def _is_rank0() -> bool:
    return os.environ.get("RANK", "0") == "0"


def run_command(
    command: str,
    argv: Sequence[str],
    args: argparse.Namespace,
    body: Callable[[Mapping[str, Any]], None],
    needs_params: bool = True,
    before: Callable[[], None] | None = None,
) -> int:
    """Run `body(params)` as one command: logging, the run record, and exit status 2 with one line for
    a bad input or parameter (3: stopped on purpose, resumable; 130: interrupted)."""
    setup_logging(args.log, args.verbose)
    start = time.perf_counter()
    record = args.log is not None and _is_rank0()  # one record per command, also under torchrun
    if record:
        record_path(args.log).unlink(missing_ok=True)  # a failed rerun must not leave the last success's record
    RUN.start(command, list(argv))
    try:
        params = load_params(args.params, args.profile) if needs_params else {}
        if before is not None:
            before()
        RUN.update(profile=params.get("profile"))
        body(params)
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
    except RunStopped as exc:
        log.info("%s", exc)
        return 3
    except KeyboardInterrupt:
        log.error("interrupted: no partial output was kept")
        return 130
    if command != "params":
        log.info("%s finished in %.1f s", command, time.perf_counter() - start)
    if record:
        log.debug("run record: %s", RUN.write(record_path(args.log)))
    return 0
