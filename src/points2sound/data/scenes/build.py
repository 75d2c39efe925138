"""A scene built from its spec: mixed binaural target (and FOA target), mono input, merged and voxelized point cloud."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ...errors import InputFileError, ParameterError
from ...foa.ambisonics import encode_foa
from ...geometry.augment import augment_performer
from ...geometry.pointcloud import PointCloud
from ...geometry.transforms import place_performer
from ...geometry.voxelize import scene_features, voxelize
from ...settings.scenes import AugmentParams, SceneConfig
from .sources import SceneSources
from .spec import FEATURE_KINDS, MONO_INPUTS, FeatureKind, MonoInput, SceneSpec, check_choice

TARGETS = ("binaural", "foa")  # what a model learns to produce: the two ears, or the ambiX field


@dataclass
class Scene:
    """mono: float32 (T,); binaural: float32 (2, T); coords: int32 (m, 3); feats: float32 (m, c);
    foa: float32 (4, T) ambiX field (W, Y, Z, X), built only for a model that learns it."""

    mono: np.ndarray
    binaural: np.ndarray
    coords: np.ndarray
    feats: np.ndarray
    spec: SceneSpec
    foa: np.ndarray | None = None

    def target(self, kind: str) -> np.ndarray:
        """What a model of target `kind` learns: the binaural signal (2, T), or the field's Y, Z, X (3, T)."""
        if kind == "binaural":
            return self.binaural
        if kind == "foa" and self.foa is not None:
            return self.foa[1:]
        raise ParameterError("target", f"scene {self.spec.scene_id} has no {kind!r} target (one of {TARGETS})")


def _check_spec(spec: SceneSpec, sources: SceneSources) -> None:
    if spec.sample_rate != sources.sample_rate:
        raise ParameterError(
            "sample_rate",
            f"scene {spec.scene_id} is at {spec.sample_rate} Hz, the split's recordings at {sources.sample_rate} Hz",
        )
    if spec.n_sources < 1:
        raise ParameterError("n_sources", f"scene {spec.scene_id} has no sources")


def scene_audio(
    spec: SceneSpec, sources: SceneSources, *, scale_by_n: bool, with_true_mono: bool = True
) -> tuple[np.ndarray | None, np.ndarray]:
    """(true mono mixture (T,) or None, binaural target (2, T)), float32.

    The target sums each source's render at its azimuth over the segment (Eq. 2
    with pre-rendered sources); the true mono sums the mono originals. Both are
    scaled by 1/N when `scale_by_n` (reference code).
    """
    _check_spec(spec, sources)
    t = spec.segment_samples
    gain = 1.0 / spec.n_sources if scale_by_n else 1.0
    binaural = np.zeros((2, t), np.float64)
    mono = np.zeros(t, np.float64) if with_true_mono else None
    for s in spec.sources:
        path = sources.render_path(s.instrument, s.recording, s.azimuth_deg)
        if not path.is_file():
            raise InputFileError(
                path,
                "binaural render not found",
                f"render split {sources.split!r} through IR set {sources.ir_set!r} at azimuth {s.azimuth_deg}",
            )
        binaural += sources.cache.audio(path, s.start, s.start + t, 2, sources.sample_rate)
        if mono is not None:
            mono += sources.cache.audio(
                sources.mono_path(s.instrument, s.recording), s.start, s.start + t, 1, sources.sample_rate
            )[0]
    binaural *= gain
    if mono is not None:
        mono = (mono * gain).astype(np.float32)
    return mono, binaural.astype(np.float32)


