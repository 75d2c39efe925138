"""Atomic output: write to a temporary sibling, then rename.

An interrupted stage must never leave a half-written file that a rerun mistakes
for a finished one, so every artifact goes through these helpers.

Temporary names carry their owner, `.<name>.<pid>@<host>.<random>.tmp[<suffix>]`,
so a later run can tell the leftovers of a killed process (kill -9 runs no cleanup)
from the work of a live one, and removes them: a dead process on this host, or a
name without an owner (written before owners were recorded). Temporaries of other
hosts (a shared cluster folder) are left alone: their process cannot be checked.

One rule for every output: a regular file (or a name not taken yet) is written atomically
as above; an existing character device or named pipe is written through, never replaced (the
file is made in the system's temporary folder, then copied into it); `-` is standard output;
anything else (a folder where a file goes, a socket, a block device) is refused in one line.

A full disk surfaces as one line naming the output and "no space left on device",
whether the writer raised OSError(ENOSPC) itself or wrapped it (libsndfile's
"System error.", torch's "enforce fail at inline_container.cc"): then the free space
of the folder tells.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputFileError

LOW_SPACE_BYTES = 1 << 20  # a writer that failed with less than this free in its folder ran out of space
_FULL = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded"}
# tempfile's random part is 8 of [a-z0-9_]; the owner tag is optional (older temporaries have none)
_TEMP = re.compile(r"^\..+?\.(?:(?P<pid>\d+)@(?P<host>[A-Za-z0-9_-]+)\.)?[a-z0-9_]{8}\.tmp(?:\.[A-Za-z0-9]+)?$")
_swept: set[Path] = set()


class NoSpaceError(OutputFileError):
    """An output could not be written for lack of space (or quota); nothing of it was kept."""


def _default_mode(directory: bool) -> int:
    """The mode a plain open()/mkdir() would give (mkstemp/mkdtemp restrict it to the owner)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def _owner() -> str:
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0]) or "host"
    return f"{os.getpid()}@{host}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's live process
        return True
    return True


def _stale(name: str) -> bool:
    """Whether a directory entry is a temporary whose writer is gone."""
    m = _TEMP.match(name)
    if m is None:
        return False
    if m["pid"] is None:
        return True
    return m["host"] == _owner().split("@", 1)[1] and not _alive(int(m["pid"]))


def remove_stale_temporaries(directory: str | Path) -> list[Path]:
    """Remove the temporaries that killed runs left in `directory`; return what was removed.

    Why: an interrupted stage (kill -9, a lost node) cannot clean up after itself, and
    its half-written temporaries would otherwise stay next to the outputs for good.
    """
    directory = Path(directory)
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not _stale(entry.name):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _sweep_once(directory: Path) -> None:
    """Sweep a folder the first time this process writes into it (a listing per file would cost O(n^2))."""
    key = directory.resolve()
    if key not in _swept:
        _swept.add(key)
        remove_stale_temporaries(directory)


def _free_bytes(directory: Path) -> int:
    try:
        st = os.statvfs(directory)
    except OSError:
        return 1 << 62
    return st.f_bavail * st.f_frsize


def _space_problem(exc: BaseException, directory: Path) -> str | None:
    """'no space left on device' (or the quota's words) when `exc` comes from a full disk, else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, NoSpaceError):
            return seen.problem
        if isinstance(seen, OSError) and seen.errno in _FULL:
            return _FULL[seen.errno]
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, (OSError, RuntimeError)) and _free_bytes(directory) < LOW_SPACE_BYTES:
        return _FULL[errno.ENOSPC]  # a writer that wraps ENOSPC in its own error (libsndfile, torch)
    return None


def _first_line(exc: BaseException, tmp: Path | None = None) -> str:
    """What failed, in a few words: the file being written (relative to a temporary folder), or the error's first line."""
    if isinstance(exc, NoSpaceError):
        inner = exc.path
        if tmp is not None and inner.is_relative_to(tmp):
            inner = inner.relative_to(tmp)
        return f"while writing {inner}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def _no_space(exc: BaseException, path: Path, directory: Path, tmp: Path | None = None) -> NoSpaceError | None:
    """NoSpaceError naming `path` when `exc` comes from a full disk (see _space_problem), else None."""
    problem = _space_problem(exc, directory)
    if problem is None:
        return None
    return NoSpaceError(path, problem, f"{_first_line(exc, tmp)}; nothing was kept: free some space and rerun")


