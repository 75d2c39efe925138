"""Audio input and output with validation (soundfile underneath).

Every reader of the project goes through here (the pipeline's stages and the user
commands alike), so each bad file is refused the same way: missing, a directory,
unreadable, cut short, empty, or holding NaN.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from .atomic import atomic_path
from .errors import InputFileError
from .paths import require_file

_SFC_SET_ADD_PEAK_CHUNK = 0x1050
_UNKNOWN_LENGTHS = (0, 0xFFFFFFFF)  # what streaming writers put in a data chunk whose length they do not know


def wav_shortfall(path: str | Path) -> tuple[int, int] | None:
    """(frames the header declares, frames the file holds) for a RIFF WAVE file cut short; None otherwise.

    libsndfile silently shortens a data chunk to the bytes present, so a truncated
    copy would read as a shorter recording; the header's own length tells.
    Non-WAV files, RF64 and unknown lengths give None.
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        size = os.fstat(f.fileno()).st_size
        pos, block_align = 12, 0
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, length = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"fmt ":
                fmt = f.read(min(length, 16))
                block_align = struct.unpack_from("<H", fmt, 12)[0] if len(fmt) >= 14 else 0
            elif chunk_id == b"data":
                held = size - pos - 8
                if block_align and length not in _UNKNOWN_LENGTHS and length > held:
                    return length // block_align, held // block_align
                return None
            pos += 8 + length + (length & 1)
    return None


def _check_complete(path: Path) -> None:
    short = wav_shortfall(path)
    if short is not None:
        raise InputFileError(
            path,
            f"is truncated: its header declares {short[0]} frames, the file holds {short[1]}",
            "an interrupted copy or download? restore or regenerate it",
        )


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
    path = require_file(path, "audio file")
    _check_complete(path)
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
    path = require_file(path, "audio file")
    _check_complete(path)
    try:
        return sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise InputFileError(path, f"not a readable audio file ({exc})") from exc


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Any audio file soundfile reads, as float32 (channels, samples), at its own rate and channel count.

    Raises InputFileError when missing, a directory, unreadable, truncated, empty or
    holding NaN/inf samples (the user commands' reader: no rate or channel is imposed).
    """
    path = require_file(path, "audio file")
    _check_complete(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, TypeError, ValueError) as exc:
        raise InputFileError(path, f"not a readable audio file ({exc})") from exc
    if data.shape[0] == 0:
        raise InputFileError(path, "audio file is empty (no samples)")
    if not np.all(np.isfinite(data)):
        raise InputFileError(path, "audio contains NaN or infinite samples")
    return np.ascontiguousarray(data.T), int(sr)


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
