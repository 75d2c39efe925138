"""HRIRs: the TU Berlin KEMAR 45BA anechoic set at 1 m (QU_KEMAR_anechoic_1m.sofa).

Downloaded from the Two!Ears database (or a mirror), checked with the renderer's
own SOFA reader (two ears, the horizontal plane, every rendered azimuth measured)
and copied byte for byte to data/<profile>/ir/<hrir.name>.sofa.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ...atomic import atomic_path
from ...errors import InputFileError
from ...settings.sources import FetchOptions, KemarSource, RemoteFile
from .remote import fetch_remote

NAME = "kemar"


def remote_files(cfg: KemarSource) -> list[RemoteFile]:
    return [cfg.remote]


def targets(cfg: KemarSource, root: Path) -> list[Path]:
    return [root / "ir" / f"{cfg.hrir_name}.sofa"]


def check_hrir_set(path: Path, azimuths_deg, tol_deg: float = 0.5):
    """The IR set read as the renderer reads it, with every rendered azimuth measured."""
    from ...render.sofa_io import read_ir_set

    irset = read_ir_set(path)
    if irset.kind != "hrir":
        raise InputFileError(path, "is a room (BRIR) set; expected anechoic HRIRs")
    for az in azimuths_deg:
        try:
            irset.ir(float(az), tol_deg)
        except Exception as exc:
            raise InputFileError(path, f"has no HRIR for azimuth {az} deg ({exc})") from None
    return irset


def fetch(cfg: KemarSource, options: FetchOptions, root: Path, cache: Path) -> dict[str, Any]:
    remote = cfg.remote
    raw = cache / cfg.file
    azimuths = cfg.azimuths_deg
    sha = fetch_remote(options, remote, raw, NAME, check=lambda path: check_hrir_set(path, azimuths))
    irset = check_hrir_set(raw, azimuths)
    out = targets(cfg, root)[0]
    with atomic_path(out) as tmp:
        shutil.copyfile(raw, tmp)
    horizontal = int(np.sum(np.abs(irset.elevations_deg) <= 0.5))
    dist = float(np.median(irset.distances_m)) if irset.distances_m is not None else None
    return {
        "urls": list(remote.urls),
        "record": cfg.doi,
        "licence": cfg.licence,
        "files": {cfg.file: {"sha256": sha, "pinned": bool(remote.checksum)}},
        "file_count": 1,
        "outputs": [str(out.relative_to(root))],
        "measurements": int(irset.azimuths_deg.size),
        "horizontal_measurements": horizontal,
        "sample_rate": irset.sample_rate,
        "taps": int(irset.irs.shape[-1]),
        "distance_m": dist,
    }
