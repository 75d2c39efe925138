"""Checks on the paths a command is given, made before any work.

A directory where a file is expected is named as a directory (not "not found"),
and an output that is one of the command's own inputs is refused before anything
is read, so a typo in `--out` can never overwrite the original it was computed from.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .errors import InputFileError, OutputFileError


def require_file(path: str | Path, what: str = "file") -> Path:
    """`path` as a Path when it is an existing regular file; else InputFileError saying why.

    "is a directory" and "not found" are told apart: a user who passed a folder
    by mistake should not go looking for a missing file.
    """
    path = Path(path)
    if path.is_dir():
        article = "an" if what[:1].lower() in "aeiou" else "a"
        raise InputFileError(path, f"is a directory, expected {article} {what}")
    if not path.is_file():
        raise InputFileError(path, f"{what} not found")
    return path


def same_path(a: str | Path, b: str | Path) -> bool:
    """Whether two names denote one file: the same inode when both exist (links too), else the same resolved path."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def refuse_overwriting_inputs(out: str | Path, inputs: Iterable[tuple[str, str | Path | None]]) -> None:
    """OutputFileError when `out` is one of the (role, path) inputs: it would be overwritten by its own result."""
    for role, path in inputs:
        if path is not None and same_path(out, path):
            raise OutputFileError(
                out, f"the output is also the {role} input; refusing to overwrite it (choose another --out)"
            )
