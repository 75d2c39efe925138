"""A split's recordings and performers, with caches of their decoded files (training rereads them)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...audio_io import read_wav, wav_info
from ...errors import InputFileError, ParameterError
from ...geometry.pointcloud import PointCloud, read_ply
from .spec import AUDIO_COLUMNS, PERFORMER_COLUMNS


class _ByteLRU:
    """Least-recently-used mapping bounded by the total bytes of its values."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self._items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()

    def get(self, key: Any) -> Any | None:
        hit = self._items.get(key)
        if hit is None:
            return None
        self._items.move_to_end(key)
        return hit[0]

    def put(self, key: Any, value: Any, nbytes: int) -> None:
        if nbytes > self.max_bytes:
            return
        if key in self._items:
            self.nbytes -= self._items.pop(key)[1]
        while self._items and self.nbytes + nbytes > self.max_bytes:
            self.nbytes -= self._items.popitem(last=False)[1][1]
        self._items[key] = (value, nbytes)
        self.nbytes += nbytes

    def __len__(self) -> int:
        return len(self._items)


class SourceCache:
    """LRU caches of decoded WAV files and PLY frames, bounded in bytes.

    A WAV file is kept whole when it is at most `max_wav_file_bytes` (short
    clips such as the embedded data: later segments are then free); longer files
    (5-minute renders) are read segment by segment with a seek, which is cheap,
    so they never crowd the cache. Once the WAV cache is full, a miss reads its
    segment alone instead of evicting a file: the cached files stay, and a
    segment read (0.4 ms for 0.5 s) costs a tenth of a whole 15 s read, which an
    LRU cycling through a training split larger than the cache (the demo's
    renders: 0.9 GB) would pay on almost every miss. The samples are the same
    either way. Cached arrays are read-only, so a caller that tried to modify a
    shared frame in place would fail loudly.
    """

    def __init__(
        self, wav_bytes: int = 512 << 20, frame_bytes: int = 512 << 20, max_wav_file_bytes: int = 16 << 20
    ) -> None:
        self._wav = _ByteLRU(wav_bytes)
        self._frames = _ByteLRU(frame_bytes)
        self.max_wav_file_bytes = int(max_wav_file_bytes)
        self.hits = 0
        self.misses = 0

    def audio(self, path: Path, start: int, stop: int, channels: int, sample_rate: int) -> np.ndarray:
        """Samples start:stop of a WAV file as float32 (channels, stop - start)."""
        key = str(path)
        whole = self._wav.get(key)
        if whole is None:
            self.misses += 1
            info = wav_info(path)  # clear error for a missing or unreadable file
            nbytes = info.frames * info.channels * 4
            if (
                nbytes > min(self.max_wav_file_bytes, self._wav.max_bytes)
                or self._wav.nbytes + nbytes > self._wav.max_bytes
            ):
                return read_wav(path, expected_sr=sample_rate, channels=channels, frames=(start, stop))[0]
            whole, _ = read_wav(path, expected_sr=sample_rate, channels=channels)
            whole.flags.writeable = False
            self._wav.put(key, whole, whole.nbytes)
        else:
            self.hits += 1
            if whole.shape[0] != channels:
                raise InputFileError(path, f"has {whole.shape[0]} channel(s), expected {channels}")
        if start < 0 or stop > whole.shape[1] or start > stop:
            raise InputFileError(path, f"sample range {start}:{stop} outside the file's {whole.shape[1]} samples")
        return whole[:, start:stop]

    def frame(self, path: Path) -> PointCloud:
        """A PLY frame (read-only arrays; transforms return new clouds)."""
        key = str(path)
        cloud = self._frames.get(key)
        if cloud is None:
            self.misses += 1
            cloud = read_ply(path)
            cloud.xyz.flags.writeable = False
            cloud.rgb.flags.writeable = False
            self._frames.put(key, cloud, cloud.xyz.nbytes + cloud.rgb.nbytes)
        else:
            self.hits += 1
        return cloud


# ---------------------------------------------------------------------------
# Sources: the split's recordings and performers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """One mono recording of the split (path relative to the dataset root)."""

    instrument: str
    name: str
    path: str
    n_samples: int


@dataclass(frozen=True)
class Performer:
    """One performer's point-cloud video (frames_dir relative to the dataset root)."""

    instrument: str
    name: str
    n_frames: int
    frames_dir: str


def _read_index(path: Path, columns: Sequence[str], what: str) -> pd.DataFrame:
    if not path.is_file():
        raise InputFileError(path, "split index not found", "run the split stage first")
    try:
        table = pd.read_csv(path, dtype={"recording": str, "performer": str, "instrument": str})
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(path, f"split index is empty: it lists no {what}") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"not a readable CSV file ({exc})") from exc
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputFileError(path, f"split index lacks column(s) {missing} (has {list(table.columns)})")
    if table.empty:
        raise InputFileError(path, f"split index lists no {what}", "the split is empty")
    return table


