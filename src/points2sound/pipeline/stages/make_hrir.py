"""Stage `make_hrir`: the anechoic HRIR set, the rigid-sphere head at every azimuth step, as SOFA."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import Opt, Out, Stage, StageKind

if TYPE_CHECKING:
    from ..layout import Layout

log = logging.getLogger(__name__)

KIND = StageKind(
    command="make-hrir",
    help="compute the rigid-sphere HRIR set as SOFA",
    topic="render",
    options=(Opt("--out", Path, required=True),),
    params=("audio", "hrir"),
)


def stages(layout: Layout) -> list[Stage]:
    if layout.P["hrir"]["source"] != "sphere":
        return []  # a measured set is fetched (fetch_kemar)
    out = f"{layout.data}/ir/{layout.hrir}.sofa"
    return [layout.stage(KIND, "make_hrir", {"out": out}, {}, {"sofa": Out(out)})]


def run(params: Any, out: Path) -> None:
    import numpy as np

    from ...errors import ParameterError
    from ...render.sofa_io import write_hrir_sofa
    from ...render.sphere_head import sphere_hrirs

    cfg = params["hrir"]
    if cfg["source"] != "sphere":
        raise ParameterError(
            "hrir.source", f"is {cfg['source']!r}: only 'sphere' is generated; place a SOFA file at {out} instead"
        )
    azimuths = np.arange(0.0, 360.0, float(cfg["azimuth_step_deg"]))
    sample_rate = params["audio"]["sample_rate"]
    irs = sphere_hrirs(
        azimuths,
        sample_rate,
        head_radius_m=cfg["head_radius_m"],
        ear_angle_deg=cfg["ear_angle_deg"],
        distance_m=cfg["distance_m"],
        taps=cfg["taps"],
        speed_of_sound=cfg["speed_of_sound"],
    )
    write_hrir_sofa(
        out,
        irs,
        sample_rate,
        azimuths,
        cfg["distance_m"],
        name=cfg["name"],
        comment=f"rigid-sphere head, radius {cfg['head_radius_m']} m, ears at +-{cfg['ear_angle_deg']} deg",
    )
    log.info("wrote %d HRIRs to %s", len(azimuths), out)
