"""Embedded point-cloud performers, the depth-camera sampler and the pre-training shapes.

Camera checks compare against pinhole geometry computed here (pixel footprint
d/f, one point per pixel, occlusion); performer checks against body and
instrument facts (stature, facing direction, which side the instrument is on,
relative instrument sizes); data-set checks against the on-disk contract.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import trimesh
from scipy.spatial import cKDTree

from points2sound.data.synth.performers import (
    INSTRUMENTS,
    build_performer_mesh,
    generate_performers,
    performer_cloud,
    performer_params,
)
from points2sound.data.synth.shapes import SHAPE_CLASSES, generate_shapes, shape_cloud
from points2sound.errors import ParameterError
from points2sound.geometry.pointcloud import read_ply
from points2sound.geometry.sampling import camera_sample
from points2sound.settings.synth import Camera, camera_config

W, H, FOV = 640, 576, (75.0, 65.0)
FX = W / 2 / np.tan(np.radians(FOV[0] / 2))  # focal lengths of the Kinect-like camera, in pixels
FY = H / 2 / np.tan(np.radians(FOV[1] / 2))
KINECT = Camera(distance_m=2.0, height_m=1.0, width_px=W, height_px=H, fov_deg=FOV, depth_noise_m=0.003)
COARSE = replace(KINECT, width_px=160, height_px=144)  # a quarter of the Kinect's resolution per axis


def _board(width: float, height: float, z: float) -> trimesh.Trimesh:
    board = trimesh.creation.box(extents=(width, height, 0.002))
    board.apply_translation((0.0, 1.0, z))
    return board


def _chamfer(a: np.ndarray, b: np.ndarray) -> float:
    return float(cKDTree(b).query(a)[0].mean() + cKDTree(a).query(b)[0].mean()) / 2


def _with_colour(cloud, rgb, tol: float = 1.5 / 255) -> np.ndarray:
    return np.all(np.abs(cloud.rgb - np.asarray(rgb, np.float32)) <= tol, axis=1)


def _params(instrument: str, want=lambda p: True, start: int = 0):
    """First performer (by seed) satisfying a condition, so tests pick e.g. a given hair style."""
    for s in range(start, start + 200):
        p = performer_params(instrument, np.random.default_rng(s))
        if want(p):
            return s, p
    raise AssertionError("no performer matched")


# ----------------------------------------------------------------------------- camera
@pytest.mark.parametrize("z", [0.0, -1.0])
def test_board_density_follows_pixel_footprint(z: float) -> None:
    """A fronto-parallel board at depth d covers area * fx * fy / d^2 pixels: one point each."""
    board = _board(0.5, 0.4, z)
    cloud = camera_sample(board, np.random.default_rng(0), replace(KINECT, depth_noise_m=0.0))
    depth = 2.0 - (z + 0.001)
    expected = 0.5 * 0.4 * FX * FY / depth**2
    assert abs(len(cloud) - expected) / expected < 0.06
    assert np.allclose(cloud.xyz[:, 2], z + 0.001, atol=1e-4)  # the front face only


def test_one_point_per_pixel_and_depth_noise() -> None:
    cloud = camera_sample(_board(0.6, 0.6, 0.0), np.random.default_rng(1), replace(KINECT, depth_noise_m=0.004))
    d = 2.0 - cloud.xyz[:, 2]
    col = np.floor(W / 2 + FX * cloud.xyz[:, 0] / d).astype(int)
    row = np.floor(H / 2 - FY * (cloud.xyz[:, 1] - 1.0) / d).astype(int)
    assert len(np.unique(row * W + col)) == len(cloud)  # noise moves points along their pixel's ray
    assert 0.0035 < cloud.xyz[:, 2].std() < 0.0045


def test_occluded_and_back_surfaces_are_not_seen() -> None:
    sphere = trimesh.creation.icosphere(radius=0.2)
    sphere.apply_translation((0.0, 1.0, -0.5))
    alone = camera_sample(sphere, np.random.default_rng(2), replace(KINECT, depth_noise_m=0.0))
    assert len(alone) > 1000 and np.all(alone.xyz[:, 2] > -0.5 - 0.01)  # front hemisphere only
    scene = trimesh.Scene([sphere, _board(1.0, 1.0, 0.0)])  # a board in front hides the sphere
    hidden = camera_sample(scene, np.random.default_rng(2), replace(KINECT, depth_noise_m=0.0))
    assert np.all(hidden.xyz[:, 2] > -0.01)


def test_resolution_scale_divides_point_count_by_its_square() -> None:
    board = _board(0.8, 0.8, 0.0)
    full = len(camera_sample(board, np.random.default_rng(3), KINECT))
    quarter = len(camera_sample(board, np.random.default_rng(3), replace(KINECT, resolution_scale=0.25)))
    assert abs(full / quarter - 16.0) < 1.5


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(fov_deg=(0.0, 65.0)),
        dict(width_px=4),
        dict(oversample=0.5),
        dict(depth_noise_m=-0.001),
        dict(distance_m=0.0),
        dict(resolution_scale=0.0),
    ],
)
def test_camera_rejects_bad_parameters(kwargs: dict) -> None:
    with pytest.raises(ParameterError):
        camera_sample(_board(0.5, 0.5, 0.0), np.random.default_rng(0), replace(KINECT, **kwargs))


# ----------------------------------------------------------------------------- performers
def test_generated_files_round_trip_and_regenerate(tmp_path) -> None:
    table = generate_performers(tmp_path, list(INSTRUMENTS), 2, 2, seed=7, camera=COARSE, fps=15.0)
    assert list(table.columns) == ["performer", "instrument", "frames", "points_mean", "height_m", "seed"]
    manifest = pd.read_csv(tmp_path / "manifest.csv")
    assert manifest.performer.tolist() == table.performer.tolist() and len(manifest) == 10
    assert manifest.height_m.between(1.55, 1.95).all()
    for row in manifest.itertuples():
        folder = tmp_path / row.instrument / row.performer
        assert sorted(f.name for f in folder.iterdir()) == ["00000.ply", "00001.ply"]
        # the manifest's seed rebuilds the same cloud as the file holds (PLY: float32 xyz, 8-bit colour)
        params = performer_params(row.instrument, np.random.default_rng(row.seed))
        again = performer_cloud(row.instrument, params, 1 / 15.0, np.random.default_rng([row.seed, 1]), COARSE)
        stored = read_ply(folder / "00001.ply")
        np.testing.assert_allclose(stored.xyz, again.xyz, atol=1e-6)
        np.testing.assert_allclose(stored.rgb, again.rgb, atol=0.5 / 255 + 1e-6)
        assert abs(row.points_mean - np.mean([len(read_ply(f)) for f in sorted(folder.iterdir())])) < 1e-6


def test_generation_is_deterministic(tmp_path) -> None:
    a = generate_performers(tmp_path / "a", ["violin", "cello"], 1, 2, seed=3, camera=COARSE, fps=15.0)
    b = generate_performers(tmp_path / "b", ["cello", "violin"], 1, 2, seed=3, camera=COARSE, fps=15.0)
    c = generate_performers(tmp_path / "c", ["violin"], 1, 1, seed=4, camera=COARSE, fps=15.0)
    rel = "violin/violin_p00/00001.ply"
    assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()  # independent of order
    assert set(a.seed) == set(b.seed) and c.seed[0] not in set(a.seed)
    assert not np.array_equal(
        read_ply(tmp_path / "a" / "violin/violin_p00/00000.ply").xyz,
        read_ply(tmp_path / "c" / "violin/violin_p00/00000.ply").xyz,
    )


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_stature_floor_and_camera_side(instrument: str) -> None:
    _, p = _params(instrument, start=11)
    mesh = build_performer_mesh(instrument, p, 0.0)
    cloud = camera_sample(mesh, np.random.default_rng(0), replace(KINECT, resolution_scale=0.25))
    y = cloud.xyz[:, 1]
    # feet (or endpin) on the floor, unless the field of view cuts them: the lowest y seen at depth d
    lowest = cloud.xyz[np.argmin(y)]
    cut = 1.0 - (2.0 - lowest[2]) * np.tan(np.radians(FOV[1] / 2))
    assert -0.02 < y.min() < max(0.06, cut + 0.03)
    colours = mesh.visual.face_colors[:, :3].astype(float) / 255
    head = np.zeros(len(colours), bool)
    for rgb in (p.skin, p.hair):
        head |= np.all(np.abs(colours - rgb) < 1.5 / 255, axis=1)
    head_top = mesh.vertices[mesh.faces[head]][..., 1].max()
    if p.seated:
        assert head_top < p.height - 0.25
    else:
        assert p.height - 0.12 < head_top <= p.height + 0.01  # stature
    assert y.max() > head_top - 0.08  # the head is in view
    if instrument == "doublebass":
        assert 1.6 < y.max() < 2.05  # the scroll, above most heads
    whole, _ = trimesh.sample.sample_surface(mesh, 20000, seed=0)  # front and back alike
    assert np.median(cloud.xyz[:, 2]) > np.median(whole[:, 2]) + 0.02  # only the camera (+z) side is seen
    assert (y > np.quantile(y, 0.9)).sum() > 50  # the top 10 % (head) is populated


def test_performer_faces_the_camera() -> None:
    """Hair covers the back and top of the head: a frontal camera sees mostly face skin."""
    _, p = _params("guitar", lambda q: q.hair_style == "short" and np.abs(np.subtract(q.skin, q.hair)).max() > 0.15)
    cloud = camera_sample(
        build_performer_mesh("guitar", p, 0.0), np.random.default_rng(0), replace(KINECT, depth_noise_m=0.0)
    )
    skin, hair = _with_colour(cloud, p.skin), _with_colour(cloud, p.hair)
    head = cloud.xyz[:, 1] > cloud.xyz[skin, 1].max() - 0.25
    assert (skin & head).sum() > 2 * (hair & head).sum() > 0
    # the face turned away would show the back of the head instead
    back = build_performer_mesh("guitar", p, 0.0)
    back.apply_transform(trimesh.transformations.rotation_matrix(np.pi, (0, 1, 0)))
    turned = camera_sample(back, np.random.default_rng(0), replace(KINECT, depth_noise_m=0.0))
    head_t = turned.xyz[:, 1] > turned.xyz[_with_colour(turned, p.skin), 1].max() - 0.25
    assert (_with_colour(turned, p.hair) & head_t).sum() > (_with_colour(turned, p.skin) & head_t).sum()


def test_instrument_side_and_size() -> None:
    """Violin on the performer's left (+x); wood extents: double bass > cello > violin."""
    extent = {}
    for inst in ("violin", "cello", "doublebass"):
        _, p = _params(inst, start=3)
        cloud = camera_sample(
            build_performer_mesh(inst, p, 0.0), np.random.default_rng(0), replace(KINECT, resolution_scale=0.5)
        )
        wood = cloud.xyz[_with_colour(cloud, p.inst["wood"])]
        assert len(wood) > 30
        extent[inst] = np.ptp(wood, axis=0)
        if inst == "violin":
            assert np.mean(wood[:, 0]) > 0.05
    assert extent["doublebass"][1] > 0.9 > extent["cello"][1] > 0.5 > extent["violin"][1]
    assert extent["doublebass"][0] > extent["cello"][0] > extent["violin"][0] * 0.8


