"""HRIR and BRIR sets as SOFA files (AES69), written and read with `sofar`.

Every set, measured (TU Berlin QU_KEMAR_anechoic_1m.sofa, Two!Ears BRIRs) or computed
here (rigid sphere, simulated rooms), is reduced to one in-memory form, `IRSet`: the
azimuth of the source relative to the listener's view for every measurement, and the
two-ear impulse responses. Renderers then only ask "the IRs at azimuth a".

Conventions written:
- HRIRs: SimpleFreeFieldHRIR 1.0 (source positions vary, listener fixed).
- BRIRs: SingleRoomSRIR 1.0. The room measurements of the paper keep the loudspeaker
  fixed and rotate the manikin's head, so ListenerView must vary per measurement (MC)
  while there is one source. SingleRoomSRIR is the current (AES69-2022) convention for
  "one source, one listener with any number of receivers, one room" and allows an
  M-dependent ListenerView with DataType FIR. SingleRoomMIMOSRIR is FIR-E (several
  emitters), MultiSpeakerBRIR and SingleRoomDRIR are deprecated by sofar in favour of
  these two.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path

import numpy as np
import scipy.signal
import sofar

from ..atomic import atomic_path
from ..errors import InputFileError, ParameterError
from ..paths import require_file

_FREE_FIELD = {"free field", "free-field", "freefield", "anechoic"}
# FIR conventions whose measurements are not source directions around a head
_NOT_SPATIAL = {"SimpleHeadphoneIR", "SingleTrackedAudio", "AnnotatedReceiverAudio", "AnnotatedEmitterAudio"}


@dataclass
class IRSet:
    """Two-ear impulse responses indexed by the source azimuth relative to the head.

    azimuths_deg (M,) in [0, 360), 0 = front, 90 = left; irs (M, 2, N) float32 with
    ear 0 = left, ear 1 = right; kind 'hrir' (anechoic) or 'brir' (room).
    elevations_deg and distances_m (M,) are kept from the file when known.
    """

    name: str
    azimuths_deg: np.ndarray
    irs: np.ndarray = field(repr=False)
    sample_rate: int
    kind: str = "hrir"
    elevations_deg: np.ndarray | None = field(default=None, repr=False)
    distances_m: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.azimuths_deg = np.mod(np.asarray(self.azimuths_deg, dtype=float).reshape(-1), 360.0)
        self.irs = np.asarray(self.irs, dtype=np.float32)
        m = self.azimuths_deg.size
        if self.irs.ndim != 3 or self.irs.shape[0] != m or self.irs.shape[1] != 2:
            raise ParameterError("irs", f"IR set {self.name!r}: expected shape ({m}, 2, N), got {self.irs.shape}")
        if self.kind not in ("hrir", "brir"):
            raise ParameterError("kind", f"IR set {self.name!r}: must be 'hrir' or 'brir', got {self.kind!r}")
        if int(self.sample_rate) <= 0:
            raise ParameterError("sample_rate", f"IR set {self.name!r}: must be > 0, got {self.sample_rate}")
        self.sample_rate = int(self.sample_rate)
        if self.elevations_deg is None:
            self.elevations_deg = np.zeros(m)
        self.elevations_deg = np.asarray(self.elevations_deg, dtype=float).reshape(-1)
        if self.distances_m is not None:
            self.distances_m = np.asarray(self.distances_m, dtype=float).reshape(-1)

    def _horizontal(self, tol_deg: float) -> np.ndarray:
        """Indices of the measurements on the horizontal plane (elevation within tol)."""
        idx = np.flatnonzero(np.abs(self.elevations_deg) <= max(tol_deg, 1e-6))
        if idx.size == 0:
            raise ParameterError("elevation", f"IR set {self.name!r} has no measurement at elevation 0")
        return idx

    def nearest_indices(self, azimuths_deg: np.ndarray) -> np.ndarray:
        """Index of the horizontal-plane measurement nearest to each azimuth (circular distance)."""
        cand = self._horizontal(0.5)
        order = cand[np.argsort(self.azimuths_deg[cand], kind="stable")]
        grid = self.azimuths_deg[order]
        query = np.mod(np.asarray(azimuths_deg, dtype=float), 360.0)
        # neighbours below and above on the circle (sorted search, O(K log M) for many queries)
        hi = np.searchsorted(grid, query) % grid.size
        lo = (hi - 1) % grid.size
        d_hi = np.abs(np.mod(query - grid[hi] + 180.0, 360.0) - 180.0)
        d_lo = np.abs(np.mod(query - grid[lo] + 180.0, 360.0) - 180.0)
        return order[np.where(d_lo <= d_hi, lo, hi)]

    def ir(self, azimuth_deg: float, tol_deg: float = 0.5) -> np.ndarray:
        """(2, N) IRs of the measurement nearest to `azimuth_deg`, within `tol_deg` degrees."""
        i = int(self.nearest_indices(np.asarray(azimuth_deg)))
        dist = abs((azimuth_deg - self.azimuths_deg[i] + 180.0) % 360.0 - 180.0)
        if dist > tol_deg:
            raise ParameterError(
                "azimuth_deg",
                f"IR set {self.name!r} has no measurement within {tol_deg} deg of azimuth "
                f"{azimuth_deg} deg (nearest: {self.azimuths_deg[i]:g} deg)",
            )
        return self.irs[i]


# ---------------------------------------------------------------- writing


def _check_irs(irs: np.ndarray, m: int | None, what: str) -> np.ndarray:
    irs = np.asarray(irs, dtype=np.float64)
    if irs.ndim != 3 or irs.shape[1] != 2 or (m is not None and irs.shape[0] != m):
        raise ParameterError("irs", f"{what}: expected shape ({m if m is not None else 'M'}, 2, N), got {irs.shape}")
    if not np.all(np.isfinite(irs)):
        raise ParameterError("irs", f"{what}: contains NaN or infinite values")
    return irs


def _write(path: str | Path, sofa: sofar.Sofa) -> None:
    path = Path(path)
    if path.suffix != ".sofa":
        raise ParameterError("path", f"{path}: SOFA files must end in .sofa")
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sofar warns about optional empty attributes
        sofar.write_sofa(str(tmp), sofa)
        _pin_dates(tmp)


def _pin_dates(path: Path) -> None:
    """Replace the write-time stamps with SOURCE_DATE_EPOCH (default 0): equal data, equal bytes."""
    import os
    import time

    import netCDF4

    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(os.environ.get("SOURCE_DATE_EPOCH", "0"))))
    with netCDF4.Dataset(str(path), "a") as ds:
        for attr in ("DateCreated", "DateModified"):
            if attr in ds.ncattrs():
                ds.setncattr(attr, stamp)


def write_hrir_sofa(
    path: str | Path,
    irs: np.ndarray,
    sample_rate: int,
    azimuths_deg: np.ndarray,
    distance_m: float,
    name: str,
    comment: str = "",
) -> None:
    """Write an anechoic horizontal-plane HRIR set (M, 2, N) as SimpleFreeFieldHRIR."""
    az = np.asarray(azimuths_deg, dtype=float).reshape(-1)
    irs = _check_irs(irs, az.size, f"HRIR set {name!r}")
    if distance_m <= 0:
        raise ParameterError("distance_m", f"must be > 0, got {distance_m}")
    sofa = sofar.Sofa("SimpleFreeFieldHRIR")
    sofa.Data_IR = irs
    sofa.Data_SamplingRate = float(sample_rate)
    sofa.Data_Delay = np.zeros((1, 2))
    sofa.SourcePosition = np.stack([np.mod(az, 360.0), np.zeros_like(az), np.full_like(az, distance_m)], axis=1)
    sofa.GLOBAL_Title = name
    sofa.GLOBAL_ListenerShortName = name
    sofa.GLOBAL_DatabaseName = "points2sound"
    sofa.GLOBAL_Comment = comment
    _write(path, sofa)


# optional SingleRoomSRIR variables whose defaults do not fit two ears / M measurements
_UNFIT_OPTIONAL = (
    "ReceiverDescriptions",
    "EmitterDescriptions",
    "ReceiverView",
    "ReceiverUp",
    "MeasurementDate",
    "RoomVolume",
    "RoomTemperature",
)


def _set_room(sofa: sofar.Sofa, room_dims_m: Sequence[float] | None, listener_pos_m: Sequence[float] | None) -> None:
    """A shoebox around the listener (corners in listener-centred coordinates), else a 'reverberant' room."""
    if room_dims_m is not None:
        if listener_pos_m is None:
            raise ParameterError("listener_pos_m", "is needed with room_dims_m to place the room around the listener")
        dims = np.asarray(room_dims_m, dtype=float)
        lis = np.asarray(listener_pos_m, dtype=float)
        sofa.GLOBAL_RoomType = "shoebox"
        sofa.RoomCornerA = (-lis)[None, :]
        sofa.RoomCornerB = (dims - lis)[None, :]
    else:
        sofa.GLOBAL_RoomType = "reverberant"
        for var in ("RoomCornerA", "RoomCornerB", "RoomCorners"):
            sofa.delete(var)


def write_brir_sofa(
    path: str | Path,
    irs: np.ndarray,
    sample_rate: int,
    head_rotations_deg: np.ndarray,
    source_azimuth_deg: float,
    distance_m: float,
    name: str,
    room_description: str = "",
    room_dims_m: Sequence[float] | None = None,
    listener_pos_m: Sequence[float] | None = None,
) -> None:
    """Write BRIRs (M, 2, N) of a fixed source and a rotating head as SingleRoomSRIR.

    Head rotation theta (degrees, counter-clockwise, i.e. turning left) becomes
    ListenerView = (cos theta, sin theta, 0); the source stays at `source_azimuth_deg`
    and `distance_m` from the listener, who sits at the origin. With `room_dims_m` and
    `listener_pos_m` (the listener in room coordinates) the file describes a 'shoebox'
    room with its corners in these listener-centred coordinates; without them it is a
    'reverberant' room with `room_description`.
    """
    rot = np.asarray(head_rotations_deg, dtype=float).reshape(-1)
    irs = _check_irs(irs, rot.size, f"BRIR set {name!r}")
    if distance_m <= 0:
        raise ParameterError("distance_m", f"must be > 0, got {distance_m}")
    m = rot.size
    src = np.deg2rad(source_azimuth_deg)
    sofa = sofar.Sofa("SingleRoomSRIR")
    sofa.Data_IR = irs
    sofa.Data_SamplingRate = float(sample_rate)
    sofa.Data_Delay = np.zeros((1, 2))
    sofa.ListenerPosition = np.zeros((m, 3))
    sofa.ListenerView = np.stack([np.cos(np.deg2rad(rot)), np.sin(np.deg2rad(rot)), np.zeros(m)], axis=1)
    sofa.ListenerUp = np.array([[0.0, 0.0, 1.0]])
    sofa.SourcePosition = np.tile([distance_m * np.cos(src), distance_m * np.sin(src), 0.0], (m, 1))
    sofa.ReceiverPosition = np.array([[0.0, 0.09, 0.0], [0.0, -0.09, 0.0]])[:, :, None]  # (R, C, I): left, right
    sofa.ReceiverPosition_Type = "cartesian"
    sofa.ReceiverPosition_Units = "metre"
    for var in _UNFIT_OPTIONAL:
        if hasattr(sofa, var):
            sofa.delete(var)
    _set_room(sofa, room_dims_m, listener_pos_m)
    sofa.GLOBAL_Title = name
    sofa.GLOBAL_RoomShortName = name
    sofa.GLOBAL_RoomDescription = room_description or name
    sofa.GLOBAL_DatabaseName = "points2sound"
    sofa.GLOBAL_Comment = "head rotations in ListenerView; source fixed"
    _write(path, sofa)


# ---------------------------------------------------------------- reading


def _get(sofa: sofar.Sofa, name: str, default=None):
    return getattr(sofa, name, default)


def _to_cartesian(pos: np.ndarray, kind: str, units: str, what: str, path: Path) -> np.ndarray:
    """(K, 3) cartesian metres from SOFA cartesian or spherical (azimuth, elevation, radius)."""
    pos = np.atleast_2d(np.asarray(pos, dtype=float))
    if pos.shape[-1] != 3:
        raise InputFileError(path, f"{what} has shape {pos.shape}, expected (.., 3)")
    kind = str(kind).strip().lower()
    if kind == "cartesian":
        return pos
    if kind == "spherical":
        scale = 1.0 if "rad" in str(units).lower() else np.pi / 180.0
        az, el, r = pos[:, 0] * scale, pos[:, 1] * scale, pos[:, 2]
        return np.stack([r * np.cos(el) * np.cos(az), r * np.cos(el) * np.sin(az), r * np.sin(el)], axis=1)
    raise InputFileError(path, f"{what} has coordinate type {kind!r}; only cartesian and spherical are supported")


def _load(path: Path) -> sofar.Sofa:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return sofar.read_sofa(str(path), verify=False, verbose=False)
        except Exception as first:  # old or unknown convention versions: read the raw netCDF
            try:
                return sofar.read_sofa_as_netcdf(str(path))
            except Exception as exc:
                raise InputFileError(
                    path, f"not a readable SOFA/netCDF file ({type(first).__name__}: {first})"
                ) from exc


def _relative_directions(sofa: sofar.Sofa, m: int, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Azimuth [0, 360), elevation (deg) and distance (m) of the source in the head frame."""

    def cart(name: str, default) -> np.ndarray:
        value = _get(sofa, name)
        typed = "ListenerView" if name == "ListenerUp" else name  # ListenerUp shares ListenerView's type
        kind = _get(sofa, f"{typed}_Type", "cartesian")
        units = _get(sofa, f"{typed}_Units", "metre")
        if value is None:  # absent: the default, given in cartesian coordinates
            value, kind, units = default, "cartesian", "metre"
        out = _to_cartesian(value, kind, units, name, path)
        if out.shape[0] not in (1, m):
            raise InputFileError(path, f"{name} has {out.shape[0]} rows for {m} measurements")
        return np.broadcast_to(out, (m, 3))

    if _get(sofa, "SourcePosition") is None:
        raise InputFileError(path, "has no SourcePosition")
    rel = cart("SourcePosition", None) - cart("ListenerPosition", [[0.0, 0.0, 0.0]])
    view = cart("ListenerView", [[1.0, 0.0, 0.0]])
    up = cart("ListenerUp", [[0.0, 0.0, 1.0]])
    # head frame: x = view, z = up made orthogonal to view, y = z x x (left)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = view / np.linalg.norm(view, axis=1, keepdims=True)
        z = up - np.sum(up * x, axis=1, keepdims=True) * x
        z = z / np.linalg.norm(z, axis=1, keepdims=True)
    y = np.cross(z, x)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(z))):
        raise InputFileError(path, "ListenerView/ListenerUp are zero or parallel")
    px, py, pz = (np.sum(rel * e, axis=1) for e in (x, y, z))
    dist = np.sqrt(px**2 + py**2 + pz**2)
    az = np.mod(np.degrees(np.arctan2(py, px)), 360.0)
    el = np.degrees(np.arctan2(pz, np.hypot(px, py)))
    return np.where(np.isclose(az, 360.0), 0.0, az), el, dist


