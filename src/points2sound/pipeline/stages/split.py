"""Stage `split`: the 75/15/10 split index files, recordings by recording and performers by identity."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import Opt, Out, Report, Stage, StageKind

if TYPE_CHECKING:
    from ..layout import Layout

KIND = StageKind(
    command="split",
    help="write the split index files",
    topic="data",
    options=(Opt("--dataset", Path, required=True),),
    params=("instruments", "audio", "splits"),
)


def stages(layout: Layout) -> list[Stage]:
    D = layout.data
    splits = Out(f"{D}/splits", True, report=Report("data", "splits.rst", patterns=("{split}.csv",)))
    deps = {"audio": f"{D}/audio", "frames": f"{D}/frames"}
    return [layout.stage(KIND, "split", {"dataset": D}, deps, {"splits": splits})]


def run(params: Any, dataset: Path) -> None:
    from ...atomic import atomic_dir
    from ...data.splits import make_splits
    from ...settings import stage_seed

    with atomic_dir(dataset / "splits") as tmp:
        make_splits(
            dataset,
            list(params["instruments"]),
            params["audio"]["sample_rate"],
            params["splits"],
            stage_seed(params, "split"),
            out_dir=tmp,
        )
