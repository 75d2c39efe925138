"""An equirectangular panorama of a scene cloud, as a 360 camera at the listener's head would see it.

The 2D counterpart of the voxelized cloud: the same merged cloud (listener frame: x left, y up,
z front, head at the origin) projected onto the sphere of directions. Column u covers the azimuth
from +180 deg (behind, on the left edge) through 0 (straight ahead, the centre) to -180 (the right
edge): azimuth grows to the left, as it does on the page for a viewer inside the sphere. Row v covers
the elevation from +90 (top) to -90 (bottom). Each pixel keeps the nearest point that falls in it (a
z-buffer); its channels are the point's colour and its distance, so the image holds rgb plus depth
as an RGB-D camera's would. Empty pixels are zero in every channel.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..geometry.pointcloud import PointCloud

CHANNELS = ("r", "g", "b", "depth")


def pixel_of(xyz: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of points (n, 3) in a width x height panorama."""
    x, y, z = np.asarray(xyz, dtype=np.float64).T
    azimuth = np.arctan2(x, z)  # 0 ahead, +pi/2 left
    elevation = np.arctan2(y, np.hypot(x, z))
    u = np.floor((0.5 - azimuth / (2 * np.pi)) * width).astype(np.int64) % width
    v = np.clip(np.floor((0.5 - elevation / np.pi) * height).astype(np.int64), 0, height - 1)
    return v, u


def panorama(cloud: PointCloud, width: int = 256, height: int = 128, max_depth_m: float = 10.0) -> np.ndarray:
    """(4, height, width) float32 image: rgb in [0, 1] and the distance divided by `max_depth_m`."""
    if width < 4 or height < 2:
        raise ParameterError("panorama", f"needs at least 4 x 2 pixels, got {width} x {height}")
    if max_depth_m <= 0:
        raise ParameterError("max_depth_m", f"must be positive, got {max_depth_m}")
    image = np.zeros((len(CHANNELS), height, width), np.float32)
    if len(cloud) == 0:
        return image
    distance = np.linalg.norm(cloud.xyz.astype(np.float64), axis=1)
    keep = distance > 0  # a point at the head has no direction
    xyz, rgb, distance = cloud.xyz[keep], cloud.rgb[keep], distance[keep]
    v, u = pixel_of(xyz, width, height)
    order = np.argsort(-distance, kind="stable")  # far first: nearer points overwrite them
    v, u = v[order], u[order]
    image[:3, v, u] = rgb[order].T
    image[3, v, u] = np.minimum(distance[order] / max_depth_m, 1.0)
    return image
