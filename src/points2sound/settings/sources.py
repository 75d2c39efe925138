"""Settings of the real data sources: `sources:` of params.yaml, plus what each fetch reads elsewhere.

Each source gets one dataclass holding all it reads (its downloads, and the
profile's instruments, sample rate, seed ... that shape its conversion), so the
fetch and status code in data/sources/ never sees the parameter mapping. A source
missing under `sources:` is None here; asking for it is the ParameterError that
says so (`SourcesConfig.source`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from . import stage_seed


@dataclass(frozen=True)
class RemoteFile:
    """A file to fetch: its mirrors, expected checksum and size, and where it comes from."""

    name: str
    urls: tuple[str, ...]
    checksum: str | None = None
    size: int | None = None
    record: str | None = None
    licence: str | None = None


@dataclass(frozen=True)
class FetchOptions:
    """How every download is tried (sources.retries, backoff_s, timeout_s, zenodo_api)."""

    retries: int
    backoff_s: float
    timeout_s: float
    zenodo_api: str
    profile: str  # named in the command that refetches a corrupt cached download


@dataclass(frozen=True)
class IdList:
    """One published list of YouTube IDs (sources.music_solos.lists)."""

    name: str
    url: str
    remote: RemoteFile


@dataclass(frozen=True)
class MusicSolosSource:
    lists: tuple[IdList, ...]
    categories: Mapping[str, Sequence[str]]  # instrument -> category names in the lists
    video_url: str  # with an {id} placeholder
    recordings_per_instrument: int
    recording_s: float
    min_recording_s: float
    max_segments_per_video: int
    licence: str | None
    instruments: tuple[str, ...]
    sample_rate: int
    wav_subtype: str
    seed: int


@dataclass(frozen=True)
class CloudsSource:
    """The point-cloud videos of a Zenodo record (sources.points2sound_clouds)."""

    zenodo_record: int | str
    doi: str | None
    licence: str | None
    files: str  # glob over the record's file names
    axes: str  # check | fix
    instrument_aliases: Mapping[str, str]  # lower-case folder name -> instrument
    instruments: tuple[str, ...]


@dataclass(frozen=True)
class ModelNetSource:
    remote: RemoteFile
    version: str | None
    licence: str | None
    points_per_shape: int
    radius_m: float
    max_per_class: int | None
    classes: list[str] | None
    seed: int


@dataclass(frozen=True)
class KemarSource:
    file: str
    remote: RemoteFile
    doi: str | None
    licence: str | None
    hrir_name: str  # written as ir/<hrir_name>.sofa
    azimuths_deg: tuple[float, ...]  # every rendered azimuth must be measured


@dataclass(frozen=True)
class RoomMeasurement:
    """One measured BRIR file (an entry of sources.rooms)."""

    file: str
    remote: RemoteFile
    doi: str | None
    licence: str | None
    source_azimuth_deg: float
    description: str


@dataclass(frozen=True)
class RoomsSource:
    """The room sets marked `source: measured` in rooms.sets, and the files they are converted from."""

    sets: tuple[str, ...]
    measurement_keys: Mapping[str, str]  # room set -> key under sources.rooms
    measurements: Mapping[str, RoomMeasurement] | None  # None: sources.rooms is not configured
    head_rotations_deg: tuple[float, ...]

    def measurement(self, room: str) -> RoomMeasurement:
        if not self.measurements:
            raise ParameterError("sources.rooms", "is not configured in params.yaml")
        key = self.measurement_keys.get(room, room)
        if key not in self.measurements:
            raise ParameterError(
                f"sources.rooms.{key}",
                f"no measured BRIR source for room set {room!r}; known: {sorted(self.measurements)}",
            )
        return self.measurements[key]


@dataclass(frozen=True)
class SourcesConfig:
    cache_dir: Path  # raw downloads, one folder per source
    options: FetchOptions
    selected: tuple[str, ...]  # the sources the profile uses
    music_solos: MusicSolosSource | None
    points2sound_clouds: CloudsSource | None
    modelnet40: ModelNetSource | None
    kemar: KemarSource | None
    rooms: RoomsSource

    def configured(self, name: str) -> bool:
        if name == "rooms":
            return bool(self.rooms.measurements)
        return getattr(self, name, None) is not None

    def source(self, name: str) -> Any:
        """One source's settings; ParameterError when it is not configured under `sources:`."""
        cfg = getattr(self, name, None)
        if cfg is None:
            raise ParameterError(f"sources.{name}", "is not configured in params.yaml")
        return cfg


def _remote(name: str, cfg: Mapping[str, Any]) -> RemoteFile:
    """A RemoteFile from a `sources:` entry with `url`/`urls`, optional `sha256`/`checksum`, `size`."""
    urls = cfg.get("urls") or ([cfg["url"]] if cfg.get("url") else [])
    checksum = cfg.get("checksum") or (f"sha256:{cfg['sha256']}" if cfg.get("sha256") else None)
    return RemoteFile(
        name=name,
        urls=tuple(urls),
        checksum=checksum,
        size=cfg.get("size"),
        record=cfg.get("doi") or cfg.get("record"),
        licence=cfg.get("licence"),
    )


