"""Settings of the report stage: what the results page says of the run, and how it checks orderings."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model_kinds import is_foa, uses_vision
from . import section_digest, stage_seed
from .train import vision_net


@dataclass(frozen=True)
class Bootstrap:
    """Resamples, confidence level and seed of every bootstrap of one report."""

    resamples: int
    confidence: float
    seed: int

    def rng(self, key: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(key.encode())])

    @property
    def percent(self) -> str:
        return f"{100 * self.confidence:g} %"


@dataclass(frozen=True)
class ReportSettings:
    """The parameters the page is computed from; values keep their YAML types (the page prints them)."""

    profile: str
    data_source: str
    params_hash: str  # of every section but `profiles`: the page names the parameters it ran with
    anechoic: str  # the anechoic IR set
    room_rt60_s: Mapping[str, float]  # every room IR set, in the parameters' order, and its RT60
    test_scene_count: int
    test_clip_s: float
    sample_rate: int
    bootstrap: Bootstrap
    per_ear_variants: tuple[str, ...]
    rel_tolerance: float  # reproduce.rel_tolerance: trained-model cells against the reference
    residual_copy: bool  # model.demucs.residual: L_full starts at the copy (then L_full vs L_diff does not fit)
    foa_baselines: tuple[str, ...] = ()  # FOA variants without vision (Morgado's U-Net baseline)
    panorama_variants: tuple[str, ...] = ()  # variants whose vision net is the 2D one (3D against 2D)

    @property
    def rooms(self) -> list[str]:
        return list(self.room_rt60_s)


def report_settings(params: Mapping[str, Any]) -> ReportSettings:
    rooms = params["rooms"]["sets"]
    boot = params["report"]["bootstrap"]
    test = params["scenes"]["test"]
    return ReportSettings(
        profile=params["profile"],
        data_source=params["dataset"]["source"],
        params_hash=section_digest(params, *(k for k in params if k != "profiles")),
        anechoic=params["hrir"]["name"],
        room_rt60_s={r: rooms[r]["rt60_s"] for r in rooms},
        test_scene_count=test["count"],
        test_clip_s=test["clip_s"],
        sample_rate=params["audio"]["sample_rate"],
        bootstrap=Bootstrap(int(boot["resamples"]), float(boot["confidence"]), stage_seed(params, "report")),
        per_ear_variants=tuple(params["pretrain_audio"]["per_ear_variants"]),
        rel_tolerance=params["reproduce"]["rel_tolerance"],
        residual_copy=bool(params["model"]["demucs"]["residual"]),
        foa_baselines=tuple(v for v, s in params["variants"].items() if is_foa(s) and not uses_vision(s)),
        panorama_variants=tuple(v for v, s in params["variants"].items() if vision_net(s) == "panorama2d"),
    )
