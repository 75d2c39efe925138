"""Point-cloud videos: the 3D-video Point Cloud Musicians Dataset (Zenodo record 4812952).

The record's files are listed by Zenodo's REST API with their md5 checksums; each is
downloaded (resumable, verified), archives are extracted safely, and every folder
holding PLY frames becomes one performer: its instrument is the first path
component that names one of `instruments` (after `instrument_aliases`, e.g. the
reference code's `sax`), its frames are renumbered 00000.ply, 00001.ply, ... in
natural order, and it lands in data/<profile>/frames/<instrument>/<performer>/.

Axes: the paper's convention is y = stature (up), z = the performer's facing
direction, x = side, in metres. Each performer's first frame is checked: the axis
with the largest extent must be y and the extent must be a person's (not
millimetres). With `axes: check` a violation stops the fetch naming the file;
with `axes: fix` the cloud is rotated (and scaled) into the convention and the
manifest records what was done.

Offline: the record's metadata is cached next to the downloads, so files placed
by hand in the cache folder are verified against the published checksums.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...atomic import atomic_dir, write_text
from ...errors import InputFileError, ParameterError
from ...geometry.pointcloud import PointCloud, read_ply, write_ply
from ...settings.sources import CloudsSource, FetchOptions, RemoteFile
from .download import DownloadError, zenodo_files, zenodo_record
from .extract import archive_kind, check_archive, safe_extract
from .remote import fetch_remote

log = logging.getLogger(__name__)
NAME = "points2sound_clouds"
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def record_url(cfg: CloudsSource, options: FetchOptions) -> str:
    return f"{options.zenodo_api.rstrip('/')}/{cfg.zenodo_record}"


def _record_meta(cfg: CloudsSource, options: FetchOptions, cache: Path) -> dict[str, Any]:
    """The record's metadata: fresh from the API, else the copy cached by an earlier fetch."""
    saved = cache / "record.json"
    try:
        meta = zenodo_record(cfg.zenodo_record, options.zenodo_api, options.timeout_s)
    except DownloadError as exc:
        if saved.is_file():
            log.warning("Zenodo API unreachable; using the cached record metadata %s", saved)
            return json.loads(saved.read_text())
        raise DownloadError(
            f"the file list of Zenodo record {cfg.zenodo_record} (the 3D-video Point Cloud Musicians Dataset)",
            cache / "record.json",
            exc.failures,
            f"the record's JSON from {record_url(cfg, options)}; also download its files into {cache}/",
        ) from None
    write_text(saved, json.dumps(meta, indent=1, sort_keys=True))
    return meta


def remote_files(cfg: CloudsSource, options: FetchOptions, cache: Path | None = None) -> list[RemoteFile]:
    """The record's files matching `cfg.files` (the metadata is saved in `cache`, when given, for offline use)."""
    if cache is not None:
        meta = _record_meta(cfg, options, cache)
    else:
        meta = zenodo_record(cfg.zenodo_record, options.zenodo_api, options.timeout_s)
    files = zenodo_files(meta, cfg.zenodo_record, options.zenodo_api, cfg.files)
    if not files:
        raise InputFileError(Path(record_url(cfg, options)), f"no file of the record matches {cfg.files!r}")
    return files


def targets(cfg: CloudsSource, root: Path) -> list[Path]:
    return [root / "frames"]


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "performer"


def ply_vertex_count(path: Path) -> int:
    """The vertex count from a PLY header, without reading the points."""
    with open(path, "rb") as f:
        header = f.read(4096)
    m = re.search(rb"element\s+vertex\s+(\d+)", header)
    if not m:
        raise InputFileError(path, "PLY header has no 'element vertex' line")
    return int(m.group(1))


def axes_transform(
    xyz: np.ndarray, path: Path, min_extent_m: float = 0.3, max_extent_m: float = 4.0
) -> tuple[np.ndarray | None, str]:
    """(3x3 matrix taking the cloud into paper axes and metres, or None when it already is; a note)."""
    if len(xyz) < 10:
        raise InputFileError(path, f"only {len(xyz)} points; cannot check its axes")
    extent = np.percentile(xyz, 98, axis=0) - np.percentile(xyz, 2, axis=0)
    notes = []
    scale = 1.0
    if extent.max() > 100 * max_extent_m:
        scale, notes = 0.001, ["millimetres -> metres"]
    elif extent.max() > 10 * max_extent_m:
        scale, notes = 0.01, ["centimetres -> metres"]
    ext = extent * scale
    if not min_extent_m <= ext.max() <= max_extent_m:
        raise InputFileError(
            path, f"largest extent {ext.max():.3g} m is not a performer's (expected {min_extent_m}..{max_extent_m} m)"
        )
    up = int(np.argmax(ext))
    rot = np.eye(3)
    if up == 2:  # z up: rotate -90 deg about x (y' = z, z' = -y)
        rot = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]).T
        notes.append("z-up -> y-up")
    elif up == 0:  # x up: rotate 90 deg about z (y' = x, x' = -y)
        rot = np.array([[0, -1.0, 0], [1.0, 0, 0], [0, 0, 1.0]]).T
        notes.append("x-up -> y-up")
    if not notes:
        return None, "paper axes (y up, metres)"
    return rot * scale, ", ".join(notes)


def _performer_dirs(extracted: list[Path]) -> list[Path]:
    dirs = set()
    for base in extracted:
        for ply in base.rglob("*.ply"):
            if ply.is_file() and not ply.name.startswith("."):
                dirs.add(ply.parent)
    return sorted(dirs, key=lambda p: _natural_key(str(p)))


