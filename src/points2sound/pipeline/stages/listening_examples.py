"""Stage `listening_examples`: the headline model's mono input, prediction and truth for one anechoic
test scene per N, a playable page for each and the picture of its scene."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...model_kinds import HEADLINE_VARIANT
from ..declare import Opt, Out, Report, Stage, StageKind

if TYPE_CHECKING:
    from ..layout import Layout

log = logging.getLogger(__name__)

KIND = StageKind(
    command="examples",
    help="write listening examples (one test scene per N)",
    topic="evaluate",
    options=(
        Opt("--model", Path, required=True),
        Opt("--scenes", Path, required=True),
        Opt("--out", Path, required=True),
        Opt(
            "--pictures",
            Path,
            help="also write a playable HTML page per example (into --out) and its scene's picture here",
        ),
    ),
    params=("audio", "train.device", "scenes.listener_height_m"),
)


def stages(layout: Layout) -> list[Stage]:
    D, M, R = layout.data, layout.models, layout.results
    variants = layout.variants()
    headline = HEADLINE_VARIANT if HEADLINE_VARIANT in variants else next(iter(variants))
    scenes = f"{D}/scenes/test_{layout.hrir}"
    values = {
        "model": f"{M}/{headline}/model.pt",
        "scenes": scenes,
        "out": f"{R}/examples",
        "pictures": f"{R}/scene_pictures",
    }
    outs = {
        "examples": Out(
            f"{R}/examples", True, report=Report("listening", "listening_example.rst", patterns=("{example}.html",))
        ),
        "pictures": Out(
            f"{R}/scene_pictures",
            True,
            report=Report(
                "data", "scene_picture.rst", subcategory="listening-example scenes", patterns=("{example}.png",)
            ),
        ),
    }
    deps = {"model": f"{M}/{headline}", "scenes": scenes}
    return [layout.stage(KIND, "listening_examples", values, deps, outs)]


def run(params: Any, model: Path, scenes: Path, out: Path, pictures: Path | None = None) -> None:
    from ...atomic import atomic_dir
    from ...evaluate.listening import write_listening_pages
    from ...evaluate.run import write_examples
    from ...settings import stage_seed
    from ...train.runtime import setup_runtime

    device, _ = setup_runtime(params["train"]["device"], 1, stage_seed(params, "evaluate"))
    with atomic_dir(out) as tmp:
        written = write_examples(model, scenes, tmp, device, params["audio"]["wav_subtype"])
        if pictures is not None:
            with atomic_dir(pictures) as pics:
                pages = write_listening_pages(tmp, scenes, pics, params["scenes"]["listener_height_m"])
            log.info("wrote %d listening pages and scene pictures (%s)", len(pages), pictures)
    log.info("wrote %d listening examples to %s", len(written), out)
