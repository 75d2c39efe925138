"""Scene specifications: what a scene holds (sources, segments, performers, azimuths), as CSV rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ...errors import InputFileError, ParameterError

AUDIO_COLUMNS = ("recording", "instrument", "path", "duration_s", "sample_rate")
PERFORMER_COLUMNS = ("performer", "instrument", "n_frames", "frames_dir")
DEFAULT_AZIMUTHS_DEG = (0, 45, 90, 135, 180, 225, 270, 315)
MONO_INPUTS = ("true_mono", "left", "sum_lr")
FEATURE_KINDS = ("rgb", "xyz")
MonoInput = Literal["true_mono", "left", "sum_lr"]
FeatureKind = Literal["rgb", "xyz"]


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


def check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ParameterError(name, f"must be one of {tuple(allowed)}, got {value!r}")
