"""Stage `embed_frames`: point-cloud videos of procedurally built performers, filmed by a virtual Kinect."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import Opt, Out, Stage, StageKind
from ..embedded import require_embedded, write_generated

if TYPE_CHECKING:
    import pandas as pd

    from ..layout import Layout

KIND = StageKind(
    command="embed-frames",
    help="generate the embedded point-cloud videos",
    topic="data",
    options=(Opt("--out", Path, required=True),),
    params=("instruments", "dataset", "embedded_frames"),
)


def stages(layout: Layout) -> list[Stage]:
    if layout.P["dataset"]["source"] == "real":
        return []
    out = f"{layout.data}/frames"
    return [layout.stage(KIND, "embed_frames", {"out": out}, {}, {"frames": Out(out, True)})]


def run(params: Any, out: Path) -> pd.DataFrame:
    from ...data.synth.performers import generate_performers
    from ...settings import stage_seed
    from ...settings.synth import camera_config

    require_embedded(params, "point cloud")
    cfg, camera = params["embedded_frames"], camera_config(params)
    return write_generated(
        out,
        "performers",
        lambda tmp: generate_performers(
            tmp,
            list(params["instruments"]),
            cfg["performers_per_instrument"],
            cfg["frames_per_performer"],
            stage_seed(params, "embed_frames"),
            camera=camera,
            fps=params["dataset"]["fps"],
        ),
    )
