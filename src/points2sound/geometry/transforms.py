"""Rigid transforms that put performers into a listener-centred scene.

Frames:
- performer (PLY) frame, the paper's axes: y = up, z = the performer's face
  direction, x = side; origin on the floor below the performer.
- scene frame: the listener's head at the origin, y up, the listener looking
  along +z. Azimuth a (degrees) is counter-clockwise seen from above, 0 = front,
  90 = left; with y up and the view along +z, left is +x, so a source at azimuth
  a and distance d sits at (d sin a, ., d cos a).
"""

from __future__ import annotations

import numpy as np

from .pointcloud import PointCloud


def rotation_y(angle_rad: float) -> np.ndarray:
    """Rotation about +y by `angle_rad`: maps (0, 0, 1) to (sin t, 0, cos t).

    With the scene's azimuth convention this adds `angle_rad` to the azimuth of
    every point (counter-clockwise seen from above).
    """
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _transform(cloud: PointCloud, rotation: np.ndarray, offset: np.ndarray) -> PointCloud:
    """x -> R x + t on every point; returns a new cloud (the input is never modified)."""
    xyz = cloud.xyz.astype(np.float64) @ rotation.T + offset
    return PointCloud(xyz.astype(np.float32), cloud.rgb.copy())


def place_performer(cloud: PointCloud, azimuth_deg: float, distance_m: float, listener_height_m: float) -> PointCloud:
    """Move a performer from its own frame to azimuth/distance in the scene frame.

    The performer must face the listener: its face direction +z is turned to
    point back at the origin, i.e. rotated about y by (azimuth + 180 deg). Its
    floor origin then goes to (d sin a, -listener_height_m, d cos a): the floor
    lies `listener_height_m` below the listener's head.
    """
    a = np.deg2rad(azimuth_deg)
    offset = np.array([distance_m * np.sin(a), -listener_height_m, distance_m * np.cos(a)])
    return _transform(cloud, rotation_y(a + np.pi), offset)


def rotate_scene(cloud: PointCloud, angle_rad: float) -> PointCloud:
    """Rotate a whole scene about the listener's vertical axis (the y axis through the head).

    Positive angles move every source counter-clockwise (towards the left); the
    Rotated-Visual baseline uses pi/2.
    """
    return _transform(cloud, rotation_y(angle_rad), np.zeros(3))