@dataclass
class SceneSources:
    """What scenes of one split are drawn from, and where their files lie.

    `audio` has the columns of AUDIO_COLUMNS, `performers` those of
    PERFORMER_COLUMNS. Only instruments with at least one recording and one
    performer can appear in a scene. `cache` holds decoded files between scenes.
    """

    dataset_root: Path
    split: str
    ir_set: str
    audio: pd.DataFrame
    performers: pd.DataFrame
    cache: SourceCache = field(default_factory=SourceCache, repr=False, compare=False)
    sample_rate: int = field(init=False)
    instruments: tuple[str, ...] = field(init=False)
    _recordings: dict[str, list[Recording]] = field(init=False, repr=False)
    _performers: dict[str, list[Performer]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.dataset_root = Path(self.dataset_root)
        where = self.dataset_root / "splits"
        for table, columns, name in (
            (self.audio, AUDIO_COLUMNS, "audio"),
            (self.performers, PERFORMER_COLUMNS, "performers"),
        ):
            missing = [c for c in columns if c not in table.columns]
            if missing:
                raise InputFileError(where / f"{self.split}_{name}.csv", f"split index lacks column(s) {missing}")
            if table.empty:
                raise InputFileError(
                    where / f"{self.split}_{name}.csv", f"split index lists no {name}", "the split is empty"
                )
        rates = sorted({int(r) for r in self.audio["sample_rate"]})
        if len(rates) != 1:
            raise InputFileError(where / f"{self.split}_audio.csv", f"recordings have mixed sample rates {rates}")
        self.sample_rate = rates[0]
        self._recordings = {}
        for row in self.audio.itertuples(index=False):
            n = int(round(float(row.duration_s) * int(row.sample_rate)))
            self._recordings.setdefault(str(row.instrument), []).append(
                Recording(str(row.instrument), str(row.recording), str(row.path), n)
            )
        self._performers = {}
        for row in self.performers.itertuples(index=False):
            if int(row.n_frames) < 1:
                raise InputFileError(
                    where / f"{self.split}_performers.csv", f"performer {row.performer!r} has no frames"
                )
            self._performers.setdefault(str(row.instrument), []).append(
                Performer(str(row.instrument), str(row.performer), int(row.n_frames), str(row.frames_dir))
            )
        for table in (self._recordings, self._performers):
            for items in table.values():
                items.sort(key=lambda item: item.name)  # draws must not depend on CSV row order
        self.instruments = tuple(sorted(set(self._recordings) & set(self._performers)))
        if not self.instruments:
            raise InputFileError(where, f"split {self.split!r} has no instrument with both recordings and performers")

    @classmethod
    def from_dataset(
        cls,
        dataset_root: str | Path,
        split: str,
        ir_set: str,
        cache: SourceCache | None = None,
        require_renders: bool = True,
    ) -> SceneSources:
        """Read splits/<split>_audio.csv and splits/<split>_performers.csv under `dataset_root`.

        `require_renders=False` for users of the mono recordings alone (separation pre-training)."""
        root = Path(dataset_root)
        audio = _read_index(root / "splits" / f"{split}_audio.csv", AUDIO_COLUMNS, "recordings")
        performers = _read_index(root / "splits" / f"{split}_performers.csv", PERFORMER_COLUMNS, "performers")
        renders = root / "binaural" / ir_set
        if require_renders and not renders.is_dir():
            raise InputFileError(renders, "binaural renders not found", f"run the render stage for IR set {ir_set!r}")
        return cls(root, split, ir_set, audio, performers, cache or SourceCache())

    def recordings(self, instrument: str) -> list[Recording]:
        return list(self._recordings.get(instrument, []))

    def performers_of(self, instrument: str) -> list[Performer]:
        return list(self._performers.get(instrument, []))

    def recording(self, instrument: str, name: str) -> Recording:
        for rec in self._recordings.get(instrument, []):
            if rec.name == name:
                return rec
        raise ParameterError("recording", f"{instrument}/{name} is not in split {self.split!r}")

    def performer(self, instrument: str, name: str) -> Performer:
        for perf in self._performers.get(instrument, []):
            if perf.name == name:
                return perf
        raise ParameterError("performer", f"{instrument}/{name} is not in split {self.split!r}")

    def mono_path(self, instrument: str, recording: str) -> Path:
        return self.dataset_root / self.recording(instrument, recording).path

    def render_path(self, instrument: str, recording: str, azimuth_deg: int) -> Path:
        return self.dataset_root / "binaural" / self.ir_set / instrument / f"{recording}_{int(azimuth_deg) % 360}.wav"

    def frame_path(self, instrument: str, performer: str, frame: int) -> Path:
        return self.dataset_root / self.performer(instrument, performer).frames_dir / f"{int(frame):05d}.ply"
