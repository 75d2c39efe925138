"""Stage `embed_shapes`: ModelNet-style shapes for the vision pre-training (when ModelNet40 is not fetched)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import Opt, Out, Stage, StageKind
from ..embedded import write_generated

if TYPE_CHECKING:
    import pandas as pd

    from ..layout import Layout

KIND = StageKind(
    command="embed-shapes",
    help="generate the embedded pre-training shapes",
    topic="data",
    options=(Opt("--out", Path, required=True),),
    params=("shapes",),
)


def stages(layout: Layout) -> list[Stage]:
    if layout.P["dataset"]["source"] == "real" or layout.P["shapes"]["name"] == "modelnet40":
        return []
    out = f"{layout.data}/shapes"
    return [layout.stage(KIND, "embed_shapes", {"out": out}, {}, {"shapes": Out(out, True)})]


def run(params: Any, out: Path) -> pd.DataFrame:
    from ...data.synth.shapes import generate_shapes
    from ...settings import stage_seed

    cfg = params["shapes"]
    return write_generated(
        out,
        "shapes",
        lambda tmp: generate_shapes(
            tmp,
            cfg["classes"],
            cfg["shapes_per_class"],
            cfg["points_per_shape"],
            stage_seed(params, "embed_shapes"),
            test_fraction=cfg["test_fraction"],
        ),
    )
