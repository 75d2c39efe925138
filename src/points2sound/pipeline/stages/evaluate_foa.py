"""Stage `evaluate_foa_<variant>`: an FOA variant, the spatial prior, the omni field and the decoded
truth scored on the anechoic test scenes, as fields and decoded to binaural."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declare import THREADS, Opt, Out, Report, Stage, StageKind

if TYPE_CHECKING:
    from ..layout import Layout

log = logging.getLogger(__name__)

KIND = StageKind(
    command="evaluate-foa",
    help="score an FOA variant, the spatial prior, the omni field and the decoded truth on the anechoic test scenes",
    topic="evaluate",
    options=(
        Opt("--variant", required=True, help="an FOA variant"),
        Opt("--model", Path, required=True, help="the variant's model.pt"),
        Opt("--dataset", Path, required=True, help="dataset root (train split: the spatial prior)"),
        Opt("--scenes", Path, required=True, help="the anechoic test scenes (test_<hrir>/)"),
        Opt("--ir", Path, required=True, help="the HRIR set the fields are decoded through (.sofa)"),
        Opt("--out-dir", Path, required=True, help="writes scores.csv and energy_maps.csv"),
        THREADS,
    ),
    params=("audio", "model", "scenes", "render", "foa", "train.device"),
)


def stages(layout: Layout) -> list[Stage]:
    D, M, hrir, out = layout.data, layout.models, layout.hrir, []
    for variant in layout.foa_variants():
        folder = f"{layout.results}/scores/foa/{variant}"
        report = Report("scores", "foa_scores.rst", subcategory="FOA scores", labels={"entry": variant})
        values = {
            "variant": variant,
            "model": f"{M}/{variant}/model.pt",
            "dataset": D,
            "scenes": f"{D}/scenes/test_{hrir}",
            "ir": f"{D}/ir/{hrir}.sofa",
            "out_dir": folder,
        }
        deps = {
            "model": f"{M}/{variant}",
            "scenes": f"{D}/scenes/test_{hrir}",
            "audio": f"{D}/audio",
            "splits": f"{D}/splits",
            "renders": f"{D}/binaural/{hrir}",
            "ir": f"{D}/ir/{hrir}.sofa",
        }
        outs = {
            "scores": Out(f"{folder}/scores.csv", cache=False, report=report),
            "maps": Out(f"{folder}/energy_maps.csv", cache=False, report=report),
        }
        out.append(layout.stage(KIND, f"evaluate_foa_{variant}", values, deps, outs, (f"variants.{variant}",)))
    return out


def run(
    params: Any,
    variant: str,
    model: Path,
    dataset: Path,
    scenes: Path,
    ir: Path,
    out_dir: Path,
    threads: int | None = None,
) -> None:
    import numpy as np

    from ...atomic import atomic_path
    from ...data.scenes import SceneSources
    from ...evaluate.foa import score_foa_variant, spatial_prior
    from ...models.loading import load_system
    from ...settings import stage_seed
    from ...settings.scenes import scene_config
    from ...settings.train import system_config
    from ...train.runtime import setup_runtime

    load_system(model, system_config(params, variant))  # refuses a model of another configuration
    setup_runtime("cpu", threads or 1, stage_seed(params, "evaluate"))
    cfg, scene_cfg = params["foa"], scene_config(params)
    hrir = params["hrir"]["name"]
    train = SceneSources.from_dataset(dataset, "train", hrir)
    prior = spatial_prior(
        train, scene_cfg, int(cfg["prior_scenes"]), stage_seed(params, "foa_prior"), cfg["n_directions"]
    )
    log.info("spatial prior from %d training scenes: first-order gains %s", prior.scenes, np.round(prior.gains, 4))
    test = SceneSources.from_dataset(dataset, "test", hrir)
    scores, maps = score_foa_variant(
        model,
        scenes,
        test,
        prior,
        ir,
        int(cfg["n_directions"]),
        scale_by_n=bool(params["scenes"]["scale_by_n"]),
        map_scenes_per_n=int(cfg["map_scenes_per_n"]),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, df in (("scores.csv", scores), ("energy_maps.csv", maps)):
        with atomic_path(out_dir / name) as tmp:
            df.to_csv(tmp, index=False, lineterminator="\n", float_format="%.9g")
        log.info("wrote %s (%d rows)", out_dir / name, len(df))
