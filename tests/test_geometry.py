"""Transforms, augmentation and voxelization of point clouds."""

from __future__ import annotations

import colorsys
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from points2sound.config import read_params_file
from points2sound.errors import ParameterError
from points2sound.geometry.augment import (
    augment_performer,
    color_noise,
    hsv_offset,
    shear,
    shift_value_saturation,
    translate_stature,
)
from points2sound.geometry.pointcloud import PointCloud
from points2sound.geometry.transforms import place_performer, rotate_scene, rotation_y
from points2sound.geometry.voxelize import rotate_voxels_quarter, scene_features, voxelize
from points2sound.settings.scenes import AugmentParams

# the paper's augmentation, as params.yaml's base sets it
PAPER_AUGMENT = AugmentParams(
    **read_params_file(Path(__file__).resolve().parents[1] / "params.yaml")["scenes"]["augment"]
)

# ---------------------------------------------------------------- transforms


def _performer_with_nose() -> PointCloud:
    """Body point above the floor origin and a 'nose' 0.1 m in front (+z, the face direction)."""
    xyz = np.array([[0.0, 1.5, 0.0], [0.0, 1.5, 0.1], [0.0, 0.0, 0.0]])
    return PointCloud(xyz, np.full((3, 3), 0.5))


def _facing(cloud: PointCloud) -> np.ndarray:
    d = cloud.xyz[1].astype(float) - cloud.xyz[0]
    return d / np.linalg.norm(d)


def test_rotation_y_maps_front_to_sin_cos():
    for t in np.linspace(-3, 3, 7):
        r = rotation_y(t)
        np.testing.assert_allclose(r @ [0, 0, 1], [math.sin(t), 0, math.cos(t)], atol=1e-12)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(r) == pytest.approx(1.0)


def test_performer_at_azimuth_90_is_on_the_left_and_faces_the_listener():
    placed = place_performer(_performer_with_nose(), 90, 2.0, 1.2)
    np.testing.assert_allclose(placed.xyz[2], [2.0, -1.2, 0.0], atol=1e-6)  # floor origin at +x, 2 m
    np.testing.assert_allclose(_facing(placed), [-1, 0, 0], atol=1e-5)  # faces -x, toward the origin


def test_performer_in_front_faces_minus_z():
    placed = place_performer(_performer_with_nose(), 0, 1.5, 1.0)
    np.testing.assert_allclose(placed.xyz[2], [0.0, -1.0, 1.5], atol=1e-6)
    np.testing.assert_allclose(placed.xyz[0], [0.0, 0.5, 1.5], atol=1e-6)
    np.testing.assert_allclose(_facing(placed), [0, 0, -1], atol=1e-5)


@pytest.mark.parametrize("az", [45, 135, 180, 225, 270, 315, 17.5])
def test_placed_performers_always_face_the_head(az):
    d = 2.7
    placed = place_performer(_performer_with_nose(), az, d, 1.2)
    body = placed.xyz[0].astype(float)
    # horizontal distance and azimuth atan2(x, z) as defined by the scene convention
    assert math.hypot(body[0], body[2]) == pytest.approx(d, abs=1e-5)
    assert math.degrees(math.atan2(body[0], body[2])) % 360 == pytest.approx(az % 360, abs=1e-4)
    toward_head = -np.array([body[0], 0.0, body[2]]) / d
    np.testing.assert_allclose(_facing(placed), toward_head, atol=1e-5)


def test_rotate_scene_moves_sources_counter_clockwise():
    cloud = PointCloud(np.array([[0.0, 0.3, 2.0]]), np.zeros((1, 3)))  # in front
    rotated = rotate_scene(cloud, math.pi / 2)
    np.testing.assert_allclose(rotated.xyz[0], [2.0, 0.3, 0.0], atol=1e-6)  # now at azimuth 90 (left, +x)


def test_transforms_do_not_modify_their_input():
    cloud = _performer_with_nose()
    cloud.xyz.flags.writeable = False
    before = cloud.xyz.copy()
    place_performer(cloud, 45, 2, 1.2)
    rotate_scene(cloud, 1.0)
    np.testing.assert_array_equal(cloud.xyz, before)


# ---------------------------------------------------------------- augmentation


