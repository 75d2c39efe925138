"""The listener's panorama of a scene cloud (vision2d/panorama.py): where points land and which one is seen."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points2sound.errors import ParameterError
from points2sound.geometry.pointcloud import PointCloud
from points2sound.vision2d.panorama import panorama, pixel_of


def _cloud(xyz, rgb=None) -> PointCloud:
    xyz = np.atleast_2d(np.asarray(xyz, dtype=np.float32))
    return PointCloud(xyz, np.full_like(xyz, 0.5) if rgb is None else np.atleast_2d(rgb))


@pytest.mark.parametrize(
    "xyz, column",
    [((0, 0, 2), 128), ((2, 0, 0), 64), ((-2, 0, 0), 192), ((0, 0, -2), 0)],  # ahead, left, right, behind
)
def test_directions_land_on_their_columns(xyz, column):
    v, u = pixel_of(np.array([xyz]), 256, 128)
    assert u[0] == column and v[0] == 64  # on the horizon


def test_the_nearest_point_of_a_pixel_is_seen_with_its_depth():
    far, near = (0, 0, 4.0), (0, 0, 2.0)
    image = panorama(_cloud([far, near], [[1, 0, 0], [0, 1, 0]]), max_depth_m=8.0)
    assert image[:3, 64, 128].tolist() == [0, 1, 0] and image[3, 64, 128] == pytest.approx(0.25)
    assert np.count_nonzero(image[3]) == 1  # every other pixel is empty


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-179.0, 179.0),
    st.floats(-80.0, 80.0),
    st.floats(0.5, 5.0),
)
def test_a_pixel_points_where_its_point_is(azimuth, elevation, distance):
    a, e = np.deg2rad(azimuth), np.deg2rad(elevation)
    xyz = distance * np.array([[np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)]])
    v, u = pixel_of(xyz, 360, 180)  # one degree per pixel
    assert abs((180 - (u[0] + 0.5)) - azimuth) <= 0.5 + 1e-9
    assert abs((90 - (v[0] + 0.5)) - elevation) <= 0.5 + 1e-9


def test_bad_sizes_are_named():
    with pytest.raises(ParameterError, match="panorama"):
        panorama(_cloud([(0, 0, 1)]), width=2)