def _mkdir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        err = _no_space(exc, path, path.parent if path.parent.exists() else Path("."))
        if err is not None:
            raise err from exc
        raise


STDOUT = "-"
_NOT_FILES = {stat.S_IFDIR: "a folder", stat.S_IFSOCK: "a socket", stat.S_IFBLK: "a block device"}


def output_kind(path: str | Path) -> str:
    """How an output path is written: 'file' (a regular file, or nothing there yet: atomically),
    'stream' (an existing character device or named pipe: written through) or 'stdout' (`-`).

    Anything else is refused: replacing a device node or a pipe by a regular file would break what
    reads it, and a folder or socket cannot take a file's bytes.
    """
    if str(path) == STDOUT:
        return "stdout"
    try:
        mode = os.stat(path).st_mode  # a symlink counts as what it points to
    except (FileNotFoundError, NotADirectoryError):
        return "file"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream"
    what = _NOT_FILES.get(stat.S_IFMT(mode), "not a regular file")
    raise OutputFileError(
        path, f"is {what}: an output is a regular file, a character device, a named pipe or - (standard output)"
    )


@contextlib.contextmanager
def _written_through(path: Path, kind: str, suffix: str) -> Iterator[Path]:
    """A temporary file in the system's temporary folder, copied into the device, pipe or standard
    output on success (a pipe's reader gets the whole file at once)."""
    fd, tmp = tempfile.mkstemp(prefix=f".p2s-out.{_owner()}.", suffix=f".tmp{suffix}")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        try:
            with tmp_path.open("rb") as src:
                if kind == "stdout":
                    shutil.copyfileobj(src, sys.stdout.buffer)
                    sys.stdout.buffer.flush()
                else:
                    with open(path, "wb") as out:
                        shutil.copyfileobj(src, out)
        except OSError as exc:
            if exc.errno in _FULL:
                raise NoSpaceError(path, _FULL[exc.errno], "nothing more was written") from exc
            raise OutputFileError(path, f"cannot be written ({exc.strerror or exc})") from exc
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it onto `path` on success.

    The temporary name keeps the final suffix (writers such as soundfile and
    sofar pick the format from it). On any exception the temporary file is removed;
    a full disk is reported as NoSpaceError naming `path`.
    """
    path = Path(path)
    suffix = path.suffix if suffix is None else suffix
    kind = output_kind(path)
    if kind != "file":
        with _written_through(path, kind, suffix) as tmp:
            yield tmp
        return
    _mkdir(path.parent)
    _sweep_once(path.parent)
    tmp_path: Path | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{_owner()}.", suffix=f".tmp{suffix}", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, _default_mode(directory=False))
        os.replace(tmp_path, path)
    except BaseException as exc:
        err = _no_space(exc, path, path.parent)  # before the unlink frees the space
        if tmp_path is not None:
            tmp_path.unlink(missing_ok=True)
        if err is not None:
            raise err from exc
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces `path` as a whole on success.

    Leftover temporaries of killed runs next to `path` are removed first; a full disk
    is reported as NoSpaceError naming `path` (and the file that was being written).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputFileError(path, "exists and is not a folder: this output is a folder (remove or rename it)")
    _mkdir(path.parent)
    remove_stale_temporaries(path.parent)
    tmp: Path | None = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{_owner()}.", suffix=".tmp", dir=path.parent))
        yield tmp
        os.chmod(tmp, _default_mode(directory=True))
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        err = _no_space(exc, path, path.parent, tmp)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if err is not None:
            raise err from exc
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
