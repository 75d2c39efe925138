"""Settings of the embedded generators: the virtual depth camera that films the performers.

The camera is the paper's Azure Kinect (embedded_frames.camera in params.yaml);
geometry/sampling.camera_sample takes it, and the glue builds it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..errors import ParameterError


@dataclass(frozen=True)
class Camera:
    """A single frontal depth camera at (0, height_m, distance_m), looking along -z."""

    distance_m: float
    height_m: float
    width_px: int
    height_px: int
    fov_deg: tuple[float, float]
    depth_noise_m: float
    # Not params.yaml keys: surface samples drawn per covered pixel (the z-buffer keeps one), and a factor
    # on the pixel counts (same field of view) that lets tests use a coarse camera.
    oversample: float = 6.0
    resolution_scale: float = 1.0


def camera_config(params: Mapping[str, Any]) -> Camera:
    """The camera of embedded_frames; a misspelt key is a ParameterError, not silently ignored."""
    cam = params["embedded_frames"]["camera"]
    known = sorted(f.name for f in fields(Camera))
    for key in cam:
        if key not in known:
            raise ParameterError(f"camera.{key}", f"unknown camera setting; known: {known}")
    tuning = {key: float(cam[key]) for key in ("oversample", "resolution_scale") if key in cam}
    return Camera(
        distance_m=float(cam["distance_m"]),
        height_m=float(cam["height_m"]),
        width_px=int(cam["width_px"]),
        height_px=int(cam["height_px"]),
        fov_deg=tuple(float(f) for f in cam["fov_deg"]),
        depth_noise_m=float(cam["depth_noise_m"]),
        **tuning,
    )
