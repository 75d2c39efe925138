"""The pipeline's stages: each maps resolved parameters onto one library call.

The CLI exposes one command per function here; Snakemake rules and DVC stages
call those commands, so each stage is implemented exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .atomic import atomic_dir, atomic_path
from .errors import InputFileError, ParameterError
from .runrecord import RUN
from .settings import stage_seed

log = logging.getLogger(__name__)
Params = Mapping[str, Any]


def _require_embedded(params: Params, what: str) -> None:
    if params["dataset"]["source"] != "embedded":
        raise ParameterError(
            "dataset.source",
            f"is {params['dataset']['source']!r}: the embedded {what} generator only runs for the embedded source; "
            "place the real files in data/<profile>/ following the data contract in README.md",
        )


def _rendered_azimuths(params: Params, irset: Any) -> list[int]:
    """A room's azimuths are its measured ones (head rotations); an HRIR set's are the paper's eight."""
    if irset.kind == "brir":
        return sorted({int(round(a)) % 360 for a in irset.azimuths_deg})
    return list(params["render"]["azimuths_deg"])


def _write_generated(out_dir: Path, what: str, generate: Callable[[Path], pd.DataFrame]) -> pd.DataFrame:
    """Run an embedded generator into a temporary folder that replaces `out_dir` only when it succeeds."""
    with atomic_dir(out_dir) as tmp:
        table = generate(tmp)
    log.info("wrote %d %s to %s", len(table), what, out_dir)
    return table


