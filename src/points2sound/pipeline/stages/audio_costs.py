"""Stage `audio_costs`: parameters and GMACs per second of audio of this profile's audio networks and
the paper's (V-SlowFast reports costs so)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import Opt, Out, Report, Stage, StageKind

if TYPE_CHECKING:
    from ..layout import Layout

KIND = StageKind(
    command="audio-costs",
    help="parameters and GMACs per second of audio of the audio networks, this profile's and the paper's",
    topic="evaluate",
    options=(Opt("--out", Path, required=True, help="CSV to write (one row per profile and network)"),),
    params=("model", "audio"),
)


def stages(layout: Layout) -> list[Stage]:
    path = f"{layout.results}/audio_costs.csv"
    costs = Out(path, cache=False, report=Report("benchmarks", "audio_costs.rst"))
    return [layout.stage(KIND, "audio_costs", {"out": path}, {}, {"costs": costs})]


def run(params: Any, out: Path, params_file: Path | None = None) -> None:
    from ...atomic import atomic_path
    from ...config import load_params
    from ...models.cost import audio_network_costs

    profiles = {params["profile"]: params}
    if "paper" not in profiles:
        profiles["paper"] = load_params(params_file or Path("params.yaml"), "paper")
    df = audio_network_costs(
        {name: p["model"] for name, p in profiles.items()},
        {name: p["audio"]["sample_rate"] for name, p in profiles.items()},
    )
    with atomic_path(out) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n", float_format="%.9g")
    print(df.to_string(index=False))