def _open_spatial(path: Path) -> tuple[sofar.Sofa, str, str]:
    """(the file, its convention, its data type), refused unless a SOFA file of FIR source directions."""
    with open(path, "rb") as f:
        magic = f.read(8)
    if not (magic.startswith(b"\x89HDF") or magic.startswith(b"CDF")):
        raise InputFileError(path, "not a SOFA/netCDF file (no netCDF/HDF5 signature)")
    sofa = _load(path)
    if str(_get(sofa, "GLOBAL_Conventions", "")).strip() != "SOFA":
        raise InputFileError(path, "not a SOFA file (a netCDF file without the SOFA conventions attribute)")
    convention = str(_get(sofa, "GLOBAL_SOFAConventions", "?")).strip()
    if convention in _NOT_SPATIAL:
        raise InputFileError(
            path,
            f"convention {convention} holds no source directions; expected HRIRs or BRIRs "
            "(e.g. SimpleFreeFieldHRIR, SingleRoomSRIR)",
        )
    dtype = str(_get(sofa, "GLOBAL_DataType", "")).strip()
    if dtype not in ("FIR", "FIR-E", "FIRE"):
        raise InputFileError(
            path, f"DataType is {dtype!r} (convention {convention}); only FIR impulse responses are supported"
        )
    return sofa, convention, dtype