def test_full_resolution_density_matches_kinect_geometry() -> None:
    """Points <= pixels of the projected bounding box; a person fills a good part of it."""
    _, p = _params("violin")
    mesh = build_performer_mesh("violin", p, 0.0)
    cloud = camera_sample(mesh, np.random.default_rng(0), KINECT)
    d = 2.0 - mesh.vertices[:, 2]
    u = FX * mesh.vertices[:, 0] / d
    v = FY * (mesh.vertices[:, 1] - 1.0) / d
    bbox_px = np.ptp(u) * np.ptp(v)
    assert 0.2 * bbox_px < len(cloud) < bbox_px
    assert 15_000 < len(cloud) < 80_000  # Kinect-like: tens of thousands of points per performer


def test_motion_is_small_and_smooth() -> None:
    _, p = _params("cello")
    _, q = _params("cello", start=50)
    frames = [performer_cloud("cello", p, i / 15.0, np.random.default_rng(i), COARSE).xyz for i in range(3)]
    other = performer_cloud("cello", q, 0.0, np.random.default_rng(0), COARSE).xyz
    step = _chamfer(frames[0], frames[1])
    assert not np.array_equal(frames[0], frames[1])
    assert step < 0.02 and _chamfer(frames[0], frames[2]) < 0.03
    assert _chamfer(frames[0], other) > 3 * step
    # the mesh moves (not only the sampling noise): same sampling seed, different times
    m0, m1 = build_performer_mesh("cello", p, 0.0), build_performer_mesh("cello", p, 1 / 15.0)
    moved = np.linalg.norm(m0.vertices - m1.vertices, axis=1)
    assert 0.0005 < moved.max() < 0.05


