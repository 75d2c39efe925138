"""The real data sources, one module each, all turned into the data contract.

Each module exposes (`cfg` is its settings, settings/sources.py):
  NAME                                its key under `sources:` in params.yaml
  remote_files(cfg)                   the files it downloads (for `points2sound data status`)
  targets(cfg, root)                  what it writes into the data contract under data/<profile>/
  fetch(cfg, options, root, cache)    downloads, verifies, converts; returns the manifest dict

The CLI (`points2sound data fetch <source>`), the Snakemake rules and the DVC stages
all call `fetch_source` below.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ...errors import ParameterError
from ...settings.sources import SourcesConfig
from . import kemar, modelnet, music_solos, points2sound_clouds, rooms
from .manifest import manifest_path, write_manifest

log = logging.getLogger(__name__)

SOURCES = ("music_solos", "points2sound_clouds", "modelnet40", "kemar", "rooms")


def module(name: str):
    modules = {
        "music_solos": music_solos,
        "points2sound_clouds": points2sound_clouds,
        "modelnet40": modelnet,
        "kemar": kemar,
        "rooms": rooms,
    }
    if name not in modules:
        raise ParameterError("source", f"unknown source {name!r}; choose one of {list(SOURCES)}")
    return modules[name]


def cache_dir(sources: SourcesConfig, name: str, override: str | Path | None = None) -> Path:
    return (Path(override) if override else sources.cache_dir) / name


def fetch_source(
    sources: SourcesConfig,
    name: str,
    dataset_root: str | Path,
    cache: str | Path | None = None,
    manifest: str | Path | None = None,
) -> dict[str, Any]:
    """Fetch one source into the data contract under `dataset_root` and write its manifest."""
    mod = module(name)
    root = Path(dataset_root)
    data = mod.fetch(sources.source(name), sources.options, root, cache_dir(sources, name, cache))
    data = {"source": name, **data}
    written = write_manifest(manifest or manifest_path(root, name), data)
    log.info("%s: %d files into %s", name, written["file_count"], root)
    return written
