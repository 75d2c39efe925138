"""User-facing errors: each names the file or parameter at fault and what is wrong."""

from __future__ import annotations

from pathlib import Path


class Points2SoundError(Exception):
    """Base class for errors the CLI reports as one clear line (no traceback)."""


class InputFileError(Points2SoundError):
    """A required input file is missing, corrupt or has the wrong content."""

    def __init__(self, path: str | Path, problem: str, hint: str | None = None):
        self.path = Path(path)
        self.problem = problem
        message = f"{self.path}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class ParameterError(Points2SoundError):
    """A parameter has a value outside what the pipeline accepts."""

    def __init__(self, name: str, problem: str):
        self.name = name
        super().__init__(f"parameter {name!r}: {problem}")
