"""WAV input and output with validation (soundfile underneath)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from .atomic import atomic_path
from .errors import InputFileError

_SFC_SET_ADD_PEAK_CHUNK = 0x1050


def read_wav(
    path: str | Path,
    expected_sr: int | None = None,
    channels: int | None = None,
    frames: tuple[int, int] | None = None,
) -> tuple[np.ndarray, int]:
    """Read audio as float32 of shape (channels, samples).

    Raises InputFileError naming the file when it is missing, unreadable, has a
    different sample rate or channel count than expected, or holds NaN/inf.
    `frames` = (start, stop) reads only that sample range.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        with sf.SoundFile(str(path)) as f:
            sr = f.samplerate
            start, stop = (0, f.frames) if frames is None else frames
            if start < 0 or stop > f.frames or start > stop:
                raise InputFileError(path, f"sample range {start}:{stop} outside the file's {f.frames} samples")
            f.seek(start)
            data = f.read(stop - start, dtype="float32", always_2d=True)
    except InputFileError:
        raise
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise InputFileError(path, f"not a readable audio file ({exc})") from exc
    data = np.ascontiguousarray(data.T)
    if expected_sr is not None and sr != expected_sr:
        raise InputFileError(path, f"sample rate is {sr} Hz, expected {expected_sr} Hz")
    if channels is not None and data.shape[0] != channels:
        raise InputFileError(path, f"has {data.shape[0]} channel(s), expected {channels}")
    if not np.all(np.isfinite(data)):
        raise InputFileError(path, "contains NaN or infinite samples")
    return data, sr


def wav_info(path: str | Path) -> sf._SoundFileInfo:
    """Header of a WAV file, with a clear error when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        return sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise InputFileError(path, f"not a readable audio file ({exc})") from exc


def write_wav(path: str | Path, data: np.ndarray, sr: int, subtype: str = "FLOAT") -> None:
    """Write (channels, samples) or (samples,) audio atomically."""
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 1:
        data = data[None]
    if not np.all(np.isfinite(data)):
        raise ValueError(f"refusing to write non-finite audio to {path}")
    with atomic_path(path) as tmp:
        with sf.SoundFile(str(tmp), "w", sr, data.shape[0], subtype=subtype, format="WAV") as f:
            if subtype in ("FLOAT", "DOUBLE"):
                # libsndfile's PEAK chunk stamps the write time: drop it so equal data give equal bytes
                sf._snd.sf_command(f._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
            f.write(data.T)