def _instrument_of(path: Path, base: Path, instruments, aliases: Mapping[str, str]) -> str | None:
    for part in path.relative_to(base).parts:
        key = re.sub(r"[\s-]+", "_", part.strip().lower())
        key = aliases.get(key, key)
        if key in instruments:
            return key
    return None


def _check_download(path: Path) -> None:
    """An archive must list; a single PLY frame must read (used where Zenodo published no checksum)."""
    if path.suffix.lower() == ".ply":
        read_ply(path)
    else:
        check_archive(path)


def fetch(cfg: CloudsSource, options: FetchOptions, root: Path, cache: Path) -> dict[str, Any]:
    if cfg.axes not in ("check", "fix"):
        raise ParameterError(f"sources.{NAME}.axes", f"must be 'check' or 'fix', got {cfg.axes!r}")
    files = remote_files(cfg, options, cache)
    digests: dict[str, dict[str, Any]] = {}
    extracted: list[Path] = []
    for remote in files:
        raw = cache / _safe_name(remote.name)
        sha = fetch_remote(options, remote, raw, NAME, check=_check_download)
        digests[remote.name] = {
            "sha256": sha,
            "md5": str(remote.checksum or "").removeprefix("md5:") or None,
            "size": remote.size,
            "pinned": bool(remote.checksum),
        }
        folder = _unpacked(raw, remote.name, sha, cache)
        if folder is not None:
            extracted.append(folder)
    with atomic_dir(root / "frames") as tmp:
        found = _write_performers(cfg, extracted, cache, tmp)
    return {
        "urls": [f.urls[0] for f in files],
        "record": f"zenodo:{cfg.zenodo_record}",
        "doi": cfg.doi,
        "licence": files[0].licence or cfg.licence,
        "files": digests,
        "file_count": found.frames,
        "point_count": found.points,
        "performers": {i: len(p) for i, p in found.performers.items()},
        "performer_sources": found.performers,
        "axes": {"mode": cfg.axes, "converted": found.transforms},
        "unmapped_folders": found.unmapped,
    }


def _unpacked(raw: Path, name: str, sha: str, cache: Path) -> Path | None:
    """The folder holding a download's frames (extracted once per checksum); None for a file that is neither."""
    if raw.suffix.lower() == ".ply":
        return raw.parent
    if not raw.name.lower().endswith(ARCHIVE_SUFFIXES):
        try:
            archive_kind(raw)
        except InputFileError:
            log.info("%s: not an archive, skipped", raw.name)
            return None
    dest = cache / "extracted" / _safe_name(name)
    done = dest / ".complete"
    if not (done.is_file() and done.read_text().strip() == sha):
        safe_extract(raw, dest)
        (dest / ".complete").write_text(sha)
    return dest


@dataclass
class _Found:
    """What the conversion wrote: performers per instrument, axes converted, folders left out, totals."""

    performers: dict[str, list[dict[str, Any]]]
    transforms: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    frames: int = 0
    points: int = 0


def _write_performers(cfg: CloudsSource, extracted: list[Path], cache: Path, out: Path) -> _Found:
    """Each folder of PLY frames as out/<instrument>/<performer>/<nnnnn>.ply, in the paper's axes."""
    found = _Found({i: [] for i in cfg.instruments})
    for folder in _performer_dirs(extracted):
        base = next(b for b in extracted if folder.is_relative_to(b))
        inst = _instrument_of(folder, base, cfg.instruments, cfg.instrument_aliases)
        if inst is None:
            found.unmapped.append(str(folder.relative_to(cache)))
            continue
        name = _safe_name(folder.name)
        taken = {p["performer"] for p in found.performers[inst]}
        if name in taken:
            name = _safe_name(f"{base.name}-{folder.name}")
        frames = sorted(
            (p for p in folder.glob("*.ply") if not p.name.startswith(".")), key=lambda p: _natural_key(p.name)
        )
        matrix, note = axes_transform(read_ply(frames[0]).xyz, frames[0])
        if matrix is not None:
            if cfg.axes == "check":
                raise InputFileError(
                    frames[0],
                    f"is not in the paper's axes ({note})",
                    f"set sources.{NAME}.axes: fix to convert, or convert the files by hand",
                )
            found.transforms[f"{inst}/{name}"] = note
        found.points += _write_frames(frames, out / inst / name, matrix)
        found.frames += len(frames)
        found.performers[inst].append(
            {"performer": name, "frames": len(frames), "from": str(folder.relative_to(cache))}
        )
    missing = [i for i in cfg.instruments if not found.performers[i]]
    if missing:
        raise InputFileError(
            cache,
            f"no performers found for {missing}",
            f"check the record's layout and sources.{NAME}.instrument_aliases",
        )
    return found


def _write_frames(frames: list[Path], out_dir: Path, matrix: np.ndarray | None) -> int:
    """Copy (or rotate into the paper's axes) the frames as 00000.ply, 00001.ply, ...; returns their points."""
    out_dir.mkdir(parents=True, exist_ok=True)
    points = 0
    for i, src in enumerate(frames):
        dst = out_dir / f"{i:05d}.ply"
        if matrix is None:
            shutil.copyfile(src, dst)
            points += ply_vertex_count(dst)
        else:
            cloud = read_ply(src)
            write_ply(dst, PointCloud(cloud.xyz.astype(np.float64) @ matrix, cloud.rgb))
            points += len(cloud)
    return points
