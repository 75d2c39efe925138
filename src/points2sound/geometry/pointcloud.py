"""Coloured point clouds and their PLY files.

Axes follow the paper: z = the performer's face direction, y = stature (up),
x = side; metres. Colours are float32 in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from plyfile import PlyData, PlyElement

from ..atomic import atomic_path
from ..errors import InputFileError
from ..paths import require_file


@dataclass
class PointCloud:
    """xyz: (n, 3) float32 metres; rgb: (n, 3) float32 in [0, 1]."""

    xyz: np.ndarray
    rgb: np.ndarray

    def __post_init__(self) -> None:
        self.xyz = np.asarray(self.xyz, dtype=np.float32).reshape(-1, 3)
        self.rgb = np.asarray(self.rgb, dtype=np.float32).reshape(-1, 3)
        if len(self.xyz) != len(self.rgb):
            raise ValueError(f"{len(self.xyz)} points but {len(self.rgb)} colours")

    def __len__(self) -> int:
        return len(self.xyz)

    @staticmethod
    def concatenate(clouds: list[PointCloud]) -> PointCloud:
        """Merge clouds into one scene."""
        if not clouds:
            return PointCloud(np.zeros((0, 3)), np.zeros((0, 3)))
        return PointCloud(np.concatenate([c.xyz for c in clouds]), np.concatenate([c.rgb for c in clouds]))


def write_ply(path: str | Path, cloud: PointCloud, binary: bool = True) -> None:
    """Write x, y, z (float32) and red, green, blue (uint8) vertices atomically."""
    n = len(cloud)
    vertex = np.empty(n, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1")])
    vertex["x"], vertex["y"], vertex["z"] = cloud.xyz.T
    rgb8 = np.clip(np.round(cloud.rgb * 255.0), 0, 255).astype(np.uint8)
    vertex["red"], vertex["green"], vertex["blue"] = rgb8.T
    with atomic_path(path) as tmp:
        PlyData([PlyElement.describe(vertex, "vertex")], text=not binary).write(str(tmp))


def read_ply(path: str | Path, require_points: bool = True, require_colours: bool = False) -> PointCloud:
    """Read a PLY point cloud; colours default to mid-grey when absent, unless `require_colours`.

    Raises InputFileError naming the file when it is missing, a directory, not PLY,
    lacks a vertex element or x/y/z, has no points (unless allowed), non-finite
    coordinates, or no colours where they are required (a grey cloud fed to an rgb
    model would be a silently different input).
    """
    path = require_file(path, "point cloud file")
    try:
        ply = PlyData.read(str(path))
    except Exception as exc:  # plyfile raises several types for malformed files
        raise InputFileError(path, f"not a readable PLY file ({exc})") from exc
    if "vertex" not in ply:
        raise InputFileError(path, "PLY file has no 'vertex' element")
    v = ply["vertex"].data
    names = v.dtype.names or ()
    if not {"x", "y", "z"} <= set(names):
        raise InputFileError(path, f"PLY vertices lack x/y/z properties (has {list(names)})")
    with np.errstate(over="ignore", invalid="ignore"):  # values beyond float32 become inf, refused just below
        xyz = np.stack([v["x"], v["y"], v["z"]], axis=1).astype(np.float32)
    if require_points and len(xyz) == 0:
        raise InputFileError(path, "point cloud has no points")
    if not np.all(np.isfinite(xyz)):
        raise InputFileError(path, "point cloud has NaN or infinite coordinates")
    if {"red", "green", "blue"} <= set(names):
        rgb = np.stack([v["red"], v["green"], v["blue"]], axis=1).astype(np.float32)
        if np.issubdtype(v["red"].dtype, np.integer):
            rgb /= 255.0
    elif require_colours:
        raise InputFileError(
            path,
            f"PLY vertices have no colours (red/green/blue; has {list(names)}) but the model uses rgb features",
            "give a coloured cloud, or use a depth-only model such as p2s_depth",
        )
    else:
        rgb = np.full_like(xyz, 0.5)
    return PointCloud(xyz, rgb)
