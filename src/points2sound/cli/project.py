"""The project's own commands: `params` (the resolved parameters) and `dvc-yaml` (DVC's stage file)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path


def _cmd_params(args: argparse.Namespace, params: dict) -> None:
    value = params
    if args.key:
        for part in args.key.split("."):
            value = value[part]
    print(json.dumps(value, indent=2) if isinstance(value, (dict, list)) else value)


def _cmd_dvc_yaml(args: argparse.Namespace, params: dict) -> None:
    """Render dvc.yaml for `--profile` (which also becomes params.yaml's `profile:`), or check it."""
    from ..atomic import write_text
    from ..config import read_params_file
    from ..pipeline.dvc_yaml import check_current, render, set_profile_line

    root = args.out.resolve().parent
    if args.check:
        check_current(args.params, root)
        print(f"{args.out} is current for profile {params['profile']!r}")
        return
    if args.profile and read_params_file(args.params).get("profile") != args.profile:
        set_profile_line(args.params, args.profile)
    write_text(args.out, render(read_params_file(args.params), params, root))
    print(f"wrote {args.out} for profile {params['profile']!r}")


def add_project_commands(cmd: Callable[..., argparse.ArgumentParser]) -> None:
    """Register `params` and `dvc-yaml` through the CLI's command factory."""
    p = cmd("params", "print the resolved parameters (base + profile) as JSON", _cmd_params)
    p.add_argument("--key", default=None, help="print only this dotted key")

    p = cmd(
        "dvc-yaml",
        "write dvc.yaml: the stage graph of one profile for DVC (the same stages as the Snakefile)",
        _cmd_dvc_yaml,
    )
    p.add_argument("--check", action="store_true", help="only check that dvc.yaml is current (exit 2 if not)")
    p.add_argument("--out", type=Path, default=Path("dvc.yaml"))
