"""The `points2sound data` command group: status of the real sources, and fetching one.

    points2sound data status [--profile paper] [--all]
    points2sound data fetch <source> [--profile paper] [--room calypso]

Snakemake rules and DVC stages call `data fetch` with explicit --dataset, --cache
and --manifest paths; users usually leave them at their defaults
(data/<profile>/, sources.cache_dir, data/<profile>/manifests/<source>.json).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

from ..data.sources import SOURCES
from ..settings.sources import sources_config

log = logging.getLogger("points2sound")


def _dataset(args: argparse.Namespace, params: dict) -> Path:
    return args.dataset if args.dataset is not None else Path("data") / params["profile"]


def _status(args: argparse.Namespace, params: dict) -> None:
    from ..data.sources.status import format_status, status_table

    sources = sources_config(params)
    rows = status_table(sources, _dataset(args, params), args.cache, all_sources=args.all, verify=not args.no_verify)
    print(format_status(rows, params["profile"]))


def _fetch(args: argparse.Namespace, params: dict) -> None:
    from ..data.sources import cache_dir, fetch_source

    root, sources = _dataset(args, params), sources_config(params)
    if args.if_selected and args.source not in sources.selected:
        cache_dir(sources, args.source, args.cache).mkdir(parents=True, exist_ok=True)
        log.info("profile %r does not use %s: nothing to fetch", params["profile"], args.source)
        return
    if args.source == "rooms" and args.room:
        from ..data.sources.manifest import write_manifest
        from ..data.sources.rooms import fetch_one

        data = fetch_one(sources.rooms, sources.options, args.room, root, cache_dir(sources, "rooms", args.cache))
        out = args.manifest or root / "manifests" / f"rooms_{args.room}.json"
        write_manifest(out, {"source": "rooms", **data})
    else:
        fetch_source(sources, args.source, root, args.cache, args.manifest)
    log.info("fetched %s into %s", args.source, root)


def add_data_commands(
    subparsers: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Add `data status` and `data fetch <source>` to the CLI's subparsers."""
    desc = "real data sources: show their status or fetch one into the data contract"
    data = subparsers.add_parser("data", help=desc, description=desc)
    dsub = data.add_subparsers(dest="data_command", required=True)

    def path_opts(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dataset", type=Path, default=None, help="data contract root (default: data/<profile>)")
        p.add_argument("--cache", type=Path, default=None, help="downloads folder (default: sources.cache_dir)")

    p = dsub.add_parser(
        "status",
        help="per source: present, verified, missing or partial (no network)",
        description="Per source: present, verified, missing or partial. Looks at the disk only.",
    )
    common(p)
    path_opts(p)
    p.add_argument("--all", action="store_true", help="also list sources the profile does not use")
    p.add_argument("--no-verify", action="store_true", help="skip checksum verification of the downloads")
    p.set_defaults(func=_status)

    p = dsub.add_parser(
        "fetch",
        help="download, verify and convert one source into the data contract",
        description="Download (resumable, retried), verify, extract safely and convert one source; "
        "files placed by hand in the downloads folder are verified and used.",
    )
    common(p)
    path_opts(p)
    p.add_argument("source", choices=SOURCES)
    p.add_argument(
        "--manifest", type=Path, default=None, help="manifest path (default: <dataset>/manifests/<source>.json)"
    )
    p.add_argument("--room", default=None, help="rooms only: fetch one measured room set")
    p.add_argument(
        "--if-selected",
        action="store_true",
        help="do nothing (exit 0) when the profile does not use this source (DVC runs every stage)",
    )
    p.set_defaults(func=_fetch)
