"""User-facing errors: each names the file or parameter at fault and what is wrong."""

from __future__ import annotations

from pathlib import Path


class Points2SoundError(Exception):
    """Base class for errors the CLI reports as one clear line (no traceback)."""


class FileError(Points2SoundError):
    """A file or folder at fault: the message starts with its path, then what is wrong."""

    def __init__(self, path: str | Path, problem: str, hint: str | None = None):
        self.path = Path(path)
        self.problem = problem
        message = f"{self.path}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class InputFileError(FileError):
    """A required input file is missing, corrupt or has the wrong content."""


class OutputFileError(FileError):
    """An output cannot be written where asked (one of the inputs, a full disk, no permission)."""


class ParameterError(Points2SoundError):
    """A parameter has a value outside what the pipeline accepts."""

    def __init__(self, name: str, problem: str):
        self.name = name
        super().__init__(f"parameter {name!r}: {problem}")


class RunStopped(Exception):
    """A run cut short on purpose (--stop-after): resumable, no output written (exit status 3)."""

    def __init__(self, iteration: int):
        super().__init__(f"stopped after iteration {iteration}; rerun the same command to resume")
        self.iteration = iteration