def scene_foa(spec: SceneSpec, sources: SceneSources, *, scale_by_n: bool) -> np.ndarray:
    """(4, T) float32 ambiX field of the scene (W, Y, Z, X): each source's mono segment encoded at its azimuth.

    Scaled as the binaural target (1/N when `scale_by_n`), so W is the true mono mixture."""
    _check_spec(spec, sources)
    t = spec.segment_samples
    monos = np.zeros((spec.n_sources, t), np.float64)
    for i, s in enumerate(spec.sources):
        path = sources.mono_path(s.instrument, s.recording)
        if not path.is_file():
            raise InputFileError(path, "mono recording not found", f"the audio of split {sources.split!r}")
        monos[i] = sources.cache.audio(path, s.start, s.start + t, 1, sources.sample_rate)[0]
    gain = 1.0 / spec.n_sources if scale_by_n else 1.0
    field = encode_foa(monos, np.array([s.azimuth_deg for s in spec.sources], dtype=float))
    return (field * gain).astype(np.float32)


def mono_input_signal(kind: MonoInput, binaural: np.ndarray, true_mono: np.ndarray | None = None) -> np.ndarray:
    """The network's mono input: the true mono mixture, the target's left channel s_L, or s_L + s_R."""
    if kind == "true_mono":
        if true_mono is None:
            raise ParameterError("mono_input", "'true_mono' needs the mono originals' mixture")
        return true_mono
    if kind == "left":
        return binaural[0].copy()
    if kind == "sum_lr":
        return binaural[0] + binaural[1]
    raise ParameterError("mono_input", f"must be one of {MONO_INPUTS}, got {kind!r}")


def scene_cloud(
    spec: SceneSpec,
    sources: SceneSources,
    *,
    listener_height_m: float,
    augment: AugmentParams | None = None,
    rng: np.random.Generator | None = None,
) -> PointCloud:
    """The merged scene cloud (listener frame): each performer's frame, augmented
    independently when `augment` is given (in its own frame, in source order,
    from `rng`), turned to face the listener and placed at its azimuth/distance."""
    _check_spec(spec, sources)
    if augment is not None and rng is None:
        raise ParameterError("rng", "augmentation needs an explicit np.random.Generator")
    clouds = []
    for s in spec.sources:
        cloud = sources.cache.frame(sources.frame_path(s.instrument, s.performer, s.frame))
        if augment is not None:
            cloud = augment_performer(cloud, rng, augment)
        clouds.append(place_performer(cloud, s.azimuth_deg, s.distance_m, listener_height_m))
    return PointCloud.concatenate(clouds)


def build_scene(
    spec: SceneSpec,
    sources: SceneSources,
    scenes: SceneConfig,
    *,
    mono_input: MonoInput,
    features: FeatureKind,
    augment: AugmentParams | None = None,
    rng: np.random.Generator | None = None,
    reduce: Literal["mean", "first"] = "mean",
    target: str = "binaural",
) -> Scene:
    """Arrays of one scene: mono input, binaural target and the cloud voxelized at `scenes.voxel_size_m`.

    With `target='foa'` the scene also holds its ambiX field, and the mono input (which must be
    'true_mono') is the field's W channel itself."""
    check_choice("mono_input", mono_input, MONO_INPUTS)
    check_choice("features", features, FEATURE_KINDS)
    check_choice("target", target, TARGETS)
    if target == "foa" and mono_input != "true_mono":
        raise ParameterError(
            "mono_input", f"an FOA target takes W, the true mono mixture, as input; got {mono_input!r}"
        )
    foa = scene_foa(spec, sources, scale_by_n=scenes.scale_by_n) if target == "foa" else None
    true_mono, binaural = scene_audio(
        spec, sources, scale_by_n=scenes.scale_by_n, with_true_mono=mono_input == "true_mono" and foa is None
    )
    cloud = scene_cloud(spec, sources, augment=augment, rng=rng, listener_height_m=scenes.listener_height_m)
    coords, feats = voxelize(cloud.xyz, scene_features(cloud, features), scenes.voxel_size_m, reduce=reduce)
    mono = foa[0].copy() if foa is not None else mono_input_signal(mono_input, binaural, true_mono)
    return Scene(mono, binaural, coords, feats, spec, foa)