def _cloud(n: int, rng: np.random.Generator, rgb: tuple[float, float, float] | None = None) -> PointCloud:
    xyz = rng.uniform([-0.3, 0.0, -0.3], [0.3, 1.8, 0.3], size=(n, 3))
    colours = np.tile(rgb, (n, 1)) if rgb is not None else rng.uniform(0.2, 0.8, (n, 3))
    return PointCloud(xyz, colours)


def test_shear_elements_are_normal_with_std_0_1():
    rng = np.random.default_rng(1)
    cloud = _cloud(40, rng)
    x = cloud.xyz.astype(float)
    xc = x - x.mean(axis=0)
    elements = []
    for _ in range(1500):
        out = shear(cloud, rng, 0.1).xyz.astype(float)
        np.testing.assert_allclose(out.mean(axis=0), x.mean(axis=0), atol=1e-5)  # about the centroid
        t_transposed, *_ = np.linalg.lstsq(xc, out - x.mean(axis=0), rcond=None)
        elements.append((t_transposed.T - np.eye(3)).ravel())
    e = np.array(elements)
    assert abs(e.mean()) < 4 * 0.1 / math.sqrt(e.size)
    assert e.std() == pytest.approx(0.1, rel=0.03)
    assert stats.normaltest(e.ravel()).pvalue > 1e-3
    # every one of the nine elements varies (shear along all axes)
    assert np.all(e.std(axis=0) > 0.08)


def test_stature_shift_is_normal_along_y_only():
    rng = np.random.default_rng(2)
    cloud = _cloud(30, rng)
    shifts = []
    for _ in range(3000):
        out = translate_stature(cloud, rng, 0.2)
        delta = out.xyz.astype(float) - cloud.xyz
        np.testing.assert_allclose(delta[:, [0, 2]], 0.0)
        np.testing.assert_allclose(delta[:, 1], delta[0, 1], atol=1e-6)  # one shift for the performer
        shifts.append(delta[0, 1])
    assert np.std(shifts) == pytest.approx(0.2, rel=0.05)
    assert abs(np.mean(shifts)) < 4 * 0.2 / math.sqrt(3000)
    assert np.std(
        [translate_stature(cloud, rng, 0.15).xyz[0, 1] - cloud.xyz[0, 1] for _ in range(3000)]
    ) == pytest.approx(0.15, rel=0.05)


def test_colour_noise_std_per_point_and_channel():
    rng = np.random.default_rng(3)
    cloud = _cloud(20000, rng, rgb=(0.5, 0.5, 0.5))
    noise = color_noise(cloud, rng, 0.05).rgb.astype(float) - 0.5
    assert noise.std() == pytest.approx(0.05, rel=0.02)
    assert abs(noise.mean()) < 4 * 0.05 / math.sqrt(noise.size)
    # independent per channel
    assert abs(np.corrcoef(noise.T)[0, 1]) < 0.05
    assert np.all(color_noise(_cloud(100, rng, (0.99, 0.01, 0.5)), rng, 0.5).rgb <= 1.0)


def test_hsv_offsets_uniform_in_their_ranges():
    rng = np.random.default_rng(4)
    base = colorsys.hsv_to_rgb(0.3, 0.5, 0.5)
    cloud = _cloud(5, rng, rgb=base)
    dv, ds = [], []
    for _ in range(2000):
        out = hsv_offset(cloud, rng, 0.2, 0.15).rgb.astype(float)
        hsv = [colorsys.rgb_to_hsv(*c) for c in out]
        assert all(np.allclose(h, hsv[0], atol=1e-6) for h in hsv)  # one offset per performer
        assert hsv[0][0] == pytest.approx(0.3, abs=1e-4)  # hue untouched
        ds.append(hsv[0][1] - 0.5)
        dv.append(hsv[0][2] - 0.5)
    assert stats.kstest(dv, stats.uniform(loc=-0.2, scale=0.4).cdf).pvalue > 1e-3
    assert stats.kstest(ds, stats.uniform(loc=-0.15, scale=0.3).cdf).pvalue > 1e-3
    assert max(np.abs(dv)) <= 0.2 + 1e-5 and max(np.abs(ds)) <= 0.15 + 1e-5