def _impulse_responses(sofa: sofar.Sofa, dtype: str, path: Path) -> np.ndarray:
    """Data.IR as (M, 2, N) float64, checked: one emitter, two receivers, finite."""
    data = _get(sofa, "Data_IR")
    if data is None:
        raise InputFileError(path, "has no Data.IR")
    if np.ma.isMaskedArray(data) and np.ma.is_masked(data):
        raise InputFileError(path, "Data.IR has missing values")
    data = np.asarray(data, dtype=np.float64)
    if dtype != "FIR" and data.ndim == 4:
        if data.shape[2] != 1:
            raise InputFileError(path, f"has {data.shape[2]} emitters; only one is supported")
        data = data[:, :, 0]
    if data.ndim == 2:  # sofar drops a trailing singleton N; a leading M = 1 stays
        data = data[:, :, None]
    if data.ndim != 3:
        raise InputFileError(path, f"Data.IR has shape {data.shape}, expected (M, R, N)")
    r = data.shape[1]
    if r != 2:
        raise InputFileError(path, f"has {r} receivers; a binaural set needs exactly 2 (left, right)")
    if not np.all(np.isfinite(data)):
        raise InputFileError(path, "Data.IR contains NaN or infinite values")
    return data


def _sample_rate(sofa: sofar.Sofa, path: Path) -> int:
    sr = np.atleast_1d(np.asarray(_get(sofa, "Data_SamplingRate", np.nan), dtype=float))
    if not (np.all(np.isfinite(sr)) and np.all(sr == sr[0]) and sr[0] > 0 and sr[0] == round(sr[0])):
        raise InputFileError(path, f"Data.SamplingRate {sr} is not one positive integer rate")
    return int(sr[0])


