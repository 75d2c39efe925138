"""Drawing scene specs: one at random, a test set of a fixed design, or training scene i from (seed, i)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np

from ...errors import ParameterError
from ...settings.scenes import SceneConfig
from .build import Scene, build_scene
from .design import DESIGNS, balanced_azimuths, required_multiple
from .sources import Recording, SceneSources
from .spec import (
    FEATURE_KINDS,
    MONO_INPUTS,
    FeatureKind,
    MonoInput,
    SceneSpec,
    SourceSpec,
    check_choice,
)


def _check_azimuths(azimuths_deg: Sequence[float]) -> list[int]:
    az = [int(round(float(a))) % 360 for a in azimuths_deg]
    if not az:
        raise ParameterError("azimuths_deg", "needs at least one azimuth")
    if any(abs(float(a) - round(float(a))) > 1e-9 for a in azimuths_deg):
        raise ParameterError("azimuths_deg", f"must be whole degrees (render file names), got {list(azimuths_deg)}")
    if len(set(az)) != len(az):
        raise ParameterError("azimuths_deg", f"must be distinct modulo 360, got {list(azimuths_deg)}")
    return sorted(az)


def sample_scene_spec(
    rng: np.random.Generator,
    sources: SceneSources,
    scenes: SceneConfig,
    *,
    n_sources: int | None = None,
    scene_id: str = "scene",
    fixed_azimuths_deg: Sequence[int] | None = None,
) -> SceneSpec:
    """Draw one scene (paper Sec. 3.4) from `rng` alone.

    N is uniform in 1..max_sources unless `n_sources` fixes it; N distinct
    instruments and N distinct azimuths; per source a distance U(distance_range),
    a recording of that instrument at least `segment_samples` long, a segment
    start uniform over the recording, a performer of that instrument and the
    video frame at the segment's start time, floor(start_s * fps) mod n_frames.
    The order of draws is fixed, so the spec is a function of the rng's state.
    `fixed_azimuths_deg` (one per source, from the azimuths) replaces the azimuth
    draw (a balanced test-set design, `data.scenes.design`); the other draws are as without it.
    """
    azimuths = _check_azimuths(scenes.azimuths_deg)
    segment = scenes.segment_samples
    eligible = {inst: [r for r in sources.recordings(inst) if r.n_samples >= segment] for inst in sources.instruments}
    instruments = [inst for inst in sources.instruments if eligible[inst]]
    n = int(rng.integers(1, scenes.max_sources + 1)) if n_sources is None else int(n_sources)
    if n < 1:
        raise ParameterError("n_sources", f"must be >= 1, got {n}")
    if n > len(instruments):
        raise ParameterError(
            "n_sources",
            f"{n} sources need {n} distinct instruments, but split {sources.split!r} has only "
            f"{len(instruments)} with a recording of at least {segment} samples",
        )
    if n > len(azimuths):
        raise ParameterError("n_sources", f"{n} sources need {n} distinct azimuths, got {azimuths}")
    chosen = [instruments[i] for i in rng.choice(len(instruments), size=n, replace=False)]
    chosen_az = _draw_azimuths(rng, azimuths, n, fixed_azimuths_deg)
    specs = tuple(_draw_source(rng, sources, eligible[inst], inst, az, scenes) for inst, az in zip(chosen, chosen_az))
    return SceneSpec(scene_id, int(segment), sources.sample_rate, specs)


def _draw_azimuths(
    rng: np.random.Generator, azimuths: list[int], n: int, fixed_azimuths_deg: Sequence[int] | None
) -> list[int]:
    if fixed_azimuths_deg is None:
        return [azimuths[i] for i in rng.choice(len(azimuths), size=n, replace=False)]
    chosen = [int(a) % 360 for a in fixed_azimuths_deg]
    if len(chosen) != n or len(set(chosen)) != n or not set(chosen) <= set(azimuths):
        raise ParameterError(
            "fixed_azimuths_deg", f"need {n} distinct azimuths of {azimuths}, got {list(fixed_azimuths_deg)}"
        )
    return chosen


def _draw_source(
    rng: np.random.Generator,
    sources: SceneSources,
    recordings: Sequence[Recording],
    instrument: str,
    azimuth_deg: int,
    scenes: SceneConfig,
) -> SourceSpec:
    """One source at `azimuth_deg`: its distance, recording, segment, performer and frame, in that order."""
    lo, hi = (float(d) for d in scenes.distance_range_m)
    distance = float(rng.uniform(lo, hi))
    rec = recordings[int(rng.integers(len(recordings)))]
    start = int(rng.integers(0, rec.n_samples - scenes.segment_samples + 1))
    perfs = sources.performers_of(instrument)
    perf = perfs[int(rng.integers(len(perfs)))]
    frame = math.floor(start * scenes.fps / sources.sample_rate) % perf.n_frames
    return SourceSpec(instrument, rec.name, start, perf.name, int(frame), int(azimuth_deg), distance)


def make_scene_specs(
    sources: SceneSources,
    scenes: SceneConfig,
    count: int,
    seed: int,
    *,
    per_n_equal: bool = True,
    id_prefix: str = "scene",
    design: str = "random",
    same_side_share: float = 0.0,
) -> list[SceneSpec]:
    """A fixed, seeded list of scene specs (a test set).

    With `per_n_equal`, each N in 1..max_sources gets count / max_sources scenes
    (504 = 168 per N in the paper), in a seeded shuffled order; otherwise N is
    drawn per scene. Scene i is drawn from np.random.default_rng([seed, i]).
    For a room test set pass its azimuths in `scenes` (`SceneConfig.test_set`).

    `design='random'` draws each scene's azimuths with the rest of the scene;
    `design='balanced'` (needs `per_n_equal`) takes them from
    `design.balanced_azimuths`: every azimuth equally often within each N,
    and round(same_side_share * count / max_sources) same-side scenes at N = 2.
    Counts that cannot be balanced over the azimuths raise a ParameterError.
    """
    if count < 1:
        raise ParameterError("count", f"must be >= 1, got {count}")
    if seed < 0:
        raise ParameterError("seed", f"must be >= 0, got {seed}")
    if design not in DESIGNS:
        raise ParameterError("scenes.test.design", f"must be one of {DESIGNS}, got {design!r}")
    if scenes.sample_rate != sources.sample_rate:
        raise ParameterError(
            "sample_rate", f"{scenes.sample_rate} Hz differs from the split's recordings ({sources.sample_rate} Hz)"
        )
    n_list = _source_counts(count, seed, scenes.max_sources, per_n_equal, design)
    fixed: list[Sequence[int] | None] = [None] * count
    if design == "balanced":
        fixed = _balanced_design(n_list, scenes, seed, same_side_share)
    width = max(5, len(str(count - 1)))
    return [
        sample_scene_spec(
            np.random.default_rng([seed, i]),
            sources,
            scenes,
            n_sources=n,
            scene_id=f"{id_prefix}_{i:0{width}d}",
            fixed_azimuths_deg=fixed[i],
        )
        for i, n in enumerate(n_list)
    ]


def _source_counts(count: int, seed: int, max_sources: int, per_n_equal: bool, design: str) -> list[int | None]:
    """N of each scene of a test set: equal counts per N in a seeded order, or None (drawn with the scene)."""
    if not per_n_equal:
        if design == "balanced":
            raise ParameterError("scenes.test.design", "'balanced' needs equal counts per N (per_n_equal)")
        return [None] * count
    if count % max_sources:
        raise ParameterError("count", f"{count} scenes cannot be split equally over N = 1..{max_sources}")
    ns = np.repeat(np.arange(1, max_sources + 1), count // max_sources)
    return [int(n) for n in np.random.default_rng([seed, 2**32 - 1]).permutation(ns)]


def _balanced_design(
    n_list: Sequence[int | None], scenes: SceneConfig, seed: int, same_side_share: float
) -> list[Sequence[int] | None]:
    """The azimuths of each scene of a balanced test set (`design.balanced_azimuths`)."""
    count, max_sources = len(n_list), scenes.max_sources
    azimuths = _check_azimuths(scenes.azimuths_deg)
    per_n = math.lcm(*(required_multiple(n, len(azimuths)) for n in range(1, max_sources + 1)))
    if (count // max_sources) % per_n:
        raise ParameterError(
            "scenes.test.count",
            f"{count} scenes ({count // max_sources} per N) cannot use each of "
            f"the {len(azimuths)} azimuths {azimuths} equally often within each N: the balanced "
            f"design needs a multiple of {per_n * max_sources} scenes ({per_n} per N)",
        )
    fixed: list[Sequence[int] | None] = [None] * count
    for n in range(1, max_sources + 1):
        slots = [i for i, m in enumerate(n_list) if m == n]
        tuples = balanced_azimuths(
            n, len(slots), azimuths, np.random.default_rng([seed, 2**32 - 2, n]), same_side_share if n == 2 else 0.0
        )
        for i, t in zip(slots, tuples):
            fixed[i] = t
    return fixed


class SceneSampler:
    """Training scenes drawn on the fly; scene i depends only on (seed, i).

    Scene i uses one generator, np.random.default_rng([seed, i]), first for its
    spec and then for the augmentation of its performers, so any worker can
    rebuild any scene. Torch-free; a Dataset wraps it. `length=None` makes
    iteration endless.
    """

    def __init__(
        self,
        sources: SceneSources,
        seed: int,
        scenes: SceneConfig,
        *,
        mono_input: MonoInput,
        features: FeatureKind,
        augment: bool,
        length: int | None = None,
        reduce: Literal["mean", "first"] = "mean",
        target: str = "binaural",
    ) -> None:
        if seed < 0:
            raise ParameterError("seed", f"must be >= 0, got {seed}")
        if length is not None and length < 1:
            raise ParameterError("length", f"must be >= 1 or None, got {length}")
        check_choice("mono_input", mono_input, MONO_INPUTS)
        check_choice("features", features, FEATURE_KINDS)
        self.sources = sources
        self.seed = int(seed)
        self.length = length
        self.scenes = scenes
        self._build_kwargs = dict(
            mono_input=mono_input,
            features=features,
            augment=scenes.augment if augment else None,
            reduce=reduce,
            target=target,
        )

    def _rng_and_spec(self, i: int) -> tuple[np.random.Generator, SceneSpec]:
        if i < 0 or (self.length is not None and i >= self.length):
            raise IndexError(f"scene index {i} outside 0..{self.length}")
        rng = np.random.default_rng([self.seed, int(i)])
        spec = sample_scene_spec(rng, self.sources, self.scenes, scene_id=f"{self.sources.split}-{self.seed}-{i}")
        return rng, spec

    def spec(self, i: int) -> SceneSpec:
        """The spec of scene i (without building it)."""
        return self._rng_and_spec(i)[1]

    def __getitem__(self, i: int) -> Scene:
        rng, spec = self._rng_and_spec(i)
        return build_scene(spec, self.sources, self.scenes, rng=rng, **self._build_kwargs)

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError("an endless SceneSampler has no length")
        return self.length

    def __iter__(self) -> Iterator[Scene]:
        i = 0
        while self.length is None or i < self.length:
            yield self[i]
            i += 1
