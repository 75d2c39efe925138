"""Stage `render_<set>`: the recordings of some splits rendered binaurally through one IR set
at every azimuth it holds (Two!Ears style)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import Opt, Out, Stage, StageKind
from ..irsets import rendered_azimuths

if TYPE_CHECKING:
    from ..layout import Layout

log = logging.getLogger(__name__)

KIND = StageKind(
    command="render-split",
    help="render the recordings of some splits binaurally through a SOFA IR set (pipeline stage)",
    topic="render",
    options=(
        Opt("--dataset", Path, required=True),
        Opt("--ir", Path, required=True),
        Opt("--out", Path, required=True),
        Opt("--splits", default="train,val,test"),
    ),
    params=("audio", "render"),
)


def stages(layout: Layout) -> list[Stage]:
    D, out = layout.data, []
    for suffix, irset, splits in layout.rendered_ir_sets():
        ir, renders = f"{D}/ir/{irset}.sofa", f"{D}/binaural/{irset}"
        values = {"dataset": D, "ir": ir, "out": renders, "splits": ",".join(splits)}
        deps = {"audio": f"{D}/audio", "splits": f"{D}/splits", "ir": ir}
        out.append(layout.stage(KIND, f"render_{suffix}", values, deps, {"renders": Out(renders, True)}))
    return out


def run(
    params: Any, dataset: Path, ir: Path, out: Path, splits: str | list[str], azimuths: list[int] | None = None
) -> None:
    import pandas as pd

    from ...atomic import atomic_dir
    from ...errors import InputFileError
    from ...render.binaural import render_recordings
    from ...render.sofa_io import read_ir_set

    irset = read_ir_set(ir)
    if azimuths is None:
        azimuths = rendered_azimuths(params, irset)
    files: list[Path] = []
    for name in splits.split(",") if isinstance(splits, str) else splits:
        index = dataset / "splits" / f"{name}_audio.csv"
        if not index.is_file():
            raise InputFileError(index, "split index not found", "run the split stage first")
        files += [dataset / p for p in pd.read_csv(index)["path"]]
    with atomic_dir(out) as tmp:
        render_recordings(
            files, tmp, irset, azimuths, params["audio"]["sample_rate"], subtype=params["audio"]["wav_subtype"]
        )
    log.info("rendered %d recordings x %d azimuths through %s", len(files), len(azimuths), ir.name)