def test_value_saturation_shift_matches_matplotlib_hsv_round_trip():
    from matplotlib.colors import hsv_to_rgb, rgb_to_hsv

    rgb = np.random.default_rng(6).uniform(size=(5000, 3)).astype(np.float32)
    for dv, ds in [(0.2, 0.15), (-0.2, -0.15), (0.05, -0.1), (-0.13, 0.02)]:
        hsv = rgb_to_hsv(rgb)
        hsv[:, 1] = np.clip(hsv[:, 1] + ds, 0, 1)
        hsv[:, 2] = np.clip(hsv[:, 2] + dv, 0, 1)
        np.testing.assert_allclose(shift_value_saturation(rgb, dv, ds), hsv_to_rgb(hsv), atol=2e-6)
    grey = np.full((4, 3), 0.4, np.float32)
    np.testing.assert_allclose(shift_value_saturation(grey, 0.1, 0.15), 0.5, atol=1e-6)  # greys stay grey


def test_augment_performer_is_seeded_and_leaves_input_alone():
    cloud = _cloud(500, np.random.default_rng(5))
    cloud.xyz.flags.writeable = False
    cloud.rgb.flags.writeable = False
    a = augment_performer(cloud, np.random.default_rng(9), PAPER_AUGMENT)
    b = augment_performer(cloud, np.random.default_rng(9), PAPER_AUGMENT)
    c = augment_performer(cloud, np.random.default_rng(10), PAPER_AUGMENT)
    np.testing.assert_array_equal(a.xyz, b.xyz)
    np.testing.assert_array_equal(a.rgb, b.rgb)
    assert not np.allclose(a.xyz, c.xyz)
    assert a.rgb.min() >= 0 and a.rgb.max() <= 1
    off = augment_performer(cloud, np.random.default_rng(9), AugmentParams(0, 0, 0, 0, 0))
    np.testing.assert_allclose(off.xyz, cloud.xyz, atol=1e-6)
    np.testing.assert_allclose(off.rgb, cloud.rgb, atol=1e-6)


def test_augment_params_reject_negative_values():
    with pytest.raises(ParameterError, match="shear_std"):
        AugmentParams(-0.1, 0.2, 0.05, 0.2, 0.15)


# ---------------------------------------------------------------- voxelization


def _reference_voxelize(xyz: np.ndarray, feats: np.ndarray, v: float, reduce: str):
    """Plain-Python quantization: dict of voxel index -> list of point features."""
    groups: dict[tuple[int, int, int], list[np.ndarray]] = defaultdict(list)
    for p, f in zip(xyz, feats):
        groups[tuple(math.floor(float(c) / v) for c in p)].append(f)
    keys = sorted(groups)
    pick = (lambda fs: np.mean(fs, axis=0)) if reduce == "mean" else (lambda fs: fs[0])
    return np.array(keys, dtype=np.int64).reshape(-1, 3), np.array([pick(groups[k]) for k in keys]).reshape(
        len(keys), -1
    )


@settings(max_examples=60, deadline=None)
@given(
    xyz=arrays(np.float32, st.tuples(st.integers(1, 60), st.just(3)), elements=st.floats(-0.5, 0.5, width=32)),
    voxel=st.sampled_from([0.02, 0.05, 0.1, 0.3]),
    reduce=st.sampled_from(["mean", "first"]),
    seed=st.integers(0, 1000),
)
def test_voxelize_matches_reference(xyz, voxel, reduce, seed):
    feats = np.random.default_rng(seed).uniform(size=(len(xyz), 2)).astype(np.float32)
    coords, out = voxelize(xyz, feats, voxel, reduce=reduce)
    ref_coords, ref_feats = _reference_voxelize(xyz, feats, voxel, reduce)
    assert coords.dtype == np.int32 and out.dtype == np.float32
    np.testing.assert_array_equal(coords, ref_coords)
    np.testing.assert_allclose(out, ref_feats, rtol=1e-5, atol=1e-6)


