"""Mixtures for the separation pre-training: N sources summed, one of them the target, its performer alone.

Drawn like scenes (the same specs, segments and performers), so the audio network
learns to pick out a source that the vision network sees.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ...errors import ParameterError
from ...geometry.voxelize import scene_features, voxelize
from ...settings.scenes import AugmentParams, SceneConfig
from ...settings.train import MixtureConfig
from .build import scene_cloud
from .sampling import sample_scene_spec
from .sources import SceneSources
from .spec import SceneSpec


@dataclass
class Mixture:
    """mono: float32 (T,) mixture; sources: float32 (N, T) its scaled sources; target: index into sources;
    coords/feats: the voxelized cloud of the target's performer."""

    mono: np.ndarray
    sources: np.ndarray
    target: int
    coords: np.ndarray
    feats: np.ndarray
    spec: SceneSpec


def source_signals(spec: SceneSpec, sources: SceneSources, scale_by_n: bool) -> np.ndarray:
    """(N, T) float32: each source's mono segment, scaled by 1/N when `scale_by_n` (their sum is the mixture)."""
    gain = 1.0 / spec.n_sources if scale_by_n else 1.0
    t = spec.segment_samples
    rows = [
        sources.cache.audio(sources.mono_path(s.instrument, s.recording), s.start, s.start + t, 1, sources.sample_rate)[
            0
        ]
        for s in spec.sources
    ]
    return (np.stack(rows).astype(np.float64) * gain).astype(np.float32)


def performer_voxels(
    spec: SceneSpec,
    j: int,
    sources: SceneSources,
    features: str,
    voxel_size: float,
    listener_height_m: float,
    augment: AugmentParams | None = None,
    rng: np.random.Generator | None = None,
    canonical_m: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The voxelized cloud of source j's performer alone, placed where the scene places it, or, with
    `canonical_m`, straight ahead at that distance (the point-cloud analogue of an object crop)."""
    source = spec.sources[j]
    if canonical_m is not None:
        source = dataclasses.replace(source, azimuth_deg=0, distance_m=float(canonical_m))
    alone = dataclasses.replace(spec, sources=(source,))
    cloud = scene_cloud(alone, sources, augment=augment, rng=rng, listener_height_m=listener_height_m)
    return voxelize(cloud.xyz, scene_features(cloud, features), voxel_size)


def canonical_distance(mixtures: MixtureConfig, scenes: SceneConfig) -> float | None:
    """The fixed distance of `placement: canonical` (mid of the scene range), else None."""
    if mixtures.placement != "canonical":
        return None
    return float(np.mean(scenes.distance_range_m))


class MixtureSampler:
    """Training (or validation) mixtures drawn on the fly; mixture i depends only on (seed, i)."""

    def __init__(
        self, sources: SceneSources, seed: int, scenes: SceneConfig, mixtures: MixtureConfig, augment: bool
    ) -> None:
        lo, hi = mixtures.min_sources, mixtures.max_sources
        if not 1 <= lo <= hi:
            raise ParameterError("pretrain_audio.min_sources", f"need 1 <= min_sources <= max_sources, got {lo}, {hi}")
        self.sources, self.seed, self.n_range = sources, int(seed), (lo, hi)
        self.scenes, self.features = scenes.replace(max_sources=hi), mixtures.features
        self.augment = scenes.augment if augment else None
        self.canonical_m = canonical_distance(mixtures, scenes)

    def __getitem__(self, i: int) -> Mixture:
        rng = np.random.default_rng([self.seed, int(i)])
        n = int(rng.integers(self.n_range[0], self.n_range[1] + 1))
        spec = sample_scene_spec(rng, self.sources, self.scenes, n_sources=n, scene_id=f"mix-{self.seed}-{i}")
        j = int(rng.integers(n))
        signals = source_signals(spec, self.sources, self.scenes.scale_by_n)
        coords, feats = performer_voxels(
            spec,
            j,
            self.sources,
            self.features,
            self.scenes.voxel_size_m,
            self.scenes.listener_height_m,
            self.augment,
            rng,
            self.canonical_m,
        )
        return Mixture(signals.sum(axis=0), signals, j, coords, feats, spec)
