"""The real data sources, one module each, all turned into the data contract.

Each module exposes:
  NAME                       its key under `sources:` in params.yaml
  remote_files(params)       the files it downloads (for `points2sound data status`)
  targets(params, root)      what it writes into the data contract under data/<profile>/
  fetch(params, root, cache) downloads, verifies, converts; returns the manifest dict

The CLI (`points2sound data fetch <source>`), the Snakemake rules and the DVC stages
all call `fetch_source` below.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...errors import ParameterError
from .download import Check, RemoteFile, fetch
from .manifest import manifest_path, write_manifest

log = logging.getLogger(__name__)

SOURCES = ("music_solos", "points2sound_clouds", "modelnet40", "kemar", "rooms")
_MODULES = {
    "music_solos": "music_solos",
    "points2sound_clouds": "points2sound_clouds",
    "modelnet40": "modelnet",
    "kemar": "kemar",
    "rooms": "rooms",
}


def module(name: str):
    if name not in _MODULES:
        raise ParameterError("source", f"unknown source {name!r}; choose one of {list(SOURCES)}")
    return importlib.import_module(f"{__name__}.{_MODULES[name]}")


def source_cfg(params: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    cfg = (params.get("sources") or {}).get(name)
    if not cfg:
        raise ParameterError(f"sources.{name}", "is not configured in params.yaml")
    return cfg


def cache_dir(params: Mapping[str, Any], name: str, override: str | Path | None = None) -> Path:
    base = Path(override) if override else Path((params.get("sources") or {}).get("cache_dir", "data/downloads"))
    return base / name


def fetch_options(params: Mapping[str, Any]) -> dict[str, Any]:
    s = params.get("sources") or {}
    return dict(
        retries=int(s.get("retries", 5)),
        backoff_s=float(s.get("backoff_s", 1.0)),
        timeout_s=float(s.get("timeout_s", 60.0)),
        zenodo_api=str(s.get("zenodo_api", "https://zenodo.org/api/records")),
    )


def refetch_command(params: Mapping[str, Any], source: str) -> str:
    """The command that fetches a source again (named in the error about a corrupt cached download)."""
    return f"points2sound data fetch {source} --profile {params.get('profile', 'paper')}"


def fetch_remote(
    params: Mapping[str, Any], remote: RemoteFile, dest: Path, source: str | None = None, check: Check | None = None
) -> str:
    """Fetch one file of a source into the cache; `check` validates its format where no checksum is pinned."""
    refetch = refetch_command(params, source) if source else None
    return fetch(remote, dest, check=check, refetch=refetch, **fetch_options(params))


def fetch_source(
    params: Mapping[str, Any],
    name: str,
    dataset_root: str | Path,
    cache: str | Path | None = None,
    manifest: str | Path | None = None,
) -> dict[str, Any]:
    """Fetch one source into the data contract under `dataset_root` and write its manifest."""
    mod = module(name)
    root = Path(dataset_root)
    data = mod.fetch(params, root, cache_dir(params, name, cache))
    data = {"source": name, **data}
    written = write_manifest(manifest or manifest_path(root, name), data)
    log.info("%s: %d files into %s", name, written["file_count"], root)
    return written
