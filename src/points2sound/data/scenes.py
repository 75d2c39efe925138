"""Audio-visual 3D scenes (paper Sec. 3.4): mono input, binaural target, voxelized point cloud.

A scene holds N sources (N uniform in 1..3), each a distinct instrument at a
distinct azimuth from the render set and a uniform random distance of 1 to 3 m.
Its binaural target is the sum of the sources' pre-rendered binaural segments
(scaled by 1/N like the reference code); its point cloud merges one performer
of each instrument, turned to face the listener and placed at its azimuth and
distance; the merged cloud is voxelized (0.02 m).

A scene is first drawn as a small, serialisable `SceneSpec` (which recordings,
segments, performers, frames, azimuths, distances), then built from files. Test
sets are fixed lists of specs materialized once (`materialize_scenes`), so every
model and baseline is scored on the same scenes; training draws scene i from
(seed, i) on the fly (`SceneSampler`).

Inputs follow the data contract under one dataset root:
    splits/<split>_audio.csv       recording,instrument,path,duration_s,sample_rate
    splits/<split>_performers.csv  performer,instrument,n_frames,frames_dir
    binaural/<ir_set>/<instrument>/<recording>_<az>.wav   (az whole degrees, 0..359)
    frames/<instrument>/<performer>/<frame:05d>.ply
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..atomic import atomic_path
from ..audio_io import read_wav, wav_info
from ..errors import InputFileError, ParameterError
from ..geometry.augment import AugmentParams, augment_performer
from ..geometry.pointcloud import PointCloud, read_ply
from ..geometry.transforms import place_performer
from ..geometry.voxelize import scene_features, voxelize
from .scene_design import DESIGNS, balanced_azimuths, required_multiple

AUDIO_COLUMNS = ("recording", "instrument", "path", "duration_s", "sample_rate")
PERFORMER_COLUMNS = ("performer", "instrument", "n_frames", "frames_dir")
DEFAULT_AZIMUTHS_DEG = (0, 45, 90, 135, 180, 225, 270, 315)
MONO_INPUTS = ("true_mono", "left", "sum_lr")
FEATURE_KINDS = ("rgb", "xyz")
MonoInput = Literal["true_mono", "left", "sum_lr"]
FeatureKind = Literal["rgb", "xyz"]


# ---------------------------------------------------------------------------
# Caching of decoded files (training reads the same frames and renders often)
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Scene specifications
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceSpec:
    """One source of a scene: what plays, which segment, who is seen, where."""

    instrument: str
    recording: str
    start: int  # first sample of the segment
    performer: str
    frame: int
    azimuth_deg: int
    distance_m: float


def same_side(azimuths_deg: Sequence[float]) -> bool:
    """True when every source is strictly on one side of the head:
    all azimuths in (0, 180) (left) or all in (180, 360) (right)."""
    az = [float(a) % 360.0 for a in azimuths_deg]
    return bool(az) and (all(0 < a < 180 for a in az) or all(180 < a < 360 for a in az))


_LIST_COLUMNS = {  # scenes.csv column -> (SourceSpec field, parser)
    "instruments": ("instrument", str),
    "recordings": ("recording", str),
    "segment_starts": ("start", int),
    "performers": ("performer", str),
    "frames": ("frame", int),
    "azimuths_deg": ("azimuth_deg", int),
    "distances_m": ("distance_m", float),
}


@dataclass(frozen=True)
class SceneSpec:
    """A scene as a small record; `build_scene` turns it into arrays."""

    scene_id: str
    segment_samples: int
    sample_rate: int
    sources: tuple[SourceSpec, ...]

    @property
    def n_sources(self) -> int:
        return len(self.sources)

    @property
    def same_side(self) -> bool:
        return same_side([s.azimuth_deg for s in self.sources])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sources"] = [asdict(s) for s in self.sources]
        d["n_sources"] = self.n_sources
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SceneSpec:
        return cls(
            str(d["scene_id"]),
            int(d["segment_samples"]),
            int(d["sample_rate"]),
            tuple(SourceSpec(**s) for s in d["sources"]),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SceneSpec:
        return cls.from_dict(json.loads(text))

    def to_row(self) -> dict[str, Any]:
        """One scenes.csv row; list-valued columns joined with ';' (floats at full precision)."""
        row: dict[str, Any] = dict(
            scene_id=self.scene_id,
            n_sources=self.n_sources,
            segment_samples=self.segment_samples,
            sample_rate=self.sample_rate,
        )
        for column, (attr, _) in _LIST_COLUMNS.items():
            row[column] = ";".join(
                repr(v) if isinstance(v, float) else str(v) for v in (getattr(s, attr) for s in self.sources)
            )
        row["same_side"] = self.same_side
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SceneSpec:
        values = {attr: [parse(v) for v in str(row[col]).split(";")] for col, (attr, parse) in _LIST_COLUMNS.items()}
        n = int(row["n_sources"])
        if any(len(v) != n for v in values.values()):
            raise ValueError(f"scene {row['scene_id']}: list columns do not all hold {n} values")
        sources = tuple(SourceSpec(**{attr: values[attr][i] for attr in values}) for i in range(n))
        return cls(str(row["scene_id"]), int(row["segment_samples"]), int(row["sample_rate"]), sources)


def _check_azimuths(azimuths_deg: Sequence[float]) -> list[int]:
    az = [int(round(float(a))) % 360 for a in azimuths_deg]
    if not az:
        raise ParameterError("azimuths_deg", "needs at least one azimuth")
    if any(abs(float(a) - round(float(a))) > 1e-9 for a in azimuths_deg):
        raise ParameterError("azimuths_deg", f"must be whole degrees (render file names), got {list(azimuths_deg)}")
    if len(set(az)) != len(az):
        raise ParameterError("azimuths_deg", f"must be distinct modulo 360, got {list(azimuths_deg)}")
    return sorted(az)


def sample_scene_spec(
    rng: np.random.Generator,
    sources: SceneSources,
    n_sources: int | None = None,
    max_sources: int = 3,
    azimuths_deg: Sequence[float] = DEFAULT_AZIMUTHS_DEG,
    distance_range: tuple[float, float] = (1.0, 3.0),
    segment_samples: int = 131072,
    fps: float = 15,
    sample_rate: int | None = None,
    scene_id: str = "scene",
    fixed_azimuths_deg: Sequence[int] | None = None,
) -> SceneSpec:
    """Draw one scene (paper Sec. 3.4) from `rng` alone.

    N is uniform in 1..max_sources unless `n_sources` fixes it; N distinct
    instruments and N distinct azimuths; per source a distance U(distance_range),
    a recording of that instrument at least `segment_samples` long, a segment
    start uniform over the recording, a performer of that instrument and the
    video frame at the segment's start time, floor(start_s * fps) mod n_frames.
    The order of draws is fixed, so the spec is a function of the rng's state.
    `fixed_azimuths_deg` (one per source, from `azimuths_deg`) replaces the azimuth
    draw (a balanced test-set design, `scene_design`); the other draws are as without it.
    """
    sr = sources.sample_rate if sample_rate is None else int(sample_rate)
    if sr != sources.sample_rate:
        raise ParameterError("sample_rate", f"{sr} Hz differs from the split's recordings ({sources.sample_rate} Hz)")
    if max_sources < 1:
        raise ParameterError("max_sources", f"must be >= 1, got {max_sources}")
    if segment_samples < 1:
        raise ParameterError("segment_samples", f"must be >= 1, got {segment_samples}")
    if not fps > 0:
        raise ParameterError("fps", f"must be > 0, got {fps}")
    lo, hi = (float(d) for d in distance_range)
    if not 0 < lo <= hi:
        raise ParameterError("distance_range", f"need 0 < min <= max, got ({lo}, {hi})")
    azimuths = _check_azimuths(azimuths_deg)
    eligible = {
        inst: [r for r in sources.recordings(inst) if r.n_samples >= segment_samples] for inst in sources.instruments
    }
    instruments = [inst for inst in sources.instruments if eligible[inst]]
    n = int(rng.integers(1, max_sources + 1)) if n_sources is None else int(n_sources)
    if n < 1:
        raise ParameterError("n_sources", f"must be >= 1, got {n}")
    if n > len(instruments):
        raise ParameterError(
            "n_sources",
            f"{n} sources need {n} distinct instruments, but split {sources.split!r} has only "
            f"{len(instruments)} with a recording of at least {segment_samples} samples",
        )
    if n > len(azimuths):
        raise ParameterError("n_sources", f"{n} sources need {n} distinct azimuths, got {azimuths}")
    chosen = [instruments[i] for i in rng.choice(len(instruments), size=n, replace=False)]
    if fixed_azimuths_deg is None:
        chosen_az = [azimuths[i] for i in rng.choice(len(azimuths), size=n, replace=False)]
    else:
        chosen_az = [int(a) % 360 for a in fixed_azimuths_deg]
        if len(chosen_az) != n or len(set(chosen_az)) != n or not set(chosen_az) <= set(azimuths):
            raise ParameterError(
                "fixed_azimuths_deg", f"need {n} distinct azimuths of {azimuths}, got {list(fixed_azimuths_deg)}"
            )
    specs = []
    for inst, az in zip(chosen, chosen_az):
        distance = float(rng.uniform(lo, hi))
        rec = eligible[inst][int(rng.integers(len(eligible[inst])))]
        start = int(rng.integers(0, rec.n_samples - segment_samples + 1))
        perfs = sources.performers_of(inst)
        perf = perfs[int(rng.integers(len(perfs)))]
        frame = math.floor(start * fps / sr) % perf.n_frames
        specs.append(SourceSpec(inst, rec.name, start, perf.name, int(frame), int(az), distance))
    return SceneSpec(scene_id, int(segment_samples), sr, tuple(specs))


def make_scene_specs(
    sources: SceneSources,
    count: int,
    seed: int,
    per_n_equal: bool = True,
    max_sources: int = 3,
    azimuths_deg: Sequence[float] = DEFAULT_AZIMUTHS_DEG,
    distance_range: tuple[float, float] = (1.0, 3.0),
    segment_samples: int = 131072,
    fps: float = 15,
    sample_rate: int | None = None,
    id_prefix: str = "scene",
    design: str = "random",
    same_side_share: float = 0.0,
) -> list[SceneSpec]:
    """A fixed, seeded list of scene specs (a test set).

    With `per_n_equal`, each N in 1..max_sources gets count / max_sources scenes
    (504 = 168 per N in the paper), in a seeded shuffled order; otherwise N is
    drawn per scene. Scene i is drawn from np.random.default_rng([seed, i]).
    For a room test set pass its azimuths (e.g. 270, 315, 0, 45, 90).

    `design='random'` draws each scene's azimuths with the rest of the scene;
    `design='balanced'` (needs `per_n_equal`) takes them from
    `scene_design.balanced_azimuths`: every azimuth equally often within each N,
    and round(same_side_share * count / max_sources) same-side scenes at N = 2.
    Counts that cannot be balanced over `azimuths_deg` raise a ParameterError.
    """
    if count < 1:
        raise ParameterError("count", f"must be >= 1, got {count}")
    if seed < 0:
        raise ParameterError("seed", f"must be >= 0, got {seed}")
    if max_sources < 1:
        raise ParameterError("max_sources", f"must be >= 1, got {max_sources}")
    if design not in DESIGNS:
        raise ParameterError("scenes.test.design", f"must be one of {DESIGNS}, got {design!r}")
    n_list: list[int | None]
    if per_n_equal:
        if count % max_sources:
            raise ParameterError("count", f"{count} scenes cannot be split equally over N = 1..{max_sources}")
        ns = np.repeat(np.arange(1, max_sources + 1), count // max_sources)
        n_list = [int(n) for n in np.random.default_rng([seed, 2**32 - 1]).permutation(ns)]
    elif design == "balanced":
        raise ParameterError("scenes.test.design", "'balanced' needs equal counts per N (per_n_equal)")
    else:
        n_list = [None] * count
    fixed: list[Sequence[int] | None] = [None] * count
    if design == "balanced":
        azimuths = _check_azimuths(azimuths_deg)
        per_n = math.lcm(*(required_multiple(n, len(azimuths)) for n in range(1, max_sources + 1)))
        if (count // max_sources) % per_n:
            raise ParameterError(
                "scenes.test.count",
                f"{count} scenes ({count // max_sources} per N) cannot use each of "
                f"the {len(azimuths)} azimuths {azimuths} equally often within each N: the balanced "
                f"design needs a multiple of {per_n * max_sources} scenes ({per_n} per N)",
            )
        for n in range(1, max_sources + 1):
            slots = [i for i, m in enumerate(n_list) if m == n]
            tuples = balanced_azimuths(
                n, len(slots), azimuths, np.random.default_rng([seed, 2**32 - 2, n]), same_side_share if n == 2 else 0.0
            )
            for i, t in zip(slots, tuples):
                fixed[i] = t
    width = max(5, len(str(count - 1)))
    return [
        sample_scene_spec(
            np.random.default_rng([seed, i]),
            sources,
            n_sources=n,
            max_sources=max_sources,
            azimuths_deg=azimuths_deg,
            distance_range=distance_range,
            segment_samples=segment_samples,
            fps=fps,
            sample_rate=sample_rate,
            scene_id=f"{id_prefix}_{i:0{width}d}",
            fixed_azimuths_deg=fixed[i],
        )
        for i, n in enumerate(n_list)
    ]


# ---------------------------------------------------------------------------
# Building scenes
# ---------------------------------------------------------------------------


@dataclass
class Scene:
    """mono: float32 (T,); binaural: float32 (2, T); coords: int32 (m, 3); feats: float32 (m, c)."""

    mono: np.ndarray
    binaural: np.ndarray
    coords: np.ndarray
    feats: np.ndarray
    spec: SceneSpec


def _check_spec(spec: SceneSpec, sources: SceneSources) -> None:
    if spec.sample_rate != sources.sample_rate:
        raise ParameterError(
            "sample_rate",
            f"scene {spec.scene_id} is at {spec.sample_rate} Hz, the split's recordings at {sources.sample_rate} Hz",
        )
    if spec.n_sources < 1:
        raise ParameterError("n_sources", f"scene {spec.scene_id} has no sources")


def scene_audio(
    spec: SceneSpec, sources: SceneSources, *, scale_by_n: bool = True, with_true_mono: bool = True
) -> tuple[np.ndarray | None, np.ndarray]:
    """(true mono mixture (T,) or None, binaural target (2, T)), float32.

    The target sums each source's render at its azimuth over the segment (Eq. 2
    with pre-rendered sources); the true mono sums the mono originals. Both are
    scaled by 1/N when `scale_by_n` (reference code).
    """
    _check_spec(spec, sources)
    t = spec.segment_samples
    gain = 1.0 / spec.n_sources if scale_by_n else 1.0
    binaural = np.zeros((2, t), np.float64)
    mono = np.zeros(t, np.float64) if with_true_mono else None
    for s in spec.sources:
        path = sources.render_path(s.instrument, s.recording, s.azimuth_deg)
        if not path.is_file():
            raise InputFileError(
                path,
                "binaural render not found",
                f"render split {sources.split!r} through IR set {sources.ir_set!r} at azimuth {s.azimuth_deg}",
            )
        binaural += sources.cache.audio(path, s.start, s.start + t, 2, sources.sample_rate)
        if mono is not None:
            mono += sources.cache.audio(
                sources.mono_path(s.instrument, s.recording), s.start, s.start + t, 1, sources.sample_rate
            )[0]
    binaural *= gain
    if mono is not None:
        mono = (mono * gain).astype(np.float32)
    return mono, binaural.astype(np.float32)


def mono_input_signal(kind: MonoInput, binaural: np.ndarray, true_mono: np.ndarray | None = None) -> np.ndarray:
    """The network's mono input: the true mono mixture, the target's left channel s_L, or s_L + s_R."""
    if kind == "true_mono":
        if true_mono is None:
            raise ParameterError("mono_input", "'true_mono' needs the mono originals' mixture")
        return true_mono
    if kind == "left":
        return binaural[0].copy()
    if kind == "sum_lr":
        return binaural[0] + binaural[1]
    raise ParameterError("mono_input", f"must be one of {MONO_INPUTS}, got {kind!r}")


def scene_cloud(
    spec: SceneSpec,
    sources: SceneSources,
    *,
    augment: AugmentParams | None = None,
    rng: np.random.Generator | None = None,
    listener_height_m: float = 1.2,
) -> PointCloud:
    """The merged scene cloud (listener frame): each performer's frame, augmented
    independently when `augment` is given (in its own frame, in source order,
    from `rng`), turned to face the listener and placed at its azimuth/distance."""
    _check_spec(spec, sources)
    if augment is not None and rng is None:
        raise ParameterError("rng", "augmentation needs an explicit np.random.Generator")
    clouds = []
    for s in spec.sources:
        cloud = sources.cache.frame(sources.frame_path(s.instrument, s.performer, s.frame))
        if augment is not None:
            cloud = augment_performer(cloud, rng, augment)
        clouds.append(place_performer(cloud, s.azimuth_deg, s.distance_m, listener_height_m))
    return PointCloud.concatenate(clouds)


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ParameterError(name, f"must be one of {tuple(allowed)}, got {value!r}")


def build_scene(
    spec: SceneSpec,
    sources: SceneSources,
    *,
    mono_input: MonoInput = "sum_lr",
    features: FeatureKind = "rgb",
    voxel_size: float = 0.02,
    scale_by_n: bool = True,
    augment: AugmentParams | None = None,
    rng: np.random.Generator | None = None,
    listener_height_m: float = 1.2,
    reduce: Literal["mean", "first"] = "mean",
) -> Scene:
    """Arrays of one scene: mono input, binaural target and the voxelized cloud."""
    _check_choice("mono_input", mono_input, MONO_INPUTS)
    _check_choice("features", features, FEATURE_KINDS)
    true_mono, binaural = scene_audio(spec, sources, scale_by_n=scale_by_n, with_true_mono=mono_input == "true_mono")
    cloud = scene_cloud(spec, sources, augment=augment, rng=rng, listener_height_m=listener_height_m)
    coords, feats = voxelize(cloud.xyz, scene_features(cloud, features), voxel_size, reduce=reduce)
    return Scene(mono_input_signal(mono_input, binaural, true_mono), binaural, coords, feats, spec)


# ---------------------------------------------------------------------------
# Test sets on disk
# ---------------------------------------------------------------------------


def materialize_scenes(
    specs: Sequence[SceneSpec],
    sources: SceneSources,
    out_dir: str | Path,
    *,
    voxel_size: float = 0.02,
    scale_by_n: bool = True,
    listener_height_m: float = 1.2,
    reduce: Literal["mean", "first"] = "mean",
) -> pd.DataFrame:
    """Write `<scene_id>.npz` per scene and `scenes.csv` (written last, one row per scene).

    Each npz holds every variant a model or baseline may ask for: mono_true_mono,
    mono_left, mono_sum_lr (T,), binaural (2, T), coords (m, 3) and both feature
    kinds feats_rgb / feats_xyz (m, 3) over the same voxels, plus the spec as
    JSON. No augmentation: test scenes are the plain data.
    """
    out_dir = Path(out_dir)
    ids = [s.scene_id for s in specs]
    if len(set(ids)) != len(ids):
        raise ParameterError("specs", "scene ids must be unique")
    if not specs:
        raise ParameterError("specs", "no scenes to materialize")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for spec in tqdm(specs, desc="scenes", unit="scene", disable=None):
        true_mono, binaural = scene_audio(spec, sources, scale_by_n=scale_by_n, with_true_mono=True)
        cloud = scene_cloud(spec, sources, listener_height_m=listener_height_m)
        coords, feats_rgb = voxelize(cloud.xyz, scene_features(cloud, "rgb"), voxel_size, reduce=reduce)
        _, feats_xyz = voxelize(cloud.xyz, scene_features(cloud, "xyz"), voxel_size, reduce=reduce)
        arrays = {f"mono_{kind}": mono_input_signal(kind, binaural, true_mono) for kind in MONO_INPUTS}
        with atomic_path(out_dir / f"{spec.scene_id}.npz") as tmp:
            np.savez(
                tmp,
                **arrays,
                binaural=binaural,
                coords=coords,
                feats_rgb=feats_rgb,
                feats_xyz=feats_xyz,
                spec=np.array(spec.to_json()),
                voxel_size=np.float64(voxel_size),
            )
        rows.append(spec.to_row())
    table = pd.DataFrame(rows)
    with atomic_path(out_dir / "scenes.csv") as tmp:
        table.to_csv(tmp, index=False)
    return table


def read_scene_specs(csv_path: str | Path) -> list[SceneSpec]:
    """The specs listed in a materialized scenes.csv."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise InputFileError(csv_path, "scene list not found", "run the scenes stage first")
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    try:
        return [SceneSpec.from_row(row) for row in table.to_dict("records")]
    except (KeyError, ValueError, TypeError) as exc:
        raise InputFileError(csv_path, f"malformed scene list ({exc})") from exc


