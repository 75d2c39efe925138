"""The `points2sound data` command group: the status of the real sources (`data fetch <source>` is a
stage command, pipeline/stages/fetch.py).

    points2sound data status [--profile paper] [--all]
    points2sound data fetch <source> [--profile paper] [--room calypso]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..entry import add_common_options


def _status(args: argparse.Namespace, params: dict) -> None:
    from ..data.sources.status import format_status, status_table
    from ..settings.sources import sources_config

    root = args.dataset if args.dataset is not None else Path("data") / params["profile"]
    rows = status_table(sources_config(params), root, args.cache, all_sources=args.all, verify=not args.no_verify)
    print(format_status(rows, params["profile"]))


def add_data_commands(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add the `data` group and its `status`; returns the group's subparsers (the runner adds `fetch`)."""
    desc = "real data sources: show their status or fetch one into the data contract"
    data = subparsers.add_parser("data", help=desc, description=desc)
    dsub = data.add_subparsers(dest="data_command", required=True)
    p = dsub.add_parser(
        "status",
        help="per source: present, verified, missing or partial (no network)",
        description="Per source: present, verified, missing or partial. Looks at the disk only.",
    )
    add_common_options(p)
    p.add_argument("--dataset", type=Path, default=None, help="data contract root (default: data/<profile>)")
    p.add_argument("--cache", type=Path, default=None, help="downloads folder (default: sources.cache_dir)")
    p.add_argument("--all", action="store_true", help="also list sources the profile does not use")
    p.add_argument("--no-verify", action="store_true", help="skip checksum verification of the downloads")
    p.set_defaults(func=_status, needs_params=True)
    return dsub
