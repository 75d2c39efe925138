"""Stage `test_scenes_<set>`: a fixed set of test scenes on one IR set, materialized once so that
every model is scored on the same ones."""

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
    command="scenes",
    help="materialize the test scenes of one IR set",
    topic="scenes",
    options=(
        Opt("--dataset", Path, required=True),
        Opt("--ir-set", required=True),
        Opt("--out", Path, required=True),
        Opt("--split", default="test"),
    ),
    params=("audio", "dataset", "scenes", "render"),
)


def stages(layout: Layout) -> list[Stage]:
    D, out = layout.data, []
    for suffix, irset, _ in layout.rendered_ir_sets():
        scenes = f"{D}/scenes/test_{irset}"
        deps = {
            "audio": f"{D}/audio",
            "renders": f"{D}/binaural/{irset}",
            "splits": f"{D}/splits",
            "frames": f"{D}/frames",
            "ir": f"{D}/ir/{irset}.sofa",
        }
        values = {"dataset": D, "ir_set": irset, "out": scenes}
        out.append(layout.stage(KIND, f"test_scenes_{suffix}", values, deps, {"scenes": Out(scenes, True)}))
    return out


def run(params: Any, dataset: Path, ir_set: str, out: Path, split: str = "test") -> None:
    from ...atomic import atomic_dir
    from ...data.scenes import SceneSources, make_scene_specs, materialize_scenes
    from ...render.sofa_io import read_ir_set
    from ...settings import stage_seed
    from ...settings.scenes import scene_config

    cfg = scene_config(params)
    irset = read_ir_set(dataset / "ir" / f"{ir_set}.sofa")
    draw = cfg.test_set(rendered_azimuths(params, irset))
    sources = SceneSources.from_dataset(dataset, split, ir_set)
    specs = make_scene_specs(
        sources,
        draw,
        cfg.test.count,
        stage_seed(params, f"scenes_{split}"),
        design=cfg.test.design,
        same_side_share=cfg.test.same_side_share_n2,
    )
    with atomic_dir(out) as tmp:
        materialize_scenes(specs, sources, tmp, cfg)
    log.info("materialized %d %s scenes through %s", len(specs), split, ir_set)