def _starts_like_a_pickle(path: Path) -> bool:
    """A pickle of protocol 2 or later starts with the PROTO opcode 0x80 (numpy calls any unknown file a pickle)."""
    with open(path, "rb") as f:
        return f.read(1) == b"\x80"


def load_materialized_scene(path: str | Path) -> dict[str, Any]:
    """Arrays of one materialized scene, plus 'spec' (SceneSpec) and
    'mono' (dict: true_mono / left / sum_lr -> (T,))."""
    path = Path(path)
    if path.is_dir():
        raise InputFileError(path, "is a directory, expected a scene file (.npz)")
    if not path.is_file():
        raise InputFileError(path, "scene file not found", "run the scenes stage first")
    try:
        with np.load(path, allow_pickle=False) as data:
            out: dict[str, Any] = {k: data[k] for k in data.files}
    except ValueError as exc:
        if "Object arrays" in str(exc) or _starts_like_a_pickle(path):  # numpy refuses them (allow_pickle=False)
            raise InputFileError(
                path,
                "not a plain-tensor file: it holds pickled Python objects, which are never "
                "loaded (they could run code)",
            ) from exc
        why = "not an .npz archive" if "pickled data" in str(exc) else str(exc)
        raise InputFileError(path, f"not a readable scene file ({why})") from exc
    except OSError as exc:
        raise InputFileError(path, f"not a readable scene file ({exc})") from exc
    needed = {"binaural", "coords", "feats_rgb", "feats_xyz", "spec", *(f"mono_{k}" for k in MONO_INPUTS)}
    if not needed <= set(out):
        raise InputFileError(path, f"scene file lacks {sorted(needed - set(out))}")
    out["spec"] = SceneSpec.from_json(str(out["spec"]))
    out["voxel_size"] = float(out.get("voxel_size", np.nan))
    out["mono"] = {k: out[f"mono_{k}"] for k in MONO_INPUTS}
    return out


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