def test_nearest_centroid_separates_instruments() -> None:
    """Simple shape descriptors of the clouds identify the instrument better than chance."""

    def features(cloud):
        xyz = cloud.xyz
        return np.r_[np.ptp(xyz, axis=0), np.quantile(xyz[:, 1], [0.25, 0.5, 0.75]), xyz[:, 0].mean(), np.log(len(xyz))]

    X, y = [], []
    for inst in INSTRUMENTS:
        for s in range(4):
            p = performer_params(inst, np.random.default_rng(100 + s))
            X.append(features(performer_cloud(inst, p, 0.0, np.random.default_rng(s), COARSE)))
            y.append(inst)
    X, y = np.array(X), np.array(y)
    X = (X - X.mean(0)) / X.std(0)
    correct = 0
    for i in range(len(X)):  # leave-one-out
        rest = np.arange(len(X)) != i
        centroids = {c: X[rest & (y == c)].mean(0) for c in INSTRUMENTS}
        correct += min(centroids, key=lambda c: np.linalg.norm(X[i] - centroids[c])) == y[i]
    assert correct / len(X) > 0.5  # chance is 0.2


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(instruments=["trumpet"]),
        dict(instruments=[]),
        dict(performers_per_instrument=0),
        dict(frames_per_performer=0),
        dict(fps=0.0),
    ],
)
def test_performers_reject_bad_parameters(tmp_path, kwargs: dict) -> None:
    args = dict(
        instruments=["violin"], performers_per_instrument=1, frames_per_performer=1, seed=0, camera=COARSE, fps=15.0
    )
    args.update(kwargs)
    with pytest.raises(ParameterError):
        generate_performers(tmp_path, **args)


