"""Mixtures for the separation pre-training: N sources summed, one of them the target, its performer alone.

Drawn like scenes (the same specs, segments and performers), so the audio network
learns to pick out a source that the vision network sees.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ParameterError
from ...geometry.augment import AugmentParams
from ...geometry.voxelize import scene_features, voxelize
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


def source_signals(spec: SceneSpec, sources: SceneSources, scale_by_n: bool = True) -> np.ndarray:
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


def canonical_distance(params: Mapping[str, Any]) -> float | None:
    """The fixed distance of `pretrain_audio.placement: canonical` (mid of the scene range), else None."""
    if params["pretrain_audio"]["placement"] != "canonical":
        return None
    return float(np.mean(params["scenes"]["distance_range_m"]))


class MixtureSampler:
    """Training (or validation) mixtures drawn on the fly; mixture i depends only on (seed, i)."""

    def __init__(self, params: Mapping[str, Any], sources: SceneSources, seed: int, augment: bool) -> None:
        cfg = params["pretrain_audio"]
        lo, hi = int(cfg["min_sources"]), int(cfg["max_sources"])
        if not 1 <= lo <= hi:
            raise ParameterError("pretrain_audio.min_sources", f"need 1 <= min_sources <= max_sources, got {lo}, {hi}")
        self.sources, self.seed, self.n_range = sources, int(seed), (lo, hi)
        self.segment = int(params["scenes"]["segment_samples"])
        self.features = cfg["features"]
        self.voxel_size = float(params["scenes"]["voxel_size_m"])
        self.height = float(params["scenes"]["listener_height_m"])
        self.scale_by_n = bool(params["scenes"]["scale_by_n"])
        self.spec_kwargs = dict(
            azimuths_deg=params["render"]["azimuths_deg"],
            fps=params["dataset"]["fps"],
            distance_range=tuple(params["scenes"]["distance_range_m"]),
        )
        self.augment = AugmentParams(**params["scenes"]["augment"]) if augment else None
        self.canonical_m = canonical_distance(params)

    def __getitem__(self, i: int) -> Mixture:
        rng = np.random.default_rng([self.seed, int(i)])
        n = int(rng.integers(self.n_range[0], self.n_range[1] + 1))
        spec = sample_scene_spec(
            rng,
            self.sources,
            n_sources=n,
            max_sources=self.n_range[1],
            segment_samples=self.segment,
            scene_id=f"mix-{self.seed}-{i}",
            **self.spec_kwargs,
        )
        j = int(rng.integers(n))
        signals = source_signals(spec, self.sources, self.scale_by_n)
        coords, feats = performer_voxels(
            spec, j, self.sources, self.features, self.voxel_size, self.height, self.augment, rng, self.canonical_m
        )
        return Mixture(signals.sum(axis=0), signals, j, coords, feats, spec)
