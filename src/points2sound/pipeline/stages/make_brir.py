"""Stage `make_brir_<room>`: a simulated room's BRIRs for the head rotations, every image source
through the HRIRs (a measured room is fetched instead)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import Opt, Out, Stage, StageKind

if TYPE_CHECKING:
    from ..layout import Layout

log = logging.getLogger(__name__)

KIND = StageKind(
    command="make-brir",
    help="simulate a room's BRIR set as SOFA",
    topic="render",
    options=(Opt("--room", required=True), Opt("--hrir", Path, required=True), Opt("--out", Path, required=True)),
    params=("rooms",),
)


def stages(layout: Layout) -> list[Stage]:
    hrir = f"{layout.data}/ir/{layout.hrir}.sofa"
    measured = set(layout.measured_rooms())
    out = []
    for room in layout.rooms():
        if room not in measured:
            sofa = f"{layout.data}/ir/{room}.sofa"
            values = {"room": room, "hrir": hrir, "out": sofa}
            out.append(layout.stage(KIND, f"make_brir_{room}", values, {"hrir": hrir}, {"sofa": Out(sofa)}))
    return out


def run(params: Any, room: str, hrir: Path, out: Path) -> None:
    from ...errors import ParameterError
    from ...render.room import ROOM_PRESETS, default_listener, simulate_brirs
    from ...render.sofa_io import read_ir_set, write_brir_sofa
    from ...settings import stage_seed

    sets = params["rooms"]["sets"]
    if room not in sets:
        raise ParameterError("rooms.sets", f"no room named {room!r}; known: {sorted(sets)}")
    cfg = sets[room]
    if cfg["preset"] not in ROOM_PRESETS:
        raise ParameterError(
            f"rooms.sets.{room}.preset", f"unknown preset {cfg['preset']!r}; known: {sorted(ROOM_PRESETS)}"
        )
    preset = ROOM_PRESETS[cfg["preset"]]
    irset = read_ir_set(hrir)
    distance = params["rooms"]["source_distance_m"]
    irs, rotations = simulate_brirs(
        irset,
        preset["dims_m"],
        cfg["rt60_s"],
        source_distance_m=distance,
        head_rotations_deg=params["rooms"]["head_rotations_deg"],
        seed=stage_seed(params, f"brir_{room}"),
    )
    write_brir_sofa(
        out,
        irs,
        irset.sample_rate,
        rotations,
        0.0,
        distance,
        name=room,
        room_description=f"simulated shoebox {preset['dims_m']} m, RT60 {cfg['rt60_s']} s ({cfg['preset']})",
        room_dims_m=preset["dims_m"],
        listener_pos_m=default_listener(preset["dims_m"], distance),
    )
    log.info("wrote %d BRIRs to %s", len(rotations), out)
