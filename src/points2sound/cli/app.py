"""The user's and the project's commands (`binauralize`, `render`, `show-scene`, `params`, `dvc-yaml`,
`data status`), with every stage command listed beside them for `points2sound --help`."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from ..entry import add_common_options, run_command
from ..pipeline.graph import kind_modules
from ..pipeline.runner import add_parser
from .data import add_data_commands
from .project import add_project_commands
from .user import add_user_commands


class Commands:
    """The subcommand factory every command group registers through (`cmd(name, help, func)`)."""

    def __init__(self, sub: argparse._SubParsersAction):
        self.sub = sub

    def __call__(
        self, name: str, help_: str, func: Callable[[argparse.Namespace, dict], None], needs_params: bool = True
    ) -> argparse.ArgumentParser:
        """A subcommand; `needs_params=False` for one that reads no parameter (it runs outside the project too)."""
        p = self.sub.add_parser(name, help=help_, description=help_)
        add_common_options(p)
        p.set_defaults(func=func, needs_params=needs_params)
        return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="points2sound", description="Points2Sound: the pipeline's stage commands and the user's commands."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = Commands(sub)
    add_project_commands(cmd)  # params, dvc-yaml
    data = add_data_commands(sub)  # data status (and `data fetch`, a stage)
    for module in kind_modules():  # the stage commands: run by pipeline.runner, listed here for --help
        add_parser(data if module.KIND.command.startswith("data ") else sub, module)
    add_user_commands(cmd)  # binauralize, render, show-scene
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    return run_command(
        args.command, argv, args, lambda params: args.func(args, params), getattr(args, "needs_params", True)
    )
