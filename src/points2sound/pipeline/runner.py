"""Run one stage command: `points2sound <command> ...` for a command of `stages.KINDS`.

Only the module of that stage kind is imported, so the code a stage runs is its module's imports
plus this file and what it imports (`codedeps.CORE`): an edit elsewhere reruns nothing.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from ..entry import add_common_options, run_command
from .stages import KINDS, stage_command


def kind_module(command: str) -> ModuleType:
    return importlib.import_module(f"{__package__}.stages.{KINDS[command]}")


def add_parser(sub: argparse._SubParsersAction, module: ModuleType) -> argparse.ArgumentParser:
    """A stage kind's subcommand, built from its declared options (also listed by `points2sound --help`)."""
    kind = module.KIND
    p = sub.add_parser(kind.command.split()[-1], help=kind.help, description=module.__doc__ or kind.help)
    add_common_options(p)
    kind.add_arguments(p)
    return p


def _refuse_stale_dvc_yaml(params_path: Path) -> None:
    """Under `dvc repro` a stage runs only from a dvc.yaml that params.yaml still describes.

    A guard, not part of what the stage computes: it may refuse to run, never change an output, so
    the graph it renders is not among the stage's code dependencies (imported by name for that reason).
    """
    if os.environ.get("DVC_STAGE"):
        dvc_yaml = importlib.import_module(f"{__package__}.dvc_yaml")
        dvc_yaml.check_current(params_path, Path(os.environ.get("DVC_ROOT") or "."))


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    command = stage_command(argv)
    if command is None:
        raise ValueError(f"not a stage command: {argv[:2]}")
    module = kind_module(command)
    parser = argparse.ArgumentParser(prog=f"points2sound {' '.join(command.split()[:-1])}".strip())
    add_parser(parser.add_subparsers(dest="command", required=True), module)
    args = parser.parse_args([command.split()[-1], *argv[len(command.split()) :]])
    accepted = inspect.signature(module.run).parameters
    values = {o.dest: getattr(args, o.dest) for o in module.KIND.options}
    if "params_file" in accepted:
        values["params_file"] = args.params
    if "profile" in accepted:
        values["profile"] = args.profile
    return run_command(
        command,
        argv,
        args,
        lambda params: module.run(params, **values),
        needs_params=module.KIND.needs_params,
        before=lambda: _refuse_stale_dvc_yaml(args.params),
    )