def test_a_misspelt_camera_setting_is_refused() -> None:
    with pytest.raises(ParameterError, match="widht_px"):
        camera_config({"embedded_frames": {"camera": {"widht_px": 100}}})


# ----------------------------------------------------------------------------- shapes
def test_shapes_layout_and_splits(tmp_path) -> None:
    table = generate_shapes(tmp_path, 4, 5, 128, seed=1, test_fraction=0.2)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "splits") == sorted(SHAPE_CLASSES[:4])
    train = pd.read_csv(tmp_path / "splits" / "train.csv")
    test = pd.read_csv(tmp_path / "splits" / "test.csv")
    assert list(train.columns) == ["shape", "class", "path"] == list(test.columns)
    assert len(train) == 16 and len(test) == 4 and (test["class"].value_counts() == 1).all()
    assert not set(train["shape"]) & set(test["shape"])
    assert len(table) == 20
    for rel in pd.concat([train, test]).path:
        cloud = read_ply(tmp_path / rel)
        assert len(cloud) == 128
        radius = np.linalg.norm(cloud.xyz - (cloud.xyz.max(0) + cloud.xyz.min(0)) / 2, axis=1).max()
        assert 0.2 < radius <= 0.65 + 1e-5  # 0.02 m voxels: tens of voxels across


def test_shapes_are_deterministic_and_varied() -> None:
    a = shape_cloud("chair", 256, np.random.default_rng([5, 0, 1]))
    b = shape_cloud("chair", 256, np.random.default_rng([5, 0, 1]))
    c = shape_cloud("chair", 256, np.random.default_rng([5, 0, 2]))
    np.testing.assert_array_equal(a.xyz, b.xyz)
    assert not np.allclose(np.ptp(a.xyz, axis=0), np.ptp(c.xyz, axis=0), atol=1e-3)
    bottle = np.ptp(shape_cloud("bottle", 512, np.random.default_rng(0)).xyz, axis=0)
    bed = np.ptp(shape_cloud("bed", 512, np.random.default_rng(0)).xyz, axis=0)
    assert bottle[1] > 1.5 * max(bottle[0], bottle[2])  # tall and thin
    assert bed[2] > bed[0] > bed[1]  # long, wide, low


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_classes=1),
        dict(n_classes=len(SHAPE_CLASSES) + 1),
        dict(shapes_per_class=1),
        dict(points_per_shape=8),
        dict(test_fraction=0.0),
        dict(test_fraction=1.0),
    ],
)
def test_shapes_reject_bad_parameters(tmp_path, kwargs: dict) -> None:
    args = dict(n_classes=3, shapes_per_class=4, points_per_shape=64, seed=0)
    args.update(kwargs)
    with pytest.raises(ParameterError):
        generate_shapes(tmp_path, **args)
