"""BRIRs: the TU Berlin rooms Calypso and Spirit (Two!Ears database), converted for the renderer.

The published files hold a KEMAR whose head turns from -90 to 90 deg in 1 deg steps
in front of one or several loudspeakers (Two!Ears MultiSpeakerBRIR: Data.IR is
M x R x E x N with the emitters' positions in EmitterPosition; single-source
files are M x R x N). For each room set marked `source: measured` in
`rooms.sets`, the loudspeaker nearest `source_azimuth_deg` (0 = the front of the
head at rest) is picked, the measurements nearest the head rotations of
`rooms.head_rotations_deg` are kept, and the result is written in the layout the
renderer reads (SingleRoomSRIR, head rotations in ListenerView, see
render/sofa_io.write_brir_sofa) to data/<profile>/ir/<set>.sofa.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputFileError, ParameterError
from ...settings.sources import FetchOptions, RemoteFile, RoomsSource
from .remote import fetch_remote

NAME = "rooms"


def remote_files(cfg: RoomsSource) -> list[RemoteFile]:
    return [cfg.measurement(r).remote for r in cfg.sets]


def targets(cfg: RoomsSource, root: Path) -> list[Path]:
    return [root / "ir" / f"{r}.sofa" for r in cfg.sets]


# ---------------------------------------------------------------- reading the measurement


def _var(ds, name: str):
    if name not in ds.variables:
        return None
    v = ds.variables[name]
    v.set_auto_mask(False)
    return np.asarray(v[:], dtype=float)


def _attr(ds, var: str, attr: str, default: str) -> str:
    if var in ds.variables and attr in ds.variables[var].ncattrs():
        return str(ds.variables[var].getncattr(attr))
    return default


def _cart(ds, name: str, path: Path, default=None) -> np.ndarray | None:
    from ...render.sofa_io import _to_cartesian

    value = _var(ds, name)
    if value is None:
        return None if default is None else np.asarray(default, dtype=float)
    typed = "ListenerView" if name == "ListenerUp" else name
    kind = _attr(ds, typed, "Type", "cartesian")
    units = _attr(ds, typed, "Units", "metre")
    if name == "EmitterPosition" and value.ndim == 3:  # (E, C, I or M): the first instance
        value = value[:, :, 0]
    return _to_cartesian(value.reshape(-1, 3) if value.ndim != 2 else value, kind, units, name, path)


def _wrap(deg):
    return (np.asarray(deg, dtype=float) + 180.0) % 360.0 - 180.0


def read_measurement(path: Path) -> dict[str, Any]:
    """IRs (M, 2, E, N), sample rate, head yaw per measurement and emitter azimuths/distances (deg, m)."""
    import netCDF4

    try:
        ds = netCDF4.Dataset(str(path), "r")
    except OSError as exc:
        raise InputFileError(path, f"not a readable SOFA/netCDF file ({exc})") from exc
    with ds:
        if str(getattr(ds, "Conventions", "")).strip() != "SOFA":
            raise InputFileError(path, "not a SOFA file (no Conventions = SOFA attribute)")
        data, sr = _irs(ds, path)
        listener = _cart(ds, "ListenerPosition", path, [[0.0, 0.0, 0.0]])
        view = _cart(ds, "ListenerView", path, [[1.0, 0.0, 0.0]])
        source = _cart(ds, "SourcePosition", path)
        if source is None:
            raise InputFileError(path, "has no SourcePosition")
        emitters = _cart(ds, "EmitterPosition", path, [[0.0, 0.0, 0.0]])
        recv = _cart(ds, "ReceiverPosition", path)
    m, _, e, _ = data.shape
    view = np.broadcast_to(view, (m, 3))
    yaw = np.degrees(np.arctan2(view[:, 1], view[:, 0]))
    # the front of the head at rest: the circular mean of the head directions measured
    front = float(np.degrees(np.arctan2(np.mean(np.sin(np.radians(yaw))), np.mean(np.cos(np.radians(yaw))))))
    if e > 1:
        if emitters.shape[0] != e:
            raise InputFileError(path, f"Data.IR has {e} emitters but EmitterPosition has {emitters.shape[0]} rows")
        positions = source[:1] + emitters  # emitters relative to the source (loudspeaker array) position
    else:
        positions = source[:1]
    rel = positions - listener[:1]
    az = _wrap(np.degrees(np.arctan2(rel[:, 1], rel[:, 0])) - front)
    dist = np.linalg.norm(rel, axis=1)
    if recv is not None and recv.shape[0] == 2 and recv[0, 1] < recv[1, 1]:
        data = data[:, ::-1]  # receiver 0 must be the left ear (+y)
    return dict(
        irs=data,
        sample_rate=int(round(float(np.ravel(sr)[0]))),
        head_yaw_deg=_wrap(yaw - front),
        emitter_azimuth_deg=az,
        emitter_distance_m=dist,
    )


def _irs(ds, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Data.IR as (M, 2, E, N), shifted by Data.Delay, and Data.SamplingRate."""
    data = _var(ds, "Data.IR")
    if data is None:
        raise InputFileError(path, "has no Data.IR")
    if data.ndim == 3:
        data = data[:, :, None, :]
    if data.ndim != 4 or data.shape[1] != 2:
        raise InputFileError(path, f"Data.IR has shape {data.shape}; expected M x 2 x N or M x 2 x E x N")
    sr = _var(ds, "Data.SamplingRate")
    if sr is None or not np.all(np.isfinite(sr)) or float(np.ravel(sr)[0]) <= 0:
        raise InputFileError(path, "Data.SamplingRate missing or invalid")
    delay = _var(ds, "Data.Delay")
    if delay is not None and np.any(delay > 0):
        data = _apply_delay(data, delay, path)
    return data, sr


