"""`points2sound data status`: per source, what is present, verified, missing or partial.

Looks only at the disk (never the network): the downloads in the cache folder
(checked against their pinned or published checksums, or flagged as partial when a
`.part` file is left from an interrupted transfer) and the source's outputs in the
data contract with its manifest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import Points2SoundError
from ...settings.sources import RemoteFile, RoomsSource, SourcesConfig
from . import SOURCES, cache_dir, module
from .download import ChecksumError, verify_file, zenodo_files
from .manifest import manifest_path, read_manifest

MISSING, PARTIAL, PRESENT, VERIFIED, FAILED = "missing", "partial", "present", "verified", "corrupt"
UNPINNED = "unpinned"  # present, no published checksum: only its sha256 as recorded in the manifest can be compared


@dataclass
class SourceStatus:
    source: str
    selected: bool
    state: str
    downloads: list[tuple[str, str]] = field(default_factory=list)  # (file, state)
    outputs: list[tuple[str, bool]] = field(default_factory=list)
    manifest: str | None = None
    note: str = ""


def _remotes(sources: SourcesConfig, name: str, cache: Path) -> list[RemoteFile] | None:
    if name == "points2sound_clouds":  # the file list comes from the record's metadata, cached by a fetch
        saved = cache / "record.json"
        if not saved.is_file():
            return None
        cfg = sources.points2sound_clouds
        return zenodo_files(json.loads(saved.read_text()), cfg.zenodo_record, sources.options.zenodo_api, cfg.files)
    if name == "rooms" and not sources.rooms.sets:
        return []
    return module(name).remote_files(sources.source(name))


def _cache_file(name: str, remote: RemoteFile, cache: Path) -> Path:
    if name == "music_solos":
        return cache / "lists" / remote.name
    if name == "points2sound_clouds":
        from .points2sound_clouds import _safe_name

        return cache / _safe_name(remote.name)
    return cache / remote.name


def source_status(
    sources: SourcesConfig, name: str, dataset_root: Path, cache_root: Path | None = None, verify: bool = True
) -> SourceStatus:
    st = SourceStatus(name, name in sources.selected, MISSING)
    if not sources.configured(name):
        st.note = "not configured under `sources:`"
        return st
    cache = cache_dir(sources, name, cache_root)
    try:
        remotes = _remotes(sources, name, cache)
    except Points2SoundError as exc:
        remotes, st.note = [], str(exc)
    if remotes is None:
        st.note = "file list unknown until the record's metadata is fetched"
        remotes = []
    manifest = _manifest(sources.rooms, name, dataset_root, st)
    recorded = _recorded_digests(manifest)
    for remote in remotes:
        path = _cache_file(name, remote, cache)
        st.downloads.append((str(path), _download_state(path, remote, recorded.get(remote.name), verify)))
    try:
        outs = module(name).targets(sources.source(name), dataset_root)
    except Points2SoundError:
        outs = []
    st.outputs = [(str(p), p.exists()) for p in outs]
    have_out = [ok for _, ok in st.outputs]
    dl_states = [s for _, s in st.downloads]
    if any(s == FAILED for s in dl_states):
        st.state = FAILED
    elif have_out and all(have_out) and manifest is not None and any(s.startswith(UNPINNED) for s in dl_states):
        st.state = PRESENT  # "verified" only where every download was checked against a pinned checksum
        st.note = st.note or "no published checksum for some downloads: their sha256 is recorded in the manifest"
    elif have_out and all(have_out) and manifest is not None:
        st.state = VERIFIED
    elif have_out and all(have_out):
        st.state = PRESENT
        st.note = (
            st.note or "outputs present without a manifest (placed by hand?): run `points2sound data fetch` to verify"
        )
    elif any(have_out) or any(s != MISSING for s in dl_states):
        st.state = PARTIAL
    return st


def _manifest(rooms: RoomsSource, name: str, dataset_root: Path, st: SourceStatus) -> dict[str, Any] | None:
    """The source's manifest (rooms: the first per-set one the Snakemake rule writes), noting a bad one in `st`."""
    mpath = manifest_path(dataset_root, name)
    if name == "rooms" and not mpath.is_file():  # the Snakemake rule writes one manifest per room set
        per_set = [manifest_path(dataset_root, f"rooms_{r}") for r in rooms.sets]
        if per_set and all(p.is_file() for p in per_set):
            mpath = per_set[0]
    if not mpath.is_file():
        return None
    try:
        manifest = read_manifest(mpath)
    except Points2SoundError as exc:
        st.note = str(exc)
        return None
    st.manifest = str(mpath)
    return manifest


def _recorded_digests(manifest: Mapping[str, Any] | None) -> dict[str, str]:
    files = (manifest or {}).get("files") or {}
    return {k: v["sha256"] for k, v in files.items() if isinstance(v, Mapping) and v.get("sha256")}


def _download_state(path: Path, remote: RemoteFile, recorded: str | None, verify: bool) -> str:
    """verified (pinned checksum checked), unpinned (+ whether it matches the manifest's sha256), corrupt, ..."""
    part = path.with_name(path.name + ".part")
    if not path.is_file():
        return f"{PARTIAL} ({part.stat().st_size} bytes)" if part.is_file() else MISSING
    if not verify:
        return PRESENT
    try:
        sha = verify_file(path, remote.checksum, remote.size)
    except ChecksumError:
        return FAILED
    if remote.checksum:
        return VERIFIED
    if recorded is None:
        return f"{UNPINNED} (sha256 {sha[:12]}..., no manifest to compare)"
    return f"{UNPINNED} (sha256 matches the manifest)" if sha == recorded else FAILED


def status_table(
    sources: SourcesConfig,
    dataset_root: Path,
    cache_root: Path | None = None,
    all_sources: bool = False,
    verify: bool = True,
) -> list[SourceStatus]:
    names = SOURCES if all_sources else sources.selected
    return [source_status(sources, n, dataset_root, cache_root, verify) for n in names]


def format_status(rows: list[SourceStatus], profile: str) -> str:
    if not rows:
        return (
            f"profile {profile!r} uses no downloaded source (its data are generated offline); "
            "use --all to see every source, or --profile paper"
        )
    lines = [f"data sources of profile {profile!r}:"]
    for r in rows:
        lines.append(f"  {r.source:<20} {r.state:<9}" + ("" if r.selected else " (not used by this profile)"))
        for path, state in r.downloads:
            lines.append(f"      download {state:<9} {path}")
        for path, ok in r.outputs:
            lines.append(f"      output   {'present' if ok else 'missing':<9} {path}")
        if r.manifest:
            lines.append(f"      manifest {r.manifest}")
        if r.note:
            lines.append(f"      note: {r.note.splitlines()[0]}")
    return "\n".join(lines)