def _delayed(sofa: sofar.Sofa, data: np.ndarray, path: Path) -> np.ndarray:
    """The IRs with Data.Delay (samples, rounded) applied by shifting them later."""
    m, r, n = data.shape
    delay = np.asarray(_get(sofa, "Data_Delay", 0.0), dtype=float)
    if delay.ndim == 3 and delay.shape[2] == 1:  # FIR-E: (I or M, R, E = 1)
        delay = delay[:, :, 0]
    try:  # (I, R) or (M, R); sofar may squeeze it to (R,) or a scalar
        delay = np.broadcast_to(delay.reshape(1, -1) if delay.ndim == 1 else delay, (m, r))
    except ValueError:
        raise InputFileError(path, f"Data.Delay has shape {delay.shape}, expected (1, {r}) or ({m}, {r})") from None
    if not np.all(np.isfinite(delay)) or np.any(delay < 0):
        raise InputFileError(path, "Data.Delay must be finite and >= 0")
    if not np.any(delay > 0):
        return data
    shifts = np.round(delay).astype(int)
    shifted = np.zeros((m, r, n + shifts.max()))
    for i, j in np.ndindex(m, r):
        shifted[i, j, shifts[i, j] : shifts[i, j] + n] = data[i, j]
    return shifted


def _left_ear_first(sofa: sofar.Sofa, data: np.ndarray, path: Path) -> np.ndarray:
    """Receiver 0 made the left ear (+y in the listener frame) when the receiver positions tell."""
    recv = _get(sofa, "ReceiverPosition")
    if recv is None:
        return data
    recv = np.asarray(recv, dtype=float)
    if recv.ndim == 3:
        recv = recv[:, :, 0]
    if recv.shape != (2, 3):
        return data
    rc = _to_cartesian(
        recv,
        _get(sofa, "ReceiverPosition_Type", "cartesian"),
        _get(sofa, "ReceiverPosition_Units", "metre"),
        "ReceiverPosition",
        path,
    )
    return data[:, ::-1] if rc[0, 1] < rc[1, 1] else data