def embed_audio(params: Params, out_dir: Path) -> pd.DataFrame:
    """Mono recordings rendered from real scores with a General MIDI SoundFont."""
    from .data.synth.audio import generate_recordings

    _require_embedded(params, "audio")
    cfg = params["embedded_audio"]
    return _write_generated(
        out_dir,
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


def embed_frames(params: Params, out_dir: Path) -> pd.DataFrame:
    """Point-cloud videos of procedurally built performers."""
    from .data.synth.performers import generate_performers
    from .settings.synth import camera_config

    _require_embedded(params, "point cloud")
    cfg, camera = params["embedded_frames"], camera_config(params)
    return _write_generated(
        out_dir,
        "performers",
        lambda tmp: generate_performers(
            tmp,
            list(params["instruments"]),
            cfg["performers_per_instrument"],
            cfg["frames_per_performer"],
            stage_seed(params, "embed_frames"),
            camera=camera,
            fps=params["dataset"]["fps"],
        ),
    )


def embed_shapes(params: Params, out_dir: Path) -> pd.DataFrame:
    """ModelNet-style shapes for vision pre-training."""
    from .data.synth.shapes import generate_shapes

    cfg = params["shapes"]
    return _write_generated(
        out_dir,
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


def make_hrir(params: Params, out_path: Path) -> None:
    """The anechoic HRIR set: the rigid-sphere model at every azimuth step."""
    from .render.sofa_io import write_hrir_sofa
    from .render.sphere_head import sphere_hrirs

    cfg = params["hrir"]
    if cfg["source"] != "sphere":
        raise ParameterError(
            "hrir.source", f"is {cfg['source']!r}: only 'sphere' is generated; place a SOFA file at {out_path} instead"
        )
    step = float(cfg["azimuth_step_deg"])
    azimuths = np.arange(0.0, 360.0, step)
    irs = sphere_hrirs(
        azimuths,
        params["audio"]["sample_rate"],
        head_radius_m=cfg["head_radius_m"],
        ear_angle_deg=cfg["ear_angle_deg"],
        distance_m=cfg["distance_m"],
        taps=cfg["taps"],
        speed_of_sound=cfg["speed_of_sound"],
    )
    write_hrir_sofa(
        out_path,
        irs,
        params["audio"]["sample_rate"],
        azimuths,
        cfg["distance_m"],
        name=cfg["name"],
        comment=f"rigid-sphere head, radius {cfg['head_radius_m']} m, ears at +-{cfg['ear_angle_deg']} deg",
    )
    log.info("wrote %d HRIRs to %s", len(azimuths), out_path)


def make_brir(params: Params, room: str, hrir_path: Path, out_path: Path) -> None:
    """A simulated room's BRIRs for the head rotations, every image source through the HRIRs."""
    from .render.room import ROOM_PRESETS, default_listener, simulate_brirs
    from .render.sofa_io import read_ir_set, write_brir_sofa

    sets = params["rooms"]["sets"]
    if room not in sets:
        raise ParameterError("rooms.sets", f"no room named {room!r}; known: {sorted(sets)}")
    cfg = sets[room]
    if cfg["preset"] not in ROOM_PRESETS:
        raise ParameterError(
            f"rooms.sets.{room}.preset", f"unknown preset {cfg['preset']!r}; known: {sorted(ROOM_PRESETS)}"
        )
    preset = ROOM_PRESETS[cfg["preset"]]
    hrir = read_ir_set(hrir_path)
    rotations = params["rooms"]["head_rotations_deg"]
    irs, rotations = simulate_brirs(
        hrir,
        preset["dims_m"],
        cfg["rt60_s"],
        source_distance_m=params["rooms"]["source_distance_m"],
        head_rotations_deg=rotations,
        seed=stage_seed(params, f"brir_{room}"),
    )
    write_brir_sofa(
        out_path,
        irs,
        hrir.sample_rate,
        rotations,
        0.0,
        params["rooms"]["source_distance_m"],
        name=room,
        room_description=f"simulated shoebox {preset['dims_m']} m, RT60 {cfg['rt60_s']} s ({cfg['preset']})",
        room_dims_m=preset["dims_m"],
        listener_pos_m=default_listener(preset["dims_m"], params["rooms"]["source_distance_m"]),
    )
    log.info("wrote %d BRIRs to %s", len(rotations), out_path)


def split(params: Params, dataset_root: Path) -> None:
    """Index files per split, recordings by recording and performers by identity."""
    from .data.splits import make_splits

    with atomic_dir(dataset_root / "splits") as tmp:
        make_splits(
            dataset_root,
            list(params["instruments"]),
            params["audio"]["sample_rate"],
            params["splits"],
            stage_seed(params, "split"),
            out_dir=tmp,
        )


def render(
    params: Params,
    dataset_root: Path,
    ir_path: Path,
    out_dir: Path,
    splits: list[str],
    azimuths: list[int] | None = None,
) -> None:
    """Binaural renders of the recordings of some splits through one IR set (Two!Ears style)."""
    from .render.binaural import render_recordings
    from .render.sofa_io import read_ir_set

    irset = read_ir_set(ir_path)
    if azimuths is None:
        azimuths = _rendered_azimuths(params, irset)
    files: list[Path] = []
    for name in splits:
        index = dataset_root / "splits" / f"{name}_audio.csv"
        if not index.is_file():
            raise InputFileError(index, "split index not found", "run the split stage first")
        files += [dataset_root / p for p in pd.read_csv(index)["path"]]
    with atomic_dir(out_dir) as tmp:
        render_recordings(
            files, tmp, irset, azimuths, params["audio"]["sample_rate"], subtype=params["audio"]["wav_subtype"]
        )
    log.info("rendered %d recordings x %d azimuths through %s", len(files), len(azimuths), ir_path.name)


def scenes(params: Params, dataset_root: Path, ir_set: str, out_dir: Path, split_name: str = "test") -> None:
    """Materialize a fixed set of test scenes, so every model is scored on the same ones."""
    from .data.scenes import SceneSources, make_scene_specs, materialize_scenes
    from .render.sofa_io import read_ir_set
    from .settings.scenes import scene_config

    cfg = scene_config(params)
    irset = read_ir_set(dataset_root / "ir" / f"{ir_set}.sofa")
    draw = cfg.test_set(_rendered_azimuths(params, irset))
    sources = SceneSources.from_dataset(dataset_root, split_name, ir_set)
    specs = make_scene_specs(
        sources,
        draw,
        cfg.test.count,
        stage_seed(params, f"scenes_{split_name}"),
        design=cfg.test.design,
        same_side_share=cfg.test.same_side_share_n2,
    )
    with atomic_dir(out_dir) as tmp:
        materialize_scenes(specs, sources, tmp, cfg)
    log.info("materialized %d %s scenes through %s", len(specs), split_name, ir_set)


def _threads(params: Params, kind: str, given: int | None) -> int:
    """Torch threads of a run: the engine's allocation, else resources.<kind>.cpus (at most the cores).

    Float sums depend on the thread count, so both engines must use the same one for the
    same weights: Snakemake passes min(cores, cpus), DVC nothing, and this default agrees.
    """
    import os

    if given:
        return int(given)
    return max(1, min(int(params.get("resources", {}).get(kind, {}).get("cpus", 1)), os.cpu_count() or 1))


def pretrain(
    params: Params,
    shapes_root: Path,
    out_dir: Path,
    live_dir: Path,
    checkpoint_dir: Path,
    threads: int | None = None,
    stop_after: int | None = None,
    dataset_root: Path | None = None,
) -> None:
    """Pre-train the vision trunk on shape classification; the checkpoint and its test accuracy."""
    from .settings.train import pretrain_config
    from .train.pretrain import KIND, pretrain_vision

    _pretraining_run(
        params,
        "pretrain_vision",
        "fit_" + KIND,
        threads,
        out_dir,
        live_dir,
        lambda model_path, device: pretrain_vision(
            pretrain_config(params),
            shapes_root,
            checkpoint_dir,
            model_path,
            device=device,
            stop_after=stop_after,
            dataset_root=dataset_root,
        )[0],
    )


def pretrain_panorama(
    params: Params,
    dataset_root: Path,
    out_dir: Path,
    live_dir: Path,
    checkpoint_dir: Path,
    threads: int | None = None,
    stop_after: int | None = None,
) -> None:
    """Pre-train the 2D vision net (torchvision ResNet18 on panoramas) on the scene pretext; its checkpoint."""
    from .settings.train import pretrain_config
    from .train.pretrain_panorama import pretrain_panorama as run_pretext

    _pretraining_run(
        params,
        "pretrain_vision_2d",
        "fit_pretrain_scene",
        threads,
        out_dir,
        live_dir,
        lambda model_path, device: run_pretext(
            pretrain_config(params, "panorama2d"),
            dataset_root,
            checkpoint_dir,
            model_path,
            device=device,
            stop_after=stop_after,
        ),
    )


def _pretraining_run(
    params: Params,
    name: str,
    kind: str,
    threads: int | None,
    out_dir: Path,
    live_dir: Path,
    run: Callable[[Path, Any], Any],
) -> None:
    """What both pre-training stages share: the runtime, the atomic model folder, the metrics and the summary.
    `run(model_path, device)` trains and writes model_path, returning the loop's FitResult (its fit of `kind`
    logs to `live_dir`, train/live.py)."""
    from .train.live import recording
    from .train.runtime import setup_runtime

    device, _ = setup_runtime(
        params["train"]["device"], _threads(params, "pretrain", threads), stage_seed(params, name)
    )
    with recording(live_dir, kind) as live, atomic_dir(out_dir) as tmp:
        result = run(tmp / "model.pt", device)
        if result.stopped_early:
            raise RunStopped(result.iterations_done)
    live.finish(
        {
            "best_iteration": result.best_iteration,
            "best_val_loss": result.best_val,
            "iterations": result.iterations_done,
            **result.extra,
        },
        result.iterations_done,
    )
    RUN.update(**result.timing(), device=str(device), world_size=1)


def train(
    params: Params,
    variant: str,
    dataset_root: Path,
    pretrained: Path | None,
    out_dir: Path,
    live_dir: Path,
    checkpoint_dir: Path,
    threads: int | None = None,
    stop_after: int | None = None,
    pretrained_vision: Path | None = None,
) -> None:
    """Train one variant of the paper; the best weights, and its metrics (history and summary, dvclive)."""
    from .settings.train import variant_config
    from .train.live import recording
    from .train.runtime import setup_runtime
    from .train.variant import save_model, summarize, train_variant

    run = variant_config(params, variant)
    device, dist = setup_runtime(
        run.train.device, _threads(params, "train", threads), stage_seed(params, f"train_{variant}")
    )
    try:
        with recording(live_dir, f"train_{variant}") as live:
            result, config, system, task = train_variant(
                run,
                dataset_root,
                pretrained,
                checkpoint_dir,
                device=device,
                dist=dist,
                stop_after=stop_after,
                pretrained_vision=pretrained_vision,
            )
        if result.stopped_early:  # every rank exits the same way, so torchrun reports it
            raise RunStopped(result.iterations_done)
        if not dist.is_main:
            return
        summary = {"variant": variant, **summarize(result, task, device)}
        RUN.update(**result.timing(), device=str(device), world_size=dist.world_size)
        with atomic_dir(out_dir) as tmp:
            save_model(tmp / "model.pt", system, config, summary)
        live.finish(summary, result.iterations_done)
        log.info(
            "%s: val L1 %.5f (scene rotated by pi/2: %.5f; mono copied to both ears: %.5f)",
            variant,
            summary["val_l1"],
            summary["val_l1_rotated"],
            summary["val_l1_mono_copy"],
        )
    finally:
        dist.close()


def pretrain_separation(
    params: Params,
    dataset_root: Path,
    pretrained: Path | None,
    out_dir: Path,
    live_dir: Path,
    checkpoint_dir: Path,
    threads: int | None = None,
    stop_after: int | None = None,
) -> None:
    """Audio pre-training by visually-conditioned separation; the checkpoint and its validation L1."""
    from .models.loading import SEPARATION_KIND
    from .settings.train import separation_config
    from .train.separation import pretrain_separation as run

    _pretraining_run(
        params,
        "pretrain_separation",
        "fit_" + SEPARATION_KIND,
        threads,
        out_dir,
        live_dir,
        lambda model_path, device: run(
            separation_config(params),
            dataset_root,
            pretrained,
            checkpoint_dir,
            model_path,
            device=device,
            stop_after=stop_after,
        )[0],
    )


def evaluate_separation(
    params: Params,
    dataset_root: Path,
    separation_model: Path,
    models_dir: Path,
    variants: list[str] | None,
    out_dir: Path,
    threads: int | None = None,
) -> None:
    """bss_eval scores of the separation network, and per ear of binaural variants (<models_dir>/<variant>)."""
    from .evaluate.separation import evaluate_separation as run
    from .models.loading import load_system
    from .settings.train import separation_eval_config, system_config
    from .train.runtime import setup_runtime

    settings = separation_eval_config(params)
    names = list(settings.per_ear_variants) if variants is None else variants
    models = {v: models_dir / v / "model.pt" for v in names}

    def load(variant: str, path: Path):
        system, blob = load_system(path, system_config(params, variant))
        return system, blob["config"]

    device, _ = setup_runtime(params["train"]["device"], threads or 1, stage_seed(params, "evaluate"))
    for path in run(settings, dataset_root, separation_model, models, out_dir, device, load):
        log.info("wrote %s", path)


class RunStopped(Exception):
    """A run cut short on purpose (--stop-after): resumable, no output written."""

    def __init__(self, iteration: int):
        super().__init__(f"stopped after iteration {iteration}; rerun the same command to resume")
        self.iteration = iteration


def _ir_sets(params: Params, names: str) -> list[str]:
    everything = [params["hrir"]["name"], *params["rooms"]["sets"]]
    if names == "all":
        return everything
    chosen = [n for n in names.split(",") if n]
    unknown = sorted(set(chosen) - set(everything))
    if unknown or not chosen:
        raise ParameterError("ir_sets", f"unknown IR set(s) {unknown or names!r}; known: {everything} or 'all'")
    return chosen


def evaluate(
    params: Params,
    variant: str | None,
    model_path: Path | None,
    scenes_root: Path,
    ir_sets: str,
    out_dir: Path,
    threads: int | None = None,
) -> None:
    """Per-scene scores of one trained variant (or, with variant None, the Mono-Mono baseline):
    `<out_dir>/<ir_set>.csv` for each IR set's materialized test scenes."""
    from .evaluate.run import score_mono_mono, score_variant
    from .settings.train import system_config
    from .train.runtime import setup_runtime

    names = _ir_sets(params, ir_sets)
    if variant is not None:
        if model_path is None:
            raise ParameterError("model", f"scoring variant {variant!r} needs its model.pt")
        device, _ = setup_runtime(params["train"]["device"], threads or 1, stage_seed(params, "evaluate"))
        expected = system_config(params, variant)
    for name in names:
        scenes_dir, out_csv = scenes_root / f"test_{name}", out_dir / f"{name}.csv"
        if variant is None:
            n = score_mono_mono(scenes_dir, name, params["audio"]["sample_rate"], out_csv)
        else:
            n = score_variant(model_path, scenes_dir, name, out_csv, device, expected)
        log.info("scored %d rows on %s", n, name)


def evaluate_foa(
    params: Params,
    variant: str,
    model_path: Path,
    dataset_root: Path,
    scenes_dir: Path,
    ir_path: Path,
    out_dir: Path,
    threads: int | None = None,
) -> None:
    """FOA scores of one FOA variant and its baselines on the anechoic test scenes (`evaluate.foa`):
    `<out_dir>/scores.csv` (per scene and method) and `<out_dir>/energy_maps.csv` (a few scenes)."""
    from .data.scenes import SceneSources
    from .evaluate.foa import score_foa_variant, spatial_prior
    from .models.loading import load_system
    from .settings.scenes import scene_config
    from .settings.train import system_config
    from .train.runtime import setup_runtime

    load_system(model_path, system_config(params, variant))  # refuses a model of another configuration
    setup_runtime("cpu", threads or 1, stage_seed(params, "evaluate"))
    cfg, scenes = params["foa"], scene_config(params)
    hrir = params["hrir"]["name"]
    train = SceneSources.from_dataset(dataset_root, "train", hrir)
    prior = spatial_prior(train, scenes, int(cfg["prior_scenes"]), stage_seed(params, "foa_prior"), cfg["n_directions"])
    log.info("spatial prior from %d training scenes: first-order gains %s", prior.scenes, np.round(prior.gains, 4))
    test = SceneSources.from_dataset(dataset_root, "test", hrir)
    scores, maps = score_foa_variant(
        model_path,
        scenes_dir,
        test,
        prior,
        ir_path,
        int(cfg["n_directions"]),
        scale_by_n=bool(params["scenes"]["scale_by_n"]),
        map_scenes_per_n=int(cfg["map_scenes_per_n"]),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, df in (("scores.csv", scores), ("energy_maps.csv", maps)):
        with atomic_path(out_dir / name) as tmp:
            df.to_csv(tmp, index=False, lineterminator="\n", float_format="%.9g")
        log.info("wrote %s (%d rows)", out_dir / name, len(df))


def examples(
    params: Params, model_path: Path, scenes_dir: Path, out_dir: Path, pictures_dir: Path | None = None
) -> None:
    """Listening examples (mono, prediction, truth) for one test scene per N; with `pictures_dir`, also
    a playable HTML page per example (beside its WAVs) and the picture of its scene there."""
    from .evaluate.listening import write_listening_pages
    from .evaluate.run import write_examples
    from .train.runtime import setup_runtime

    device, _ = setup_runtime(params["train"]["device"], 1, stage_seed(params, "evaluate"))
    with atomic_dir(out_dir) as tmp:
        written = write_examples(model_path, scenes_dir, tmp, device, params["audio"]["wav_subtype"])
        if pictures_dir is not None:
            with atomic_dir(pictures_dir) as pictures:
                pages = write_listening_pages(tmp, scenes_dir, pictures)
            log.info("wrote %d listening pages and scene pictures (%s)", len(pages), pictures_dir)
    log.info("wrote %d listening examples to %s", len(written), out_dir)


def report(
    params: Params,
    score_files: list[Path],
    examples_dir: Path | None,
    out_dir: Path,
    separation_scores: list[Path] | None = None,
    costs: Path | None = None,
    artifacts: Sequence[Path] = (),
    reference: Path | None = None,
    seed_spread: Path | None = None,
    curves: Sequence[Path] = (),
    foa_scores: Sequence[Path] = (),
    pretext: Sequence[Path] = (),
) -> None:
    """Tables, figures and the one-page report from the per-scene scores (report/run.py).

    With `separation_scores` (mono.csv / <variant>_per_ear.csv, or folders of them) or
    `costs` (the audio-costs CSV) the page gets the audio pre-training section.
    """
    from .report.run import ReportInputs, write_results
    from .settings.report import report_settings

    inputs = ReportInputs(
        score_files,
        examples_dir,
        separation_scores,
        costs,
        artifacts,
        reference,
        seed_spread,
        curves,
        foa_scores,
        pretext,
    )
    page = write_results(report_settings(params), inputs, out_dir)
    log.info("report written to %s", page)