def _music_solos(params: Mapping[str, Any], cfg: Mapping[str, Any]) -> MusicSolosSource:
    lists = tuple(
        IdList(item["name"], item["url"], _remote(item["file"] if "file" in item else Path(item["url"]).name, item))
        for item in cfg["lists"]
    )
    return MusicSolosSource(
        lists=lists,
        categories=dict(cfg["categories"]),
        video_url=cfg["video_url"],
        recordings_per_instrument=int(cfg["recordings_per_instrument"]),
        recording_s=float(cfg["recording_s"]),
        min_recording_s=float(cfg["min_recording_s"]),
        max_segments_per_video=int(cfg["max_segments_per_video"]),
        licence=cfg.get("licence"),
        instruments=tuple(params["instruments"]),
        sample_rate=int(params["audio"]["sample_rate"]),
        wav_subtype=params["audio"]["wav_subtype"],
        seed=stage_seed(params, "fetch_music_solos"),
    )


def _clouds(params: Mapping[str, Any], cfg: Mapping[str, Any]) -> CloudsSource:
    return CloudsSource(
        zenodo_record=cfg["zenodo_record"],
        doi=cfg.get("doi"),
        licence=cfg.get("licence"),
        files=cfg["files"],
        axes=cfg["axes"],
        instrument_aliases={str(k).lower(): str(v) for k, v in (cfg.get("instrument_aliases") or {}).items()},
        instruments=tuple(params["instruments"]),
    )


def _modelnet(params: Mapping[str, Any], cfg: Mapping[str, Any]) -> ModelNetSource:
    return ModelNetSource(
        remote=_remote(cfg["file"], cfg),
        version=cfg.get("version"),
        licence=cfg.get("licence"),
        points_per_shape=int(cfg.get("points_per_shape") or params["shapes"]["points_per_shape"]),
        radius_m=float(cfg["radius_m"]),
        max_per_class=cfg.get("max_per_class"),
        classes=cfg.get("classes"),
        seed=stage_seed(params, "fetch_modelnet40"),
    )


def _kemar(params: Mapping[str, Any], cfg: Mapping[str, Any]) -> KemarSource:
    return KemarSource(
        file=cfg["file"],
        remote=_remote(cfg["file"], cfg),
        doi=cfg.get("doi"),
        licence=cfg.get("licence"),
        hrir_name=params["hrir"]["name"],
        azimuths_deg=tuple(params["render"]["azimuths_deg"]),
    )


def _rooms(params: Mapping[str, Any], cfg: Mapping[str, Any] | None) -> RoomsSource:
    sets = {k: v or {} for k, v in params["rooms"]["sets"].items()}
    measurements = {
        key: RoomMeasurement(
            file=m["file"],
            remote=_remote(m["file"], m),
            doi=m.get("doi"),
            licence=m.get("licence"),
            source_azimuth_deg=float(m["source_azimuth_deg"]),
            description=m["description"],
        )
        for key, m in (cfg or {}).items()
    }
    return RoomsSource(
        sets=tuple(k for k, v in sets.items() if v.get("source") == "measured"),
        measurement_keys={k: v["measurement"] for k, v in sets.items() if "measurement" in v},
        measurements=measurements or None,
        head_rotations_deg=tuple(params["rooms"]["head_rotations_deg"]),
    )


def _selected(params: Mapping[str, Any]) -> tuple[str, ...]:
    """The sources the profile uses (derived from its settings)."""
    out = []
    if params["dataset"]["source"] == "real":
        out += ["music_solos", "points2sound_clouds"]
    if params["shapes"].get("name") == "modelnet40":
        out.append("modelnet40")
    if params["hrir"]["source"] == "sofa":
        out.append("kemar")
    if any((v or {}).get("source") == "measured" for v in params["rooms"]["sets"].values()):
        out.append("rooms")
    return tuple(out)


def sources_config(params: Mapping[str, Any]) -> SourcesConfig:
    """The settings of every real source, read once from the resolved parameters."""
    s = params.get("sources") or {}
    built = {
        name: build(params, s[name]) if s.get(name) else None
        for name, build in (
            ("music_solos", _music_solos),
            ("points2sound_clouds", _clouds),
            ("modelnet40", _modelnet),
            ("kemar", _kemar),
        )
    }
    options = FetchOptions(
        retries=int(s["retries"]),
        backoff_s=float(s["backoff_s"]),
        timeout_s=float(s["timeout_s"]),
        zenodo_api=str(s["zenodo_api"]),
        profile=params["profile"],
    )
    return SourcesConfig(
        cache_dir=Path(s["cache_dir"]),
        options=options,
        selected=_selected(params),
        rooms=_rooms(params, s.get("rooms")),
        **built,
    )