def read_ir_set(path: str | Path) -> IRSet:
    """Read any two-receiver FIR SOFA file into an IRSet (relative source azimuths).

    Works for SimpleFreeFieldHRIR (e.g. TU Berlin QU_KEMAR_anechoic_1m.sofa) and for
    room sets whose ListenerView varies per measurement (head rotations). FIR-E files
    with a single emitter are accepted too. Ear 0 is the receiver on the left (+y) when
    the receiver positions tell; Data.Delay (samples) is applied by shifting.
    """
    path = require_file(path, "SOFA file")
    if path.suffix.lower() != ".sofa":
        raise InputFileError(path, "not a SOFA file (expected the .sofa extension)")
    sofa, convention, dtype = _open_spatial(path)
    data = _impulse_responses(sofa, dtype, path)
    sample_rate = _sample_rate(sofa, path)
    data = _left_ear_first(sofa, _delayed(sofa, data, path), path)
    az, el, dist = _relative_directions(sofa, data.shape[0], path)
    room_type = str(_get(sofa, "GLOBAL_RoomType", "")).strip().lower()
    if room_type:
        kind = "hrir" if room_type in _FREE_FIELD else "brir"
    else:
        kind = "hrir" if "freefield" in str(convention).lower() else "brir"
    return IRSet(
        name=path.stem,
        azimuths_deg=az,
        irs=data.astype(np.float32),
        sample_rate=sample_rate,
        kind=kind,
        elevations_deg=el,
        distances_m=dist,
    )


def resample_ir_set(irset: IRSet, sample_rate: int) -> IRSet:
    """The IR set at another sample rate (polyphase, zero-phase, so delays and ITDs keep).

    IRs are scaled by old_rate / new_rate so the frequency response (e.g. the DC gain,
    sum of the taps) stays the same: a resampled IR has proportionally more taps.
    """
    if sample_rate <= 0:
        raise ParameterError("sample_rate", f"must be > 0, got {sample_rate}")
    if sample_rate == irset.sample_rate:
        return irset
    g = gcd(int(sample_rate), irset.sample_rate)
    up, down = int(sample_rate) // g, irset.sample_rate // g
    irs = scipy.signal.resample_poly(irset.irs.astype(np.float64), up, down, axis=-1) * (down / up)
    return IRSet(
        name=irset.name,
        azimuths_deg=irset.azimuths_deg,
        irs=irs.astype(np.float32),
        sample_rate=int(sample_rate),
        kind=irset.kind,
        elevations_deg=irset.elevations_deg,
        distances_m=irset.distances_m,
    )