def test_voxelize_random_cloud_and_wide_extent():
    rng = np.random.default_rng(0)
    xyz = rng.normal(0, 0.3, (3000, 3)).astype(np.float32)
    feats = rng.uniform(size=(3000, 3)).astype(np.float32)
    for reduce in ("mean", "first"):
        coords, out = voxelize(xyz, feats, 0.05, reduce=reduce)
        ref_coords, ref_feats = _reference_voxelize(xyz, feats, 0.05, reduce)
        np.testing.assert_array_equal(coords, ref_coords)
        np.testing.assert_allclose(out, ref_feats, rtol=1e-5, atol=1e-6)
    # an extent too large for the packed key goes through the fallback path, same result
    far = np.concatenate([xyz, [[-9e5, 9e5, -9e5], [9e5, -9e5, 9e5]]]).astype(np.float64)
    feats2 = np.concatenate([feats, [[0, 0, 0], [1, 1, 1]]])
    coords, out = voxelize(far, feats2, 0.05)
    ref_coords, ref_feats = _reference_voxelize(far, feats2, 0.05, "mean")
    np.testing.assert_array_equal(coords, ref_coords)
    np.testing.assert_allclose(out, ref_feats, rtol=1e-5, atol=1e-6)


def test_voxelize_floors_negative_coordinates():
    xyz = np.array([[-0.001, -0.039, 0.001], [-0.021, 0.019, 0.0399]])
    coords, _ = voxelize(xyz, np.ones((2, 1)), 0.02)
    np.testing.assert_array_equal(coords, [[-2, 0, 1], [-1, -2, 0]])  # sorted rows


def test_voxelize_output_sorted_and_xyz_means_inside_voxels():
    rng = np.random.default_rng(7)
    cloud = PointCloud(rng.uniform(-2, 2, (5000, 3)), rng.uniform(size=(5000, 3)))
    coords, feats = voxelize(cloud.xyz, scene_features(cloud, "xyz"), 0.1)
    order = np.lexsort(coords.T[::-1])
    np.testing.assert_array_equal(order, np.arange(len(coords)))
    assert len(np.unique(coords, axis=0)) == len(coords)
    assert np.all(feats >= coords * 0.1 - 1e-5) and np.all(feats < (coords + 1) * 0.1 + 1e-5)
    np.testing.assert_array_equal(scene_features(cloud, "rgb"), cloud.rgb)


def test_voxelize_and_features_reject_bad_inputs():
    xyz = np.zeros((3, 3))
    with pytest.raises(ParameterError, match="voxel_size"):
        voxelize(xyz, xyz, 0.0)
    with pytest.raises(ParameterError, match="voxel_size"):
        voxelize(xyz, xyz, -0.02)
    with pytest.raises(ParameterError, match="empty"):
        voxelize(np.zeros((0, 3)), np.zeros((0, 3)), 0.02)
    with pytest.raises(ParameterError, match="reduce"):
        voxelize(xyz, xyz, 0.02, reduce="max")
    with pytest.raises(ParameterError, match="features"):
        scene_features(PointCloud(xyz, xyz), "normals")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["rgb", "xyz"]))
def test_quarter_turn_of_voxels_equals_voxelizing_the_turned_cloud(seed, kind):
    rng = np.random.default_rng(seed)
    # points away from voxel boundaries, where floor() is unambiguous after the float rotation
    xyz = (rng.integers(-80, 80, (500, 3)) + rng.uniform(0.05, 0.95, (500, 3))) * 0.02
    cloud = PointCloud(xyz.astype(np.float32), rng.uniform(0, 1, (500, 3)).astype(np.float32))
    coords, feats = voxelize(cloud.xyz, scene_features(cloud, kind), 0.02)
    turned = rotate_scene(cloud, math.pi / 2)
    expected_coords, expected_feats = voxelize(turned.xyz, scene_features(turned, kind), 0.02)
    got_coords, got_feats = rotate_voxels_quarter(coords, feats, kind)
    np.testing.assert_array_equal(got_coords, expected_coords)
    np.testing.assert_allclose(got_feats, expected_feats, atol=1e-5)


def test_quarter_turn_moves_the_front_to_the_left():
    # a voxel straight ahead (+z) goes to the listener's left (+x) after +pi/2
    coords = np.array([[0, 0, 50]], np.int32)
    turned, _ = rotate_voxels_quarter(coords, np.zeros((1, 3), np.float32), "rgb")
    assert turned[0, 0] == 50 and turned[0, 2] in (-1, 0)
