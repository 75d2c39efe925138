"""Safe extraction of zip and tar archives.

Every member name is checked before anything is written: absolute paths, drive
letters, `..` components and names that resolve outside the target folder are
refused, and so are links (tar symlinks/hard links, zip entries flagged as
symlinks) whose target leaves the folder; links inside it are skipped rather than
created, so nothing extracted can point outside. Device files and FIFOs are
skipped. Extraction goes to a temporary folder renamed onto the target on success.
"""

from __future__ import annotations

import fnmatch
import logging
import posixpath
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from ...atomic import atomic_dir
from ...errors import InputFileError

log = logging.getLogger(__name__)


class UnsafeArchiveError(InputFileError):
    """An archive member would land outside the extraction folder."""


def _check_name(archive: Path, name: str) -> str:
    """The member's normalized relative POSIX path, or UnsafeArchiveError."""
    raw = name.replace("\\", "/")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":") or raw.startswith("//"):
        raise UnsafeArchiveError(
            archive,
            f"member {name!r} has an absolute path; refusing to extract",
            "the archive is corrupt or malicious; delete it",
        )
    parts = PurePosixPath(raw).parts
    if ".." in parts:
        raise UnsafeArchiveError(
            archive,
            f"member {name!r} climbs out of the target folder ('..'); refusing to extract",
            "the archive is corrupt or malicious; delete it",
        )
    clean = posixpath.normpath(raw)
    if clean in (".", ""):
        return ""
    return clean


def _check_link(archive: Path, name: str, target: str) -> None:
    base = posixpath.dirname(_check_name(archive, name))
    joined = posixpath.normpath(posixpath.join(base, target.replace("\\", "/")))
    if target.startswith("/") or joined == ".." or joined.startswith("../"):
        raise UnsafeArchiveError(
            archive,
            f"member {name!r} links outside the target folder (to {target!r}); refusing to extract",
            "the archive is corrupt or malicious; delete it",
        )


def archive_kind(path: Path) -> str:
    if zipfile.is_zipfile(path):
        return "zip"
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except OSError:
        pass
    raise InputFileError(path, "not a zip or tar archive")


def iter_members(archive: str | Path, pattern: str | None = None) -> Iterator[tuple[str, Callable[[], IO[bytes]]]]:
    """Yield (safe relative name, opener) for every regular file, after checking the whole archive.

    `pattern` (fnmatch on the relative name) selects members; the safety checks
    cover every member, selected or not.
    """
    archive = Path(archive)
    kind = archive_kind(archive)
    if kind == "zip":
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                _check_name(archive, info.filename)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    _check_link(archive, info.filename, zf.read(info).decode("utf-8", "replace"))
            for info in infos:
                mode = info.external_attr >> 16
                name = _check_name(archive, info.filename)
                if info.is_dir() or not name or stat.S_ISLNK(mode):
                    continue
                if pattern and not fnmatch.fnmatch(name, pattern):
                    continue
                yield name, (lambda info=info: zf.open(info))
    else:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for m in members:
                _check_name(archive, m.name)
                if m.issym():
                    _check_link(archive, m.name, m.linkname)
                elif m.islnk():
                    _check_name(archive, m.linkname)
            for m in members:
                name = _check_name(archive, m.name)
                if not m.isfile() or not name:
                    if m.issym() or m.islnk():
                        log.debug("%s: skipping link %s", archive, m.name)
                    continue
                if pattern and not fnmatch.fnmatch(name, pattern):
                    continue
                yield name, (lambda m=m: tf.extractfile(m))


def check_archive(archive: str | Path) -> int:
    """The number of files an archive lists (its names checked): the format check of an unpinned download.

    A truncated zip has no central directory and a truncated tar ends early, so
    listing the whole archive finds both before the file gets its final name.
    """
    try:
        count = sum(1 for _ in iter_members(archive))
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise InputFileError(archive, f"not a readable archive ({type(exc).__name__}: {exc})") from exc
    if not count:
        raise InputFileError(archive, "archive holds no files")
    return count


def safe_extract(archive: str | Path, dest: str | Path, pattern: str | None = None) -> list[str]:
    """Extract the regular files of `archive` into `dest` (replaced atomically); return their names."""
    archive, dest = Path(archive), Path(dest)
    names: list[str] = []
    with atomic_dir(dest) as tmp:
        root = tmp.resolve()
        for name, opener in iter_members(archive, pattern):
            target = tmp / name
            if not target.resolve().is_relative_to(root):  # belt and braces after the name checks
                raise UnsafeArchiveError(archive, f"member {name!r} resolves outside the target folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            with opener() as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            names.append(name)
    log.info("extracted %d files from %s into %s", len(names), archive.name, dest)
    return names
