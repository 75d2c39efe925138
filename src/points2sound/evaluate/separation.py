"""Separation quality on test mixtures (README, "Audio pre-training by separation"): bss_eval SDR/SIR/SAR per source.

The test mixtures are fixed specs drawn from the test split (`test_mixtures_per_n` for each
N in min..max sources, clips of `test_clip_s`). Two kinds of estimates are scored:

- the separation network: the mono mixture in, conditioned on each performer's cloud in
  turn, one mono estimate per source, scored against the source's (1/N-scaled) original;
- a binaural model (per ear, as LAVSS scores binaural separation): the model's mono input
  of the binaural mixture in, conditioned on one performer's cloud alone, so its output is
  that model's binaural estimate of that source; each ear is scored against the source's
  own binaural render. A model that ignores the cloud gives one estimate for every source
  and a low SIR.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from points2sound.atomic import atomic_path
from points2sound.data.scenes import (
    SceneSources,
    SceneSpec,
    mono_input_signal,
    sample_scene_spec,
    scene_audio,
)
from points2sound.data.scenes.mixtures import canonical_distance, performer_voxels, source_signals
from points2sound.errors import ParameterError
from points2sound.evaluate.separation_metrics import bss_eval
from points2sound.settings.scenes import SceneConfig
from points2sound.settings.train import SeparationEvalConfig

EARS = ("left", "right")


def test_mixture_specs(settings: SeparationEvalConfig, sources: SceneSources) -> list[SceneSpec]:
    """The fixed separation test set; mixture (n, i) is drawn from default_rng([seed, n, i]) alone."""
    scenes, mixtures = settings.scenes, settings.mixtures
    length = round(settings.clip_s * int(scenes.sample_rate))
    if length < 1:
        raise ParameterError("pretrain_audio.test_clip_s", f"gives {length} samples")
    draw = scenes.replace(max_sources=mixtures.max_sources, segment_samples=length)
    specs = []
    for n in range(mixtures.min_sources, mixtures.max_sources + 1):
        for i in range(settings.mixtures_per_n):
            rng = np.random.default_rng([settings.seed, n, i])
            specs.append(sample_scene_spec(rng, sources, draw, n_sources=n, scene_id=f"sep_n{n}_{i:04d}"))
    return specs


def _clouds(
    model: torch.nn.Module,
    spec: SceneSpec,
    sources: SceneSources,
    features: str,
    voxel_size: float,
    height: float,
    device: torch.device,
    canonical_m: float | None = None,
) -> Any:
    """One single-performer cloud per source, as one sparse batch."""
    pairs = [
        performer_voxels(spec, j, sources, features, voxel_size, height, canonical_m=canonical_m)
        for j in range(spec.n_sources)
    ]
    return model.vision.collate([p[0] for p in pairs], [p[1] for p in pairs], device=device)


def _rows(spec: SceneSpec, scores: Mapping[str, np.ndarray], **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "scene_id": spec.scene_id,
            "n_sources": spec.n_sources,
            "source_index": j,
            "instrument": s.instrument,
            "azimuth_deg": s.azimuth_deg,
            "distance_m": round(s.distance_m, 4),
            **extra,
            "sdr": float(scores["sdr"][j]),
            "sir": float(scores["sir"][j]),
            "sar": float(scores["sar"][j]),
        }
        for j, s in enumerate(spec.sources)
    ]


@torch.no_grad()
def score_separation_net(
    model: torch.nn.Module,
    config: Mapping[str, Any],
    specs: Sequence[SceneSpec],
    sources: SceneSources,
    settings: SeparationEvalConfig,
    device: torch.device,
) -> pd.DataFrame:
    """One row per source of every test mixture: the separation network's mono estimates."""
    scenes = settings.scenes
    canonical_m = canonical_distance(settings.mixtures, scenes)
    rows = []
    for spec in tqdm(specs, desc="separation", unit="mix"):
        refs = source_signals(spec, sources, scenes.scale_by_n)
        mix = torch.from_numpy(refs.sum(axis=0)).to(device).expand(spec.n_sources, 1, -1)
        clouds = _clouds(
            model,
            spec,
            sources,
            config["features"],
            config["voxel_size_m"],
            scenes.listener_height_m,
            device,
            canonical_m,
        )
        est = model(mix, clouds)[:, 0].cpu().double().numpy()
        rows += _rows(spec, bss_eval(refs.astype(np.float64), est))
    return pd.DataFrame(rows)


def _source_renders(spec: SceneSpec, sources: SceneSources, scale_by_n: bool) -> np.ndarray:
    """(N, 2, T): each source's binaural render, scaled like the mixture (their sum is the target)."""
    gain = 1.0 / spec.n_sources if scale_by_n else 1.0
    t = spec.segment_samples
    return (
        np.stack(
            [
                sources.cache.audio(
                    sources.render_path(s.instrument, s.recording, s.azimuth_deg),
                    s.start,
                    s.start + t,
                    2,
                    sources.sample_rate,
                )
                for s in spec.sources
            ]
        )
        * gain
    )


@torch.no_grad()
def score_binaural_per_ear(
    system: torch.nn.Module,
    config: Mapping[str, Any],
    specs: Sequence[SceneSpec],
    sources: SceneSources,
    scenes: SceneConfig,
    device: torch.device,
    desc: str = "per ear",
) -> pd.DataFrame:
    """One row per source and ear: a binaural model conditioned on one performer at a time."""
    scale = scenes.scale_by_n
    rows = []
    for spec in tqdm(specs, desc=desc, unit="mix"):
        true_mono, binaural = scene_audio(
            spec, sources, scale_by_n=scale, with_true_mono=config["mono_input"] == "true_mono"
        )
        mono = mono_input_signal(config["mono_input"], binaural, true_mono)
        x = torch.from_numpy(np.ascontiguousarray(mono)).to(device).expand(spec.n_sources, 1, -1)
        clouds = _clouds(
            system,
            spec,
            sources,
            config["features"],
            config["voxel_size_m"],
            scenes.listener_height_m,
            device,
        )
        est = system.binauralize(x, clouds).cpu().double().numpy()  # (N, 2, T)
        refs = _source_renders(spec, sources, scale).astype(np.float64)
        for e, ear in enumerate(EARS):
            rows += _rows(spec, bss_eval(refs[:, e], est[:, e]), ear=ear)
    return pd.DataFrame(rows)


def write_scores(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def evaluate_separation(
    settings: SeparationEvalConfig,
    dataset_root: Path,
    separation_model: Path,
    binaural_models: Mapping[str, Path],
    out_dir: Path,
    device: torch.device,
    load_variant: Callable[[str, Path], tuple[torch.nn.Module, Mapping[str, Any]]],
) -> list[Path]:
    """Score the separation network (`mono.csv`) and each binaural model per ear (`<variant>_per_ear.csv`)."""
    from points2sound.models.loading import load_separation

    sources = SceneSources.from_dataset(dataset_root, "test", settings.scenes.ir_set)
    specs = test_mixture_specs(settings, sources)
    net, blob = load_separation(separation_model)
    written = [out_dir / "mono.csv"]
    write_scores(score_separation_net(net.to(device), blob["config"], specs, sources, settings, device), written[0])
    for variant, path in binaural_models.items():
        system, config = load_variant(variant, path)
        df = score_binaural_per_ear(system.to(device), config, specs, sources, settings.scenes, device, desc=variant)
        written.append(out_dir / f"{variant}_per_ear.csv")
        write_scores(df, written[-1])
    return written
