"""Stage `embed_audio`: the embedded mono recordings (scores played by a General MIDI SoundFont)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import Opt, Out, Stage, StageKind
from ..embedded import require_embedded, write_generated

if TYPE_CHECKING:
    import pandas as pd

    from ..layout import Layout

KIND = StageKind(
    command="embed-audio",
    help="generate the embedded mono recordings",
    topic="data",
    options=(Opt("--out", Path, required=True),),
    params=("instruments", "dataset", "audio", "embedded_audio"),
)


def stages(layout: Layout) -> list[Stage]:
    if layout.P["dataset"]["source"] == "real":
        return []
    out = f"{layout.data}/audio"
    return [layout.stage(KIND, "embed_audio", {"out": out}, {}, {"audio": Out(out, True)})]


def run(params: Any, out: Path) -> pd.DataFrame:
    from ...data.synth.audio import generate_recordings
    from ...settings import stage_seed

    require_embedded(params, "audio")
    cfg = params["embedded_audio"]
    return write_generated(
        out,
        "recordings",
        lambda tmp: generate_recordings(
            tmp,
            list(params["instruments"]),
            cfg["recordings_per_instrument"],
            cfg["duration_s"],
            params["audio"]["sample_rate"],
            stage_seed(params, "embed_audio"),
            cfg.get("variation"),
        ),
    )
