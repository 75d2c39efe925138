"""Stage `evaluate_<variant>_<set>`: per-scene scores of one trained binaural variant (and, for the
L_full rgb-depth models, its Rotated-Visual baseline) on one IR set's test scenes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import THREADS, Opt, Out, Stage, StageKind
from ..scoring import IR_SETS, OUT_DIR, SCENES_ROOT, chosen_ir_sets, scores_report

if TYPE_CHECKING:
    from ..layout import Layout

log = logging.getLogger(__name__)

KIND = StageKind(
    command="evaluate",
    help="score a trained variant on test scenes",
    topic="evaluate",
    options=(
        Opt("--variant", required=True),
        Opt("--model", Path, required=True, help="the variant's model.pt"),
        SCENES_ROOT,
        IR_SETS,
        OUT_DIR,
        THREADS,
    ),
    params=("audio", "model", "scenes.features", "scenes.mono_input", "train.device"),
)


def stages(layout: Layout) -> list[Stage]:
    D, M, out = layout.data, layout.models, []
    for irset in layout.ir_sets():
        for variant in layout.binaural_variants():
            values = {
                "variant": variant,
                "model": f"{M}/{variant}/model.pt",
                "scenes_root": f"{D}/scenes",
                "ir_sets": irset,
                "out_dir": f"{layout.results}/scores/{variant}",
            }
            deps = {"model": f"{M}/{variant}", "scenes": f"{D}/scenes/test_{irset}"}
            scores = Out(layout.score_path(variant, irset), cache=False, report=scores_report(variant, irset))
            name = f"evaluate_{variant}_{irset}"
            out.append(layout.stage(KIND, name, values, deps, {"scores": scores}, (f"variants.{variant}",)))
    return out


def run(
    params: Any,
    variant: str,
    model: Path,
    scenes_root: Path,
    ir_sets: str,
    out_dir: Path,
    threads: int | None = None,
) -> None:
    from ...evaluate.run import score_variant
    from ...settings import stage_seed
    from ...settings.train import system_config
    from ...train.runtime import setup_runtime

    names = chosen_ir_sets(params, ir_sets)
    device, _ = setup_runtime(params["train"]["device"], threads or 1, stage_seed(params, "evaluate"))
    expected = system_config(params, variant)
    for name in names:
        n = score_variant(model, scenes_root / f"test_{name}", name, out_dir / f"{name}.csv", device, expected)
        log.info("scored %d rows on %s", n, name)
