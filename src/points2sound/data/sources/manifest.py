"""Manifests of fetched sources: where the data came from and what was made of it.

One JSON file per source and profile, data/<profile>/manifests/<source>.json:
source URLs, version or record, checksums of the downloaded files, licence, the
number of files written into the data contract and their total duration (audio)
or point count (point clouds, shapes), plus anything skipped and why. Keys are
sorted and nothing time-dependent is written, so equal inputs give equal bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...atomic import write_text
from ...errors import InputFileError

MANIFEST_VERSION = 1
REQUIRED = ("source", "urls", "licence", "file_count")


def manifest_path(dataset_root: str | Path, source: str) -> Path:
    return Path(dataset_root) / "manifests" / f"{source}.json"


def write_manifest(path: str | Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and write a manifest atomically; return what was written."""
    data = {"manifest_version": MANIFEST_VERSION, **manifest}
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise ValueError(f"manifest for {data.get('source', '?')} lacks {missing}")
    write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    return data


def read_manifest(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "manifest not found", "fetch the source first: points2sound data fetch <source>")
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise InputFileError(path, f"not a valid manifest ({exc})") from exc
    if not isinstance(data, dict) or any(k not in data for k in REQUIRED):
        raise InputFileError(path, f"manifest lacks some of {list(REQUIRED)}")
    return data
