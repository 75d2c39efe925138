"""How scenes are drawn and built (`scenes.*`).

A scene draw also depends on settings of other sections: the render azimuths (a source
stands at one of them), the frame rate of the point-cloud videos (which frame a segment
shows), the sample rate (seconds to samples) and the HRIR set whose renders the training
scenes mix. `scene_config` gathers them once, so the samplers take one object.

Values are kept as the parameters give them (no casts): the checkpoints record some of
them, and a cast (1 -> 1.0) would change a checkpoint's bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError


@dataclass(frozen=True)
class AugmentParams:
    """Spreads of the five augmentations; zero switches one off."""

    shear_std: float  # shear matrix T = I + shear_std * randn(3, 3)
    stature_std: float  # translation along y ~ N(0, stature_std^2)
    color_noise_std: float  # per point, per rgb channel ~ N(0, std^2)
    value_range: float  # HSV value offset ~ U(-value_range, value_range)
    saturation_range: float  # HSV saturation offset ~ U(-range, range)

    def __post_init__(self) -> None:
        for name in ("shear_std", "stature_std", "color_noise_std", "value_range", "saturation_range"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ParameterError(f"augment.{name}", f"must be a finite number >= 0, got {value}")


@dataclass(frozen=True)
class SceneTestSet:
    """`scenes.test`: the fixed test sets of every IR set."""

    count: int
    clip_s: float
    design: str  # random | balanced (data/scenes/design.py)
    same_side_share_n2: float


@dataclass(frozen=True)
class SceneConfig:
    """What drawing and building a scene needs.

    A draw of another kind (a test set's clips and azimuths, a mixture's source count) is
    this config with those fields replaced (`dataclasses.replace`), and checked again.
    """

    max_sources: int  # N is drawn from 1..max_sources
    azimuths_deg: tuple[int, ...]  # render.azimuths_deg, or an IR set's measured ones
    distance_range_m: tuple[float, float]
    segment_samples: int
    fps: float  # dataset.fps
    sample_rate: int  # audio.sample_rate
    ir_set: str  # hrir.name: the renders training scenes mix
    listener_height_m: float
    voxel_size_m: float
    scale_by_n: bool
    augment: AugmentParams
    test: SceneTestSet

    def __post_init__(self) -> None:
        lo, hi = self.distance_range_m
        if not 0 < lo <= hi:
            raise ParameterError("scenes.distance_range_m", f"need 0 < min <= max, got [{lo}, {hi}]")
        if self.max_sources < 1:
            raise ParameterError("max_sources", f"must be >= 1, got {self.max_sources}")
        if self.segment_samples < 1:
            raise ParameterError("segment_samples", f"must be >= 1, got {self.segment_samples}")
        if not self.fps > 0:
            raise ParameterError("fps", f"must be > 0, got {self.fps}")

    def replace(self, **changes: Any) -> SceneConfig:
        """This config with some fields changed (and checked)."""
        return dataclasses.replace(self, **changes)

    def test_set(self, azimuths_deg: tuple[int, ...]) -> SceneConfig:
        """The draw of a test set over an IR set's azimuths: clips of `test.clip_s`."""
        clip = int(round(self.test.clip_s * self.sample_rate))
        return self.replace(azimuths_deg=tuple(azimuths_deg), segment_samples=clip)


def scene_config(params: Mapping[str, Any]) -> SceneConfig:
    cfg = params["scenes"]
    test = cfg["test"]
    return SceneConfig(
        max_sources=cfg["max_sources"],
        azimuths_deg=tuple(params["render"]["azimuths_deg"]),
        distance_range_m=tuple(cfg["distance_range_m"]),
        segment_samples=cfg["segment_samples"],
        fps=params["dataset"]["fps"],
        sample_rate=params["audio"]["sample_rate"],
        ir_set=params["hrir"]["name"],
        listener_height_m=cfg["listener_height_m"],
        voxel_size_m=cfg["voxel_size_m"],
        scale_by_n=cfg["scale_by_n"],
        augment=AugmentParams(**cfg["augment"]),
        test=SceneTestSet(test["count"], test["clip_s"], test["design"], test["same_side_share_n2"]),
    )
