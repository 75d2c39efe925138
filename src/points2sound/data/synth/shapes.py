"""ModelNet-style shape classification set for pre-training the vision network, offline.

The paper pre-trains its sparse ResNet18 on ModelNet40 (points sampled from CAD
mesh surfaces, voxelized at 0.02 m). Without the download, this module builds a
stand-in with the same layout: procedurally varied meshes of everyday object
classes (named after ModelNet40's) composed from primitives with random
proportions and parts, sampled uniformly on their surfaces.

Each shape is centred on its bounding-box centre and scaled to a bounding-sphere
radius of 0.35-0.65 m (0.7-1.3 m across, 35-65 voxels of 0.02 m), y up like the
performer clouds. ModelNet has no colours, so points are written mid-grey (what
read_ply assumes for colourless files).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import trimesh
from tqdm import tqdm

from ...atomic import atomic_path
from ...errors import ParameterError
from ...geometry.pointcloud import PointCloud, write_ply
from .performers import MeshParts, _frame, _rot

GREY = (0.5, 0.5, 0.5)
RADIUS_RANGE_M = (0.35, 0.65)


def _legs(parts: MeshParts, rng: np.random.Generator, w: float, d: float, h: float, r: float, inset: float) -> None:
    """Four legs from the floor to height h under a w x d top; round or square."""
    square = rng.uniform() < 0.5
    splay = rng.uniform(0.0, 0.04)
    for sx in (-1, 1):
        for sz in (-1, 1):
            top = np.array([sx * (w / 2 - inset), h, sz * (d / 2 - inset)])
            foot = top * [1 + splay / max(w, 1e-3), 0, 1 + splay / max(d, 1e-3)]
            if square:
                axis = top - foot
                parts.box(
                    (top + foot) / 2, (2 * r, 2 * r, np.linalg.norm(axis)), GREY, _frame(axis, np.array([1.0, 0, 0]))
                )
            else:
                parts.tube(foot, top, r, r * rng.uniform(0.7, 1.0), GREY)


def _chair(parts: MeshParts, rng: np.random.Generator) -> None:
    w, d, h, t = rng.uniform(0.4, 0.55), rng.uniform(0.4, 0.55), rng.uniform(0.4, 0.5), rng.uniform(0.03, 0.06)
    parts.box((0, h + t / 2, 0), (w, t, d), GREY)
    _legs(parts, rng, w, d, h, rng.uniform(0.012, 0.03), 0.03)
    back_h = rng.uniform(0.3, 0.6)
    tilt = _rot("x", -rng.uniform(0, 15))
    centre = np.array([0, h + t, -d / 2 + 0.02]) + tilt @ [0, back_h / 2, 0]
    if rng.uniform() < 0.5:
        parts.box(centre, (w, back_h, 0.03), GREY, tilt)
    else:  # slatted back: two posts and a few rails
        for sx in (-1, 1):
            parts.box(centre + [sx * (w / 2 - 0.02), 0, 0], (0.035, back_h, 0.035), GREY, tilt)
        for f in np.linspace(0.2, 0.95, int(rng.integers(2, 5))):
            parts.box(np.array([0, h + t, -d / 2 + 0.02]) + tilt @ [0, f * back_h, 0], (w, 0.04, 0.02), GREY, tilt)
    if rng.uniform() < 0.35:  # armrests
        for sx in (-1, 1):
            parts.box((sx * w / 2, h + 0.22, 0), (0.04, 0.03, d * 0.9), GREY)
            parts.box((sx * w / 2, h + 0.11, d * 0.35), (0.03, 0.22, 0.03), GREY)


def _table(parts: MeshParts, rng: np.random.Generator) -> None:
    w, d, h, t = rng.uniform(0.8, 1.8), rng.uniform(0.6, 1.0), rng.uniform(0.7, 0.78), rng.uniform(0.03, 0.06)
    if rng.uniform() < 0.3:  # round top on a pedestal
        r = rng.uniform(0.4, 0.7)
        parts.tube((0, h - t, 0), (0, h, 0), r, None, GREY)
        parts.tube((0, 0.03, 0), (0, h - t, 0), rng.uniform(0.04, 0.08), None, GREY)
        parts.tube((0, 0, 0), (0, 0.03, 0), r * rng.uniform(0.4, 0.7), None, GREY)
        return
    parts.box((0, h - t / 2, 0), (w, t, d), GREY)
    _legs(parts, rng, w, d, h - t, rng.uniform(0.02, 0.05), rng.uniform(0.03, 0.12))
    if rng.uniform() < 0.4:  # apron under the top
        parts.box((0, h - t - 0.05, 0), (w * 0.9, 0.1, d * 0.9), GREY)


def _stool(parts: MeshParts, rng: np.random.Generator) -> None:
    h, r = rng.uniform(0.45, 0.8), rng.uniform(0.15, 0.22)
    parts.tube((0, h - 0.04, 0), (0, h, 0), r, None, GREY)
    n = int(rng.integers(3, 5))
    for a in np.arange(n) * 360.0 / n + rng.uniform(0, 90):
        foot = _rot("y", a) @ [0, 0, r * rng.uniform(1.0, 1.4)]
        parts.tube(foot, _rot("y", a) @ [0, h - 0.04, r * 0.7], 0.015, None, GREY)
    if rng.uniform() < 0.6:  # foot ring
        y = h * rng.uniform(0.25, 0.4)
        pts = [_rot("y", a) @ [0, y, r * 0.95] for a in np.linspace(0, 360, 13)]
        for p0, p1 in zip(pts[:-1], pts[1:]):
            parts.tube(p0, p1, 0.01, None, GREY)


def _lamp(parts: MeshParts, rng: np.random.Generator) -> None:
    base_r, pole_h = rng.uniform(0.08, 0.2), rng.uniform(0.3, 1.5)
    parts.tube((0, 0, 0), (0, 0.03, 0), base_r, base_r * 0.8, GREY)
    top = np.array([0, pole_h, 0])
    parts.tube((0, 0.03, 0), top, 0.012, None, GREY)
    if rng.uniform() < 0.4:  # bent arm
        end = top + _rot("z", rng.uniform(30, 80)) @ [0, pole_h * 0.3, 0]
        parts.tube(top, end, 0.01, None, GREY)
        top = end
    shade_h = rng.uniform(0.12, 0.3)
    r0, r1 = rng.uniform(0.05, 0.12), rng.uniform(0.12, 0.25)
    parts.tube(top - [0, shade_h * 0.6, 0], top + [0, shade_h * 0.4, 0], r1, r0, GREY)


def _revolved(parts: MeshParts, profile: np.ndarray) -> None:
    """Surface of revolution about y from (radius, height) pairs, closed at both ends."""
    mesh = trimesh.creation.revolve(profile, sections=24, cap=True)
    if mesh.volume < 0:
        mesh.invert()
    parts.add_mesh(mesh, GREY, _rot("x", -90))


def _bottle(parts: MeshParts, rng: np.random.Generator) -> None:
    r, h = rng.uniform(0.03, 0.06), rng.uniform(0.15, 0.3)
    neck_r, neck_h = r * rng.uniform(0.25, 0.45), rng.uniform(0.04, 0.1)
    shoulder = rng.uniform(0.02, 0.06)
    profile = np.array(
        [
            [0, 0],
            [r, 0],
            [r, h],
            [neck_r, h + shoulder],
            [neck_r, h + shoulder + neck_h],
            [neck_r * 1.15, h + shoulder + neck_h],
            [neck_r * 1.15, h + shoulder + neck_h + 0.015],
            [0, h + shoulder + neck_h + 0.015],
        ]
    )
    _revolved(parts, profile)


def _vase(parts: MeshParts, rng: np.random.Generator) -> None:
    h = rng.uniform(0.2, 0.5)
    ys = np.linspace(0, h, 9)
    base = rng.uniform(0.05, 0.12)
    bulge = rng.uniform(0.03, 0.1) * np.sin(np.pi * ys / h * rng.uniform(0.8, 1.6) + rng.uniform(-0.5, 0.5))
    radii = np.clip(base + bulge + rng.uniform(-0.03, 0.05) * ys / h, 0.02, None)
    _revolved(parts, np.vstack([[0, 0], np.column_stack([radii, ys]), [0, h]]))


def _bowl(parts: MeshParts, rng: np.random.Generator) -> None:
    r, depth, wall = rng.uniform(0.06, 0.15), rng.uniform(0.04, 0.1), rng.uniform(0.005, 0.012)
    a = np.linspace(0, np.pi / 2, 8)
    outer = np.column_stack([r * np.sin(a), depth * (1 - np.cos(a))])
    inner = np.column_stack([(r - wall) * np.sin(a[::-1]), wall + (depth - wall) * (1 - np.cos(a[::-1]))])
    _revolved(parts, np.vstack([[0, 0], outer[1:], inner[:-1], [0, wall]]))


def _cup(parts: MeshParts, rng: np.random.Generator) -> None:
    r, h = rng.uniform(0.035, 0.05), rng.uniform(0.07, 0.12)
    _revolved(parts, np.array([[0, 0], [r * 0.85, 0], [r, h], [r - 0.004, h], [r * 0.8, 0.008], [0, 0.008]]))
    hr = h * rng.uniform(0.25, 0.4)
    pts = [np.array([r + hr * np.sin(a), h / 2 + hr * np.cos(a), 0]) for a in np.linspace(0, np.pi, 8)]
    for p0, p1 in zip(pts[:-1], pts[1:]):
        parts.tube(p0, p1, 0.006, None, GREY)


def _bookshelf(parts: MeshParts, rng: np.random.Generator) -> None:
    w, d, h, t = rng.uniform(0.5, 1.2), rng.uniform(0.25, 0.4), rng.uniform(0.8, 2.0), rng.uniform(0.015, 0.03)
    for sx in (-1, 1):
        parts.box((sx * (w / 2 - t / 2), h / 2, 0), (t, h, d), GREY)
    parts.box((0, h / 2, -d / 2 + 0.005), (w, h, 0.01), GREY)
    for y in np.linspace(t / 2, h - t / 2, int(rng.integers(3, 7))):
        parts.box((0, y, 0), (w, t, d), GREY)
        if rng.uniform() < 0.4:  # a row of books
            n = int(rng.integers(3, 10))
            for bx in rng.uniform(-w / 2 + 0.05, w / 2 - 0.05, n):
                bh = rng.uniform(0.12, 0.25)
                parts.box((bx, y + bh / 2, 0), (0.03, bh, d * 0.8), GREY)


def _guitar(parts: MeshParts, rng: np.random.Generator) -> None:
    length, depth = rng.uniform(0.4, 0.55), rng.uniform(0.04, 0.12)
    lower, upper = rng.uniform(0.15, 0.22), rng.uniform(0.11, 0.17)
    for cy, rx, ry in ((0.3 * length, lower, 0.3 * length), (0.77 * length, upper, 0.23 * length)):
        parts.tube((0, cy, -depth / 2), (0, cy, depth / 2), (rx, ry), None, GREY)
    neck = rng.uniform(0.35, 0.5)
    parts.box((0, length + neck / 2, 0), (0.05, neck + 0.04, 0.03), GREY)
    parts.box((0, length + neck + 0.09, -0.01), (0.08, 0.18, 0.02), GREY, _rot("x", -rng.uniform(0, 15)))


def _sofa(parts: MeshParts, rng: np.random.Generator) -> None:
    w, d, seat = rng.uniform(1.4, 2.4), rng.uniform(0.8, 1.0), rng.uniform(0.38, 0.48)
    parts.box((0, seat / 2, 0), (w, seat, d), GREY)
    back_h = rng.uniform(0.35, 0.55)
    parts.box((0, seat + back_h / 2, -d / 2 + 0.12), (w, back_h, 0.24), GREY)
    arm_h, arm_w = rng.uniform(0.15, 0.3), rng.uniform(0.1, 0.25)
    for sx in (-1, 1):
        parts.box((sx * (w / 2 - arm_w / 2), seat + arm_h / 2, 0), (arm_w, arm_h, d), GREY)
    n = int(rng.integers(2, 4))
    cw = (w - 2 * arm_w) / n
    for i in range(n):  # seat cushions
        parts.box((-w / 2 + arm_w + cw * (i + 0.5), seat + 0.05, 0.1), (cw * 0.97, 0.1, d - 0.28), GREY)


def _bed(parts: MeshParts, rng: np.random.Generator) -> None:
    w, length, h = rng.uniform(0.9, 1.8), rng.uniform(1.9, 2.1), rng.uniform(0.3, 0.5)
    parts.box((0, h / 2, 0), (w, h, length), GREY)
    parts.box((0, h + 0.1, 0), (w * 0.97, 0.2, length * 0.97), GREY)
    head_h = rng.uniform(0.4, 0.9)
    parts.box((0, head_h / 2 + 0.1, -length / 2), (w, head_h + 0.2, 0.05), GREY)
    if rng.uniform() < 0.5:
        parts.box((0, h / 2 + 0.15, length / 2), (w, h + 0.3, 0.05), GREY)
    for sx in [0] if w < 1.2 else [-w / 4, w / 4]:
        parts.ellipsoid((sx, h + 0.25, -length / 2 + 0.25), (0.3, 0.07, 0.18), GREY)


def _monitor(parts: MeshParts, rng: np.random.Generator) -> None:
    w, ar = rng.uniform(0.45, 0.8), rng.uniform(0.5, 0.65)
    h, stand = w * ar, rng.uniform(0.1, 0.2)
    tilt = _rot("x", -rng.uniform(0, 12))
    parts.box(np.array([0, stand + h / 2, 0]), (w, h, rng.uniform(0.02, 0.06)), GREY, tilt)
    parts.box((0, stand / 2, -0.03), (0.05, stand + 0.05, 0.03), GREY)
    if rng.uniform() < 0.5:
        parts.box((0, 0.01, 0), (rng.uniform(0.2, 0.3), 0.02, rng.uniform(0.15, 0.22)), GREY)
    else:
        parts.tube((0, 0, 0), (0, 0.02, 0), rng.uniform(0.1, 0.14), None, GREY)


def _cone(parts: MeshParts, rng: np.random.Generator) -> None:
    h, r = rng.uniform(0.3, 0.8), rng.uniform(0.1, 0.25)
    parts.tube((0, 0.02, 0), (0, h, 0), r, r * rng.uniform(0.02, 0.15), GREY)
    if rng.uniform() < 0.6:  # square foot like a traffic cone
        parts.box((0, 0.01, 0), (2.4 * r, 0.02, 2.4 * r), GREY)
    else:
        parts.tube((0, 0, 0), (0, 0.02, 0), r, None, GREY)


def _bench(parts: MeshParts, rng: np.random.Generator) -> None:
    w, d, h = rng.uniform(1.0, 2.0), rng.uniform(0.3, 0.5), rng.uniform(0.4, 0.48)
    parts.box((0, h, 0), (w, 0.05, d), GREY)
    if rng.uniform() < 0.5:
        for sx in (-1, 1):  # slab ends
            parts.box((sx * (w / 2 - 0.1), h / 2, 0), (0.05, h, d * 0.9), GREY)
    else:
        _legs(parts, rng, w, d, h - 0.025, 0.025, 0.08)
    if rng.uniform() < 0.5:
        parts.box((0, h + 0.3, -d / 2), (w, 0.25, 0.04), GREY, _rot("x", -10))
        for sx in (-1, 1):
            parts.box((sx * (w / 2 - 0.1), h + 0.15, -d / 2), (0.04, 0.3, 0.04), GREY)


def _door(parts: MeshParts, rng: np.random.Generator) -> None:
    w, h, t = rng.uniform(0.7, 1.0), rng.uniform(1.9, 2.2), rng.uniform(0.03, 0.05)
    parts.box((0, h / 2, 0), (w, h, t), GREY)
    for sx in (-1, 1):  # frame
        parts.box((sx * (w / 2 + 0.04), (h + 0.06) / 2, 0), (0.08, h + 0.06, t * 2.5), GREY)
    parts.box((0, h + 0.04, 0), (w + 0.16, 0.08, t * 2.5), GREY)
    for sz in (-1, 1):  # knobs or handles
        parts.sphere((w / 2 - 0.08, rng.uniform(0.9, 1.05), sz * (t / 2 + 0.03)), 0.03, GREY)
    for y in rng.uniform(0.3, 0.8, int(rng.integers(0, 3))) * h:  # panels
        parts.box((0, y, t / 2), (w * 0.7, 0.3, 0.01), GREY)


def _stairs(parts: MeshParts, rng: np.random.Generator) -> None:
    n, w = int(rng.integers(3, 9)), rng.uniform(0.6, 1.2)
    rise, run = rng.uniform(0.15, 0.2), rng.uniform(0.22, 0.3)
    for i in range(n):
        parts.box((0, rise * (i + 0.5), run * (i + 0.5)), (w, rise, run * (n - i)), GREY)
    if rng.uniform() < 0.5:  # railing
        for i in range(0, n, 2):
            parts.tube(
                (w / 2, rise * (i + 1), run * (i + 0.5)),
                (w / 2, rise * (i + 1) + 0.9, run * (i + 0.5)),
                0.015,
                None,
                GREY,
            )


def _tent(parts: MeshParts, rng: np.random.Generator) -> None:
    w, length, h = rng.uniform(1.0, 2.0), rng.uniform(1.5, 2.5), rng.uniform(0.8, 1.4)
    ridge = rng.uniform(0.0, 0.2) * w
    pts = [[sx * w / 2, 0, sz * length / 2] for sx in (-1, 1) for sz in (-1, 1)]
    pts += [[ridge, h, sz * length / 2 * rng.uniform(0.8, 1.0)] for sz in (-1, 1)]
    parts.add_mesh(trimesh.convex.convex_hull(np.array(pts)), GREY)


def _desk(parts: MeshParts, rng: np.random.Generator) -> None:
    w, d, h = rng.uniform(1.0, 1.6), rng.uniform(0.5, 0.8), rng.uniform(0.72, 0.78)
    parts.box((0, h - 0.02, 0), (w, 0.04, d), GREY)
    pw = rng.uniform(0.35, 0.5)
    side = rng.choice([-1, 1])
    parts.box((side * (w / 2 - pw / 2), (h - 0.04) / 2, 0), (pw, h - 0.04, d * 0.95), GREY)
    for y in np.linspace(0.15, h - 0.15, int(rng.integers(2, 5))):  # drawer fronts and handles
        parts.box((side * (w / 2 - pw / 2), y, d * 0.475), (pw * 0.9, 0.12, 0.01), GREY)
        parts.box((side * (w / 2 - pw / 2), y, d * 0.475 + 0.015), (0.1, 0.015, 0.02), GREY)
    parts.box((-side * (w / 2 - 0.02), (h - 0.04) / 2, 0), (0.04, h - 0.04, d * 0.95), GREY)


def _airplane(parts: MeshParts, rng: np.random.Generator) -> None:
    length, r = rng.uniform(1.0, 1.5), rng.uniform(0.05, 0.1)
    parts.tube((0, 0, -length / 2), (0, 0, length / 2), r, r * rng.uniform(0.3, 0.6), GREY)
    parts.ellipsoid((0, 0, -length / 2), (r, r, r * 2), GREY)
    span, chord, sweep = rng.uniform(0.8, 1.4) * length, rng.uniform(0.1, 0.2), rng.uniform(0, 35)
    for sx in (-1, 1):
        parts.box((sx * span / 4, -r * 0.3, -length * 0.05), (span / 2, 0.02, chord), GREY, _rot("y", sx * sweep))
        parts.box((sx * span / 10, 0, length * 0.42), (span / 5, 0.015, chord * 0.6), GREY, _rot("y", sx * sweep))
    parts.box((0, r + 0.08, length * 0.42), (0.015, 0.18, chord * 0.7), GREY, _rot("x", 20))
    if rng.uniform() < 0.6:  # engines under the wings
        for sx in (-1, 1):
            c = np.array([sx * span * rng.uniform(0.12, 0.25), -r * 0.9, -length * 0.1])
            parts.tube(c - [0, 0, 0.08], c + [0, 0, 0.08], r * 0.45, None, GREY)


# Class names from ModelNet40; the first ones are the most distinct, for small n_classes.
SHAPE_BUILDERS: dict[str, Callable[[MeshParts, np.random.Generator], None]] = {
    "chair": _chair,
    "table": _table,
    "lamp": _lamp,
    "bottle": _bottle,
    "bookshelf": _bookshelf,
    "guitar": _guitar,
    "sofa": _sofa,
    "bed": _bed,
    "monitor": _monitor,
    "cone": _cone,
    "cup": _cup,
    "stool": _stool,
    "bench": _bench,
    "vase": _vase,
    "door": _door,
    "stairs": _stairs,
    "tent": _tent,
    "bowl": _bowl,
    "desk": _desk,
    "airplane": _airplane,
}
SHAPE_CLASSES: tuple[str, ...] = tuple(SHAPE_BUILDERS)


def build_shape_mesh(shape_class: str, rng: np.random.Generator) -> trimesh.Trimesh:
    """One random instance of a class, centred and scaled to a 0.35-0.65 m bounding-sphere radius."""
    if shape_class not in SHAPE_BUILDERS:
        raise ParameterError("shape_class", f"unknown class {shape_class!r}; known: {list(SHAPE_CLASSES)}")
    parts = MeshParts()
    SHAPE_BUILDERS[shape_class](parts, rng)
    mesh = parts.to_trimesh()
    mesh.apply_translation(-mesh.bounds.mean(axis=0))
    radius = float(np.linalg.norm(mesh.vertices, axis=1).max())
    mesh.apply_scale(rng.uniform(*RADIUS_RANGE_M) / radius)
    return mesh


def shape_cloud(shape_class: str, points: int, rng: np.random.Generator) -> PointCloud:
    """Points drawn uniformly on the surface of a new random instance (area-weighted)."""
    mesh = build_shape_mesh(shape_class, rng)
    xyz, _ = trimesh.sample.sample_surface(mesh, int(points), seed=rng)
    return PointCloud(xyz, np.full((len(xyz), 3), 0.5))


def generate_shapes(
    out_dir: Path, n_classes: int, shapes_per_class: int, points_per_shape: int, seed: int, test_fraction: float = 0.2
) -> pd.DataFrame:
    """Write out_dir/<class>/<shape>.ply and out_dir/splits/{train,test}.csv (columns shape, class, path).

    Uses the first n_classes of SHAPE_CLASSES. Each shape has its own seed
    stream (seed, class index, shape index), so a shape does not change when
    more shapes or classes are requested. The test split takes
    round(test_fraction * shapes_per_class) shapes of every class (at least one,
    leaving at least one for training). Returns the index with a `split` column.
    """
    out_dir = Path(out_dir)
    if not 2 <= int(n_classes) <= len(SHAPE_CLASSES):
        raise ParameterError("shapes.classes", f"must be between 2 and {len(SHAPE_CLASSES)}, got {n_classes}")
    if int(shapes_per_class) < 2:
        raise ParameterError("shapes.shapes_per_class", f"need >= 2 (one for each split), got {shapes_per_class}")
    if int(points_per_shape) < 16:
        raise ParameterError("shapes.points_per_shape", f"must be >= 16, got {points_per_shape}")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ParameterError("shapes.test_fraction", f"must be in (0, 1), got {test_fraction}")
    n, n_test = (
        int(shapes_per_class),
        int(np.clip(round(float(test_fraction) * int(shapes_per_class)), 1, int(shapes_per_class) - 1)),
    )
    rows = []
    classes = SHAPE_CLASSES[: int(n_classes)]
    for ci, cls in enumerate(tqdm(classes, desc="shapes", unit="class", disable=None)):
        test_ids = set(np.random.default_rng([int(seed), ci, 1 << 20]).permutation(n)[:n_test].tolist())
        for i in range(n):
            name = f"{cls}_{i:04d}"
            cloud = shape_cloud(cls, points_per_shape, np.random.default_rng([int(seed), ci, i]))
            rel = f"{cls}/{name}.ply"
            write_ply(out_dir / rel, cloud)
            rows.append(dict(shape=name, **{"class": cls}, path=rel, split="test" if i in test_ids else "train"))
    table = pd.DataFrame(rows, columns=["shape", "class", "path", "split"])
    for split in ("train", "test"):
        with atomic_path(out_dir / "splits" / f"{split}.csv") as tmp:
            table.loc[table.split == split, ["shape", "class", "path"]].to_csv(tmp, index=False)
    return table