def _apply_delay(data: np.ndarray, delay: np.ndarray, path: Path) -> np.ndarray:
    """The IRs with each one's Data.Delay (whole samples) put in front of it."""
    m, _, e, n = data.shape
    d = np.round(delay).astype(int)
    d = d.reshape(1, -1) if d.ndim <= 1 else d
    d = d[:, :, None] if d.ndim == 2 else d
    try:  # (I or M, R) or (I or M, R, E)
        d = np.broadcast_to(d, (m, 2, e))
    except ValueError:
        raise InputFileError(path, f"Data.Delay has shape {delay.shape}; expected (1 or M, 2[, E])") from None
    shifted = np.zeros((m, 2, e, n + int(d.max())))
    for i, j, k in np.ndindex(m, 2, e):
        s = d[i, j, k]
        shifted[i, j, k, s : s + n] = data[i, j, k]
    return shifted


def pick(
    meas: Mapping[str, Any],
    raw: Path,
    head_rotations_deg: Sequence[float],
    source_azimuth_deg: float,
    tol_deg: float = 0.6,
) -> tuple[int, list[int], list[float]]:
    """The loudspeaker nearest `source_azimuth_deg` and the measurements of the wanted head rotations.

    Raises InputFileError naming `raw` when the file lacks either: a download that is
    another room's or an HRIR set is refused before it is used.
    """
    gap = np.abs(_wrap(meas["emitter_azimuth_deg"] - source_azimuth_deg))
    emitter = int(np.argmin(gap))
    if gap[emitter] > 5.0:
        raise InputFileError(
            raw,
            f"no loudspeaker within 5 deg of azimuth {source_azimuth_deg} "
            f"(loudspeakers at {np.round(meas['emitter_azimuth_deg'], 1).tolist()} deg)",
        )
    yaw = meas["head_yaw_deg"]
    picks, rotations = [], []
    for target in head_rotations_deg:
        d = np.abs(_wrap(yaw - float(target)))
        i = int(np.argmin(d))
        if d[i] > tol_deg:
            raise InputFileError(
                raw, f"no measurement with the head turned {target} deg (measured {yaw.min():.0f}..{yaw.max():.0f} deg)"
            )
        picks.append(i)
        rotations.append(float(target))
    return emitter, picks, rotations


def check_download(path: Path, head_rotations_deg: Sequence[float], source_azimuth_deg: float) -> None:
    """The format check of an unpinned BRIR download: a SOFA measurement holding what `convert` picks."""
    pick(read_measurement(path), path, head_rotations_deg, source_azimuth_deg)


def convert(
    raw: Path,
    out: Path,
    name: str,
    head_rotations_deg,
    source_azimuth_deg: float,
    description: str = "",
    tol_deg: float = 0.6,
) -> dict[str, Any]:
    """Pick one loudspeaker and the wanted head rotations; write the renderer's BRIR SOFA layout."""
    from ...render.sofa_io import write_brir_sofa

    meas = read_measurement(raw)
    emitter, picks, rotations = pick(meas, raw, head_rotations_deg, source_azimuth_deg, tol_deg)
    irs = meas["irs"][picks, :, emitter, :]
    distance = float(meas["emitter_distance_m"][emitter])
    write_brir_sofa(
        out,
        irs,
        meas["sample_rate"],
        np.asarray(rotations),
        float(meas["emitter_azimuth_deg"][emitter]),
        distance if distance > 0 else 1.0,
        name=name,
        room_description=description or f"measured BRIRs from {raw.name}",
    )
    return dict(
        emitter=emitter,
        emitter_azimuth_deg=float(meas["emitter_azimuth_deg"][emitter]),
        distance_m=distance,
        head_rotations_deg=rotations,
        measurements=int(meas["head_yaw_deg"].size),
        sample_rate=meas["sample_rate"],
        taps=int(irs.shape[-1]),
    )


def fetch(cfg: RoomsSource, options: FetchOptions, root: Path, cache: Path) -> dict[str, Any]:
    if not cfg.sets:
        raise ParameterError("rooms.sets", "no room set is marked `source: measured`; nothing to fetch")
    files, sets, urls = {}, {}, []
    rotations = cfg.head_rotations_deg
    for room in cfg.sets:
        m = cfg.measurement(room)
        raw = cache / m.file
        source_az = m.source_azimuth_deg
        sha = fetch_remote(
            options, m.remote, raw, NAME, check=lambda path, az=source_az: check_download(path, rotations, az)
        )
        out = root / "ir" / f"{room}.sofa"
        info = convert(raw, out, room, rotations, source_az, description=m.description)
        files[m.file] = {"sha256": sha, "pinned": bool(m.remote.checksum), "record": m.doi, "licence": m.licence}
        sets[room] = {"output": str(out.relative_to(root)), **info}
        urls += list(m.remote.urls)
    licences = sorted({str(f["licence"]) for f in files.values() if f["licence"]})
    return {
        "urls": urls,
        "licence": ", ".join(licences) or None,
        "files": files,
        "sets": sets,
        "file_count": len(sets),
        "outputs": [s["output"] for s in sets.values()],
    }


def fetch_one(cfg: RoomsSource, options: FetchOptions, room: str, root: Path, cache: Path) -> dict[str, Any]:
    """Only one room set (the Snakemake rule makes one file per room)."""
    if room not in cfg.sets:
        raise ParameterError("rooms.sets", f"{room!r} is not a measured room set; measured: {list(cfg.sets)}")
    return fetch(replace(cfg, sets=(room,)), options, root, cache)
