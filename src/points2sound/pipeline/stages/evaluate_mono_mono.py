"""Stage `evaluate_mono_mono_<set>`: the copy baseline (the mono input in both ears) scored on one IR
set's test scenes, for each mono input. No network: it depends on the scenes and the metrics only."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import Out, Stage, StageKind
from ..scoring import IR_SETS, OUT_DIR, SCENES_ROOT, chosen_ir_sets, scores_report

if TYPE_CHECKING:
    from ..layout import Layout

log = logging.getLogger(__name__)

KIND = StageKind(
    command="evaluate-mono-mono",
    help="score the Mono-Mono baseline (the mono input copied to both ears) on test scenes",
    topic="evaluate",
    options=(SCENES_ROOT, IR_SETS, OUT_DIR),
    params=("audio",),
)


def stages(layout: Layout) -> list[Stage]:
    D, out = layout.data, []
    for irset in layout.ir_sets():
        values = {"scenes_root": f"{D}/scenes", "ir_sets": irset, "out_dir": f"{layout.results}/scores/mono_mono"}
        scores = Out(layout.score_path("mono_mono", irset), cache=False, report=scores_report("mono_mono", irset))
        deps = {"scenes": f"{D}/scenes/test_{irset}"}
        out.append(layout.stage(KIND, f"evaluate_mono_mono_{irset}", values, deps, {"scores": scores}))
    return out


def run(params: Any, scenes_root: Path, ir_sets: str, out_dir: Path) -> None:
    from ...evaluate.mono_mono import score_mono_mono

    for name in chosen_ir_sets(params, ir_sets):
        n = score_mono_mono(scenes_root / f"test_{name}", name, params["audio"]["sample_rate"], out_dir / f"{name}.csv")
        log.info("scored %d rows on %s", n, name)