class SceneSampler:
    """Training scenes drawn on the fly; scene i depends only on (seed, i).

    Scene i uses one generator, np.random.default_rng([seed, i]), first for its
    spec and then for the augmentation of its performers, so any worker can
    rebuild any scene. Torch-free; a Dataset wraps it. `length=None` makes
    iteration endless.
    """

    def __init__(
        self,
        sources: SceneSources,
        seed: int,
        *,
        length: int | None = None,
        segment_samples: int = 131072,
        max_sources: int = 3,
        azimuths_deg: Sequence[float] = DEFAULT_AZIMUTHS_DEG,
        distance_range: tuple[float, float] = (1.0, 3.0),
        fps: float = 15,
        mono_input: MonoInput = "sum_lr",
        features: FeatureKind = "rgb",
        voxel_size: float = 0.02,
        scale_by_n: bool = True,
        augment: AugmentParams | None = AugmentParams(),
        listener_height_m: float = 1.2,
        reduce: Literal["mean", "first"] = "mean",
    ) -> None:
        if seed < 0:
            raise ParameterError("seed", f"must be >= 0, got {seed}")
        if length is not None and length < 1:
            raise ParameterError("length", f"must be >= 1 or None, got {length}")
        _check_choice("mono_input", mono_input, MONO_INPUTS)
        _check_choice("features", features, FEATURE_KINDS)
        self.sources = sources
        self.seed = int(seed)
        self.length = length
        self._spec_kwargs = dict(
            max_sources=max_sources,
            azimuths_deg=tuple(_check_azimuths(azimuths_deg)),
            distance_range=distance_range,
            segment_samples=segment_samples,
            fps=fps,
        )
        self._build_kwargs = dict(
            mono_input=mono_input,
            features=features,
            voxel_size=voxel_size,
            scale_by_n=scale_by_n,
            augment=augment,
            listener_height_m=listener_height_m,
            reduce=reduce,
        )

    def _rng_and_spec(self, i: int) -> tuple[np.random.Generator, SceneSpec]:
        if i < 0 or (self.length is not None and i >= self.length):
            raise IndexError(f"scene index {i} outside 0..{self.length}")
        rng = np.random.default_rng([self.seed, int(i)])
        spec = sample_scene_spec(
            rng, self.sources, scene_id=f"{self.sources.split}-{self.seed}-{i}", **self._spec_kwargs
        )
        return rng, spec

    def spec(self, i: int) -> SceneSpec:
        """The spec of scene i (without building it)."""
        return self._rng_and_spec(i)[1]

    def __getitem__(self, i: int) -> Scene:
        rng, spec = self._rng_and_spec(i)
        return build_scene(spec, self.sources, rng=rng, **self._build_kwargs)

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError("an endless SceneSampler has no length")
        return self.length

    def __iter__(self) -> Iterator[Scene]:
        i = 0
        while self.length is None or i < self.length:
            yield self[i]
            i += 1
