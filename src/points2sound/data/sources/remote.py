"""Fetching one file of a source into the cache, as every source module does."""

from __future__ import annotations

from pathlib import Path

from ...settings.sources import FetchOptions, RemoteFile
from .download import Check, fetch


def refetch_command(options: FetchOptions, source: str) -> str:
    """The command that fetches a source again (named in the error about a corrupt cached download)."""
    return f"points2sound data fetch {source} --profile {options.profile}"


def fetch_remote(
    options: FetchOptions, remote: RemoteFile, dest: Path, source: str | None = None, check: Check | None = None
) -> str:
    """Fetch one file of a source into the cache; `check` validates its format where no checksum is pinned."""
    refetch = refetch_command(options, source) if source else None
    return fetch(remote, dest, options, check=check, refetch=refetch)
