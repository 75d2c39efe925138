"""Procedural musicians with their instruments, captured like the paper's Kinect videos.

The paper's point clouds show 12 or so performers per instrument, filmed by one
Azure Kinect 2 m in front of them at 1 m height. Offline, each performer is built
here from primitives (capsule-like limbs, ellipsoids, boxes): a body with seeded
size, proportions, skin, hair and clothes, posed seated or standing with a
recognizable instrument in its playing position, and moving a little from frame
to frame (bowing or plucking hand, sway, breathing, head). Each frame is then
sampled with `camera_sample`, a z-buffered virtual depth camera, so density,
self-occlusion and single-view coverage resemble a real capture.

Axes are the paper's: y = stature (up), z = the performer's face direction, x =
side (the performer's left is +x); origin on the floor below the performer; metres.
"""

from __future__ import annotations

import colorsys
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import trimesh
from tqdm import tqdm

from ...atomic import atomic_path
from ...errors import ParameterError
from ...geometry.pointcloud import PointCloud, write_ply
from ...geometry.sampling import camera_sample
from ...settings.synth import Camera

INSTRUMENTS = ("cello", "doublebass", "guitar", "saxophone", "violin")
SEATED_ALWAYS = {"cello", "guitar"}  # played seated; the others usually stand

Vec = np.ndarray


# --------------------------------------------------------------------------- mesh assembly
def _rot(axis: str, deg: float) -> np.ndarray:
    """Right-handed rotation matrix about a coordinate axis."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _unit(v: Vec) -> Vec:
    n = np.linalg.norm(v)
    return v / n if n > 1e-12 else v


def _frame(z_dir: Vec, x_hint: Vec) -> np.ndarray:
    """Rotation whose third column is z_dir and first column is x_hint made orthogonal to it."""
    ez = _unit(np.asarray(z_dir, float))
    ex = np.asarray(x_hint, float) - np.dot(x_hint, ez) * ez
    if np.linalg.norm(ex) < 1e-6:  # hint parallel to the axis: pick any perpendicular
        ex = np.cross(ez, [1.0, 0.0, 0.0] if abs(ez[0]) < 0.9 else [0.0, 1.0, 0.0])
    ex = _unit(ex)
    return np.column_stack([ex, np.cross(ez, ex), ez])


@cache
def _unit_sphere() -> trimesh.Trimesh:
    return trimesh.creation.icosphere(subdivisions=2)


@cache
def _unit_cylinder() -> trimesh.Trimesh:
    # radius 1 along z, from z = 0 to z = 1
    return trimesh.creation.cylinder(radius=1.0, segment=[[0, 0, 0], [0, 0, 1]], sections=14)


@cache
def _unit_box() -> trimesh.Trimesh:
    return trimesh.creation.box(extents=(1.0, 1.0, 1.0))


class MeshParts:
    """Coloured primitives collected as plain arrays, merged into one Trimesh at the end.

    Primitives are transformed copies of cached unit meshes, which keeps building
    a performer per frame cheap (about a millisecond, against ~1 ms per
    trimesh.creation call). All transforms are proper rotations with positive
    scales, so face winding (outward normals) survives, which the camera needs.
    """

    def __init__(self) -> None:
        self._verts: list[np.ndarray] = []
        self._faces: list[np.ndarray] = []  # indices local to each part
        self._cols: list[np.ndarray] = []

    def add(self, vertices: np.ndarray, faces: np.ndarray, rgb: tuple[float, float, float]) -> None:
        """Add a raw mesh in world coordinates with one colour."""
        self._verts.append(np.asarray(vertices, float))
        self._faces.append(np.asarray(faces, np.int64))
        self._cols.append(np.tile(np.asarray(rgb, float), (len(faces), 1)))

    def add_mesh(
        self,
        mesh: trimesh.Trimesh,
        rgb: tuple[float, float, float],
        rotation: np.ndarray | None = None,
        offset: Vec | None = None,
    ) -> None:
        v = mesh.vertices if rotation is None else mesh.vertices @ np.asarray(rotation).T
        self.add(v + (0.0 if offset is None else np.asarray(offset)), mesh.faces, rgb)

    def ellipsoid(self, centre: Vec, radii: Vec, rgb: tuple, rotation: np.ndarray | None = None) -> None:
        """Ellipsoid with semi-axes `radii` along the columns of `rotation`."""
        s = _unit_sphere()
        v = s.vertices * np.asarray(radii, float)
        if rotation is not None:
            v = v @ np.asarray(rotation).T
        self.add(v + np.asarray(centre, float), s.faces, rgb)

    def sphere(self, centre: Vec, radius: float, rgb: tuple) -> None:
        self.ellipsoid(centre, (radius, radius, radius), rgb)

    def tube(
        self,
        p0: Vec,
        p1: Vec,
        r0: float | tuple[float, float],
        r1: float | tuple[float, float] | None,
        rgb: tuple,
        x_hint: Vec = (1.0, 0.0, 0.0),
    ) -> None:
        """Closed (elliptic) frustum from p0 to p1; radii are (rx, ry) pairs or scalars."""
        p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
        axis = p1 - p0
        length = np.linalg.norm(axis)
        if length < 1e-6:
            return
        r0 = np.broadcast_to(np.asarray(r0, float), (2,))
        r1 = r0 if r1 is None else np.broadcast_to(np.asarray(r1, float), (2,))
        c = _unit_cylinder()
        s = c.vertices[:, 2:3]  # 0 at p0, 1 at p1
        local = np.column_stack([c.vertices[:, :2] * (r0 + s * (r1 - r0)), s[:, 0] * length])
        self.add(local @ _frame(axis, np.asarray(x_hint, float)).T + p0, c.faces, rgb)

    def limb(self, p0: Vec, p1: Vec, r0: float, r1: float, rgb: tuple, joint: bool = True) -> None:
        """Tapered tube with a ball at its far end (a capsule-like limb segment)."""
        self.tube(p0, p1, r0, r1, rgb)
        if joint:
            self.sphere(p1, r1, rgb)

    def box(self, centre: Vec, extents: Vec, rgb: tuple, rotation: np.ndarray | None = None) -> None:
        b = _unit_box()
        v = b.vertices * np.asarray(extents, float)
        if rotation is not None:
            v = v @ np.asarray(rotation).T
        self.add(v + np.asarray(centre, float), b.faces, rgb)

    def extend(self, other: MeshParts, rotation: np.ndarray, offset: Vec) -> None:
        """Add another collection, rigidly moved (local -> world)."""
        rotation, offset = np.asarray(rotation, float), np.asarray(offset, float)
        self._verts.extend(v @ rotation.T + offset for v in other._verts)
        self._faces.extend(other._faces)
        self._cols.extend(other._cols)

    def to_trimesh(self) -> trimesh.Trimesh:
        """One mesh with per-face colours (RGBA uint8)."""
        if not self._verts:
            return trimesh.Trimesh()
        rgba = np.empty((sum(len(c) for c in self._cols), 4), np.uint8)
        rgba[:, :3] = np.clip(np.round(np.concatenate(self._cols) * 255.0), 0, 255)
        rgba[:, 3] = 255
        starts = np.cumsum([0] + [len(v) for v in self._verts[:-1]])
        faces = np.concatenate([f + s for f, s in zip(self._faces, starts)])
        return trimesh.Trimesh(np.concatenate(self._verts), faces, face_colors=rgba, process=False)


def _ik(root: Vec, target: Vec, l1: float, l2: float, pole: Vec) -> tuple[Vec, Vec]:
    """Two-bone inverse kinematics: (middle joint, end) reaching toward target, bending toward pole.

    Out-of-reach targets are approached along the straight line (the arm extends).
    """
    d = target - root
    dist = np.linalg.norm(d)
    u = _unit(d) if dist > 1e-9 else np.array([0.0, -1.0, 0.0])
    dist = float(np.clip(dist, abs(l1 - l2) + 1e-3, (l1 + l2) * 0.999))
    a = (l1 * l1 - l2 * l2 + dist * dist) / (2 * dist)
    h = np.sqrt(max(l1 * l1 - a * a, 0.0))
    p = np.asarray(pole, float) - np.dot(pole, u) * u
    p = _unit(p) if np.linalg.norm(p) > 1e-9 else _unit(np.cross(u, [1.0, 0.0, 0.0]))
    return root + a * u + h * p, root + dist * u


# --------------------------------------------------------------------------- parameters
SKIN = np.array(
    [
        [0.96, 0.80, 0.69],
        [0.91, 0.72, 0.58],
        [0.80, 0.59, 0.43],
        [0.66, 0.46, 0.32],
        [0.50, 0.34, 0.23],
        [0.36, 0.24, 0.16],
    ]
)
HAIR = np.array(
    [
        [0.07, 0.06, 0.05],
        [0.22, 0.14, 0.08],
        [0.42, 0.28, 0.15],
        [0.82, 0.68, 0.44],
        [0.62, 0.62, 0.62],
        [0.52, 0.24, 0.10],
    ]
)
TROUSERS = np.array(
    [
        [0.08, 0.08, 0.10],
        [0.12, 0.16, 0.32],
        [0.35, 0.35, 0.37],
        [0.70, 0.62, 0.48],
        [0.20, 0.22, 0.18],
        [0.25, 0.30, 0.55],
    ]
)


def _jitter(rng: np.random.Generator, rgb: np.ndarray, amount: float = 0.04) -> tuple[float, float, float]:
    return tuple(float(c) for c in np.clip(rgb + rng.normal(0, amount, 3), 0, 1))


def _hsv(rng: np.random.Generator, h: tuple, s: tuple, v: tuple) -> tuple[float, float, float]:
    return tuple(float(c) for c in colorsys.hsv_to_rgb(rng.uniform(*h) % 1.0, rng.uniform(*s), rng.uniform(*v)))


@dataclass(frozen=True)
class PerformerParams:
    """Everything fixed for one performer; poses at time t are derived from it.

    `motion` holds (amplitude, frequency Hz, phase rad) triples for the smooth
    sinusoidal movements; `inst` the instrument's size, colours and placement.
    """

    instrument: str
    height: float
    build: float
    shoulder: float
    hip: float
    head_scale: float
    skin: tuple
    hair: tuple
    hair_style: str
    shirt: tuple
    trousers: tuple
    shoes: tuple
    long_sleeves: bool
    seated: bool
    seat_style: str
    seat_colour: tuple
    lean_deg: float
    side_deg: float
    twist_deg: float
    head_turn_deg: float
    head_tilt_deg: float
    head_nod_deg: float
    knee_spread_deg: float
    elbow_out: float
    motion: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    inst: Mapping[str, Any] = field(default_factory=dict)


def performer_params(instrument: str, rng: np.random.Generator) -> PerformerParams:
    """Draw one performer's body, clothes, pose and instrument from `rng`."""
    if instrument not in INSTRUMENTS:
        raise ParameterError("instruments", f"no embedded performer for {instrument!r}; known: {list(INSTRUMENTS)}")
    u = rng.uniform
    height = float(u(1.55, 1.95))
    build = float(u(0.85, 1.25))
    seated = instrument in SEATED_ALWAYS or (instrument in ("violin", "saxophone") and u() < 0.3)
    shirt = _shirt_colour(rng)
    motion = _motion(u)
    inst = _instrument_params(instrument, u)
    # The keyword arguments are drawn in this order: keep it, or every seeded performer changes.
    return PerformerParams(
        instrument=instrument,
        height=height,
        build=build,
        shoulder=float(0.129 * height * u(0.93, 1.07) * (0.8 + 0.2 * build)),
        hip=float(0.052 * height * u(0.9, 1.15) * build),
        head_scale=float(u(0.94, 1.06)),
        skin=_jitter(rng, SKIN[rng.integers(len(SKIN))], 0.03),
        hair=_jitter(rng, HAIR[rng.integers(len(HAIR))], 0.03),
        hair_style=str(rng.choice(["short", "short", "long", "bun", "bald"])),
        shirt=shirt,
        trousers=_jitter(rng, TROUSERS[rng.integers(len(TROUSERS))], 0.03),
        shoes=_jitter(rng, np.array([0.08, 0.06, 0.05]) if u() < 0.7 else np.array([0.35, 0.2, 0.1]), 0.02),
        long_sleeves=bool(u() < 0.6),
        seated=seated,
        seat_style=str(rng.choice(["stool", "chair"])),
        seat_colour=_jitter(rng, np.array([0.1, 0.1, 0.1]) if u() < 0.5 else np.array([0.35, 0.22, 0.12]), 0.03),
        lean_deg=float(u(2, 9) if seated else u(-2, 5)) + (6.0 if instrument == "doublebass" else 0.0),
        side_deg=float(u(-3, 3)),
        twist_deg=float(u(-6, 6)),
        head_turn_deg=float(u(15, 30) if instrument == "violin" else u(-12, 12)),
        head_tilt_deg=float(u(8, 18) if instrument == "violin" else u(-5, 5)),
        head_nod_deg=float(u(6, 14) if instrument in ("violin", "cello", "guitar") else u(-4, 6)),
        knee_spread_deg=float(u(22, 32) if instrument == "cello" else u(6, 16)),
        elbow_out=float(u(0.3, 0.8)),
        motion=motion,
        inst=inst,
    )


def _shirt_colour(rng: np.random.Generator) -> tuple[float, float, float]:
    """Dark, white or coloured."""
    kind = rng.uniform()
    if kind < 0.2:
        return _hsv(rng, (0, 1), (0.0, 0.15), (0.05, 0.2))
    if kind < 0.36:
        return _hsv(rng, (0, 1), (0.0, 0.08), (0.85, 0.97))
    return _hsv(rng, (0, 1), (0.2, 0.8), (0.25, 0.9))


def _motion(u: Callable[..., Any]) -> dict[str, tuple[float, float, float]]:
    """(amplitude, frequency Hz, phase rad) of each smooth movement."""

    def wave(amp: tuple[float, float], hz: tuple[float, float]) -> tuple[float, float, float]:
        return (float(u(*amp)), float(u(*hz)), float(u(0, 2 * np.pi)))

    return dict(
        lean=wave((0.8, 2.5), (0.15, 0.45)),
        side=wave((0.5, 2.0), (0.12, 0.4)),
        twist=wave((0.5, 2.5), (0.1, 0.35)),
        head=wave((1.5, 4.0), (0.2, 0.5)),
        breath=wave((0.015, 0.03), (0.2, 0.33)),
        hand=wave((0.6, 1.0), (0.25, 0.6)),
        fret=wave((0.2, 0.45), (0.15, 0.4)),
        rock=wave((0.5, 1.5), (0.15, 0.4)),
    )


def _instrument_params(instrument: str, u: Callable[..., Any]) -> dict[str, Any]:
    """The instrument's size, colours and placement (angles in degrees, offsets in metres)."""
    inst: dict[str, Any] = dict(scale=float(u(0.97, 1.03)))
    wood = np.array([u(0.42, 0.62), u(0.18, 0.30), u(0.06, 0.13)])
    inst["wood"] = tuple(float(c) for c in wood)
    inst["wood_dark"] = tuple(float(c) for c in wood * 0.6)
    inst.update(_PLACEMENTS[instrument](u, wood))
    return inst


def _cello_placement(u: Callable[..., Any], wood: np.ndarray) -> dict[str, Any]:
    return dict(
        endpin=float(u(0.22, 0.30)),
        tilt=float(u(18, 28)),
        side=float(u(8, 14)),
        yaw=float(u(-12, 12)),
        z=float(u(0.5, 0.6)),
        bow_mid=0.28,
        bow_amp=float(u(0.12, 0.17)),
    )


def _doublebass_placement(u: Callable[..., Any], wood: np.ndarray) -> dict[str, Any]:
    return dict(
        endpin=float(u(0.10, 0.18)),
        tilt=float(u(10, 18)),
        side=float(u(0, 3)),
        yaw=float(u(-25, -5)),
        x=float(u(0.10, 0.18)),
        z=float(u(0.30, 0.38)),
        arco=bool(u() < 0.6),
        bow_mid=0.27,
        bow_amp=float(u(0.10, 0.15)),
    )


def _guitar_placement(u: Callable[..., Any], wood: np.ndarray) -> dict[str, Any]:
    return dict(
        elevation=float(u(15, 35)),
        forward=float(u(5, 22)),
        x=float(u(-0.17, -0.08)),
        top=tuple(float(c) for c in (np.array([u(0.78, 0.9), u(0.58, 0.68), u(0.33, 0.42)]) if u() < 0.7 else wood)),
    )


def _saxophone_placement(u: Callable[..., Any], wood: np.ndarray) -> dict[str, Any]:
    tenor = bool(u() < 0.5)
    return dict(
        tenor=tenor,
        scale=float(u(0.97, 1.03)) * (1.0 if tenor else 0.8),  # an alto is smaller
        side=float(u(15, 28) if tenor else u(5, 15)),
        forward=float(u(15, 30)),
        yaw=float(u(-20, 10)),
        brass=(float(u(0.80, 0.92)), float(u(0.62, 0.74)), float(u(0.18, 0.30))),
    )


def _violin_placement(u: Callable[..., Any], wood: np.ndarray) -> dict[str, Any]:
    return dict(
        heading=float(u(35, 50)),
        elevation=float(u(0, 12)),
        roll=float(u(15, 30)),
        bow_mid=0.3,
        bow_amp=float(u(0.14, 0.2)),
    )


_PLACEMENTS = {
    "cello": _cello_placement,
    "doublebass": _doublebass_placement,
    "guitar": _guitar_placement,
    "saxophone": _saxophone_placement,
    "violin": _violin_placement,
}


def _osc(p: PerformerParams, name: str, t: float) -> float:
    amp, hz, phase = p.motion[name]
    return amp * np.sin(2 * np.pi * hz * t + phase)


# --------------------------------------------------------------------------- instruments (local frames)
def _violin_family(
    parts: MeshParts,
    length: float,
    lower: float,
    upper: float,
    waist: float,
    depth: float,
    arch: float,
    neck: float,
    y0: float,
    wood: tuple,
    dark: tuple,
) -> dict[str, Vec]:
    """Body, neck, fingerboard, bridge, tailpiece and scroll; local y along the neck, z out of the top plate.

    Returns anchor points (local) used to place hands and the bow.
    """
    black = (0.07, 0.06, 0.05)
    d2 = depth / 2
    for cy, rx, ry in (
        (y0 + 0.29 * length, lower / 2, 0.29 * length),
        (y0 + 0.53 * length, waist / 2, 0.16 * length),
        (y0 + 0.76 * length, upper / 2, 0.24 * length),
    ):
        parts.tube((0, cy, -d2), (0, cy, d2), (rx, ry), None, wood)
        for side in (-1, 1):  # arched plates, the back a little darker
            parts.ellipsoid((0, cy, side * d2), (rx * 0.92, ry * 0.92, arch), wood if side > 0 else dark)
    top = d2 + arch
    for sx in (-1, 1):  # f-holes
        parts.box((sx * lower * 0.17, y0 + 0.47 * length, top - 0.2 * arch), (0.006, 0.16 * length, 0.006), black)
    bridge_h = 0.25 * depth + 0.5 * arch
    parts.box((0, y0 + 0.42 * length, top + bridge_h / 2), (0.42 * waist, 0.008, bridge_h), (0.85, 0.7, 0.5))
    parts.box((0, y0 + 0.2 * length, top + 0.35 * bridge_h), (0.12 * lower, 0.3 * length, 0.35 * bridge_h), black)
    y_neck = y0 + length
    nw = 0.09 * lower
    parts.box((0, y_neck + neck / 2, top - 0.02 * length), (nw, neck, 0.06 * length), dark)
    fb0, fb1 = y0 + 0.62 * length, y_neck + neck
    parts.box((0, (fb0 + fb1) / 2, top + bridge_h * 0.55), (nw * 1.15, fb1 - fb0, 0.02 * length), black)
    box_len = 0.55 * neck
    parts.box((0, fb1 + box_len / 2, top - 0.01 * length), (nw * 0.9, box_len, 0.1 * length), dark)
    parts.ellipsoid(
        (0, fb1 + box_len + 0.05 * length, top - 0.01 * length), (nw * 0.55, 0.07 * length, 0.08 * length), dark
    )
    return dict(
        contact=np.array([0.0, y0 + 0.5 * length, top + bridge_h * 0.8]),
        neck_lo=np.array([0.0, y_neck + 0.15 * neck, top]),
        neck_hi=np.array([0.0, y_neck + 0.85 * neck, top]),
        top=np.array([top]),
        tip=np.array([0.0, fb1 + box_len + 0.12 * length, 0.0]),
    )


def _bow(parts: MeshParts, frog: Vec, toward: Vec, length: float, k: float) -> None:
    """A bow from the frog (in the hand) along `toward`: stick, hair ribbon, frog."""
    tip = frog + _unit(toward) * length
    parts.tube(frog, tip, 0.0055 * k, 0.004 * k, (0.30, 0.16, 0.07))
    off = np.array([0.0, -0.012, 0.0])
    parts.tube(frog + off, tip + off * 0.4, 0.004 * k, 0.003 * k, (0.92, 0.90, 0.82))
    parts.sphere(frog + off * 0.5, 0.014 * k, (0.08, 0.07, 0.06))


def _build_string_instrument(p: PerformerParams, kind: str) -> tuple[MeshParts, dict[str, Vec]]:
    s, wood, dark = p.inst["scale"], p.inst["wood"], p.inst["wood_dark"]
    parts = MeshParts()
    if kind == "cello":
        y0 = p.inst["endpin"]
        a = _violin_family(
            parts, 0.75 * s, 0.44 * s, 0.345 * s, 0.235 * s, 0.12 * s, 0.02 * s, 0.28 * s, y0, wood, dark
        )
    elif kind == "doublebass":
        y0 = p.inst["endpin"]
        a = _violin_family(parts, 1.10 * s, 0.66 * s, 0.52 * s, 0.38 * s, 0.19 * s, 0.025 * s, 0.38 * s, y0, wood, dark)
    else:  # violin: origin at the end button, no endpin
        y0 = 0.0
        a = _violin_family(
            parts, 0.355 * s, 0.205 * s, 0.165 * s, 0.11 * s, 0.035 * s, 0.012 * s, 0.13 * s, y0, wood, dark
        )
        parts.ellipsoid((0.05 * s, 0.05 * s, a["top"][0]), (0.045 * s, 0.04 * s, 0.012 * s), (0.07, 0.06, 0.05))
    if y0 > 0:  # endpin to the floor
        parts.tube((0, 0, 0), (0, y0 + 0.01, 0), 0.006, 0.012, (0.55, 0.55, 0.58))
    return parts, a


def _build_guitar(p: PerformerParams) -> tuple[MeshParts, dict[str, Vec]]:
    """Guitar with local y along the neck (toward the head) and z out of the top; origin at the tail."""
    s, dark, top_col = p.inst["scale"], p.inst["wood_dark"], p.inst["top"]
    length, depth = 0.49 * s, 0.10 * s
    parts = MeshParts()
    for cy, rx, ry in (
        (0.3 * length, 0.185 * s, 0.3 * length),
        (0.55 * length, 0.125 * s, 0.15 * length),
        (0.77 * length, 0.14 * s, 0.23 * length),
    ):
        parts.tube((0, cy, -depth / 2), (0, cy, depth / 2 - 0.004), (rx, ry), None, dark)
        parts.tube((0, cy, depth / 2 - 0.004), (0, cy, depth / 2), (rx, ry), None, top_col)
    black = (0.05, 0.04, 0.04)
    parts.tube((0, 0.62 * length, depth / 2 - 0.001), (0, 0.62 * length, depth / 2 + 0.002), 0.043 * s, None, black)
    parts.box((0, 0.2 * length, depth / 2 + 0.006), (0.16 * s, 0.03 * s, 0.012 * s), dark)
    neck = 0.45 * s
    y1 = length + neck
    parts.box((0, length + neck / 2, depth / 2 - 0.02 * s), (0.052 * s, neck + 0.02, 0.04 * s), dark)
    parts.box(
        (0, 0.85 * length + (y1 - 0.85 * length) / 2, depth / 2 + 0.004),
        (0.056 * s, y1 - 0.85 * length, 0.008 * s),
        black,
    )
    head = _rot("x", -12)
    parts.box(
        np.array([0, y1, depth / 2 - 0.02 * s]) + head @ [0, 0.095 * s, 0], (0.085 * s, 0.19 * s, 0.02 * s), dark, head
    )
    return parts, dict(
        strum=np.array([0.0, 0.5 * length, depth / 2 + 0.035]),
        centre=np.array([0.0, 0.5 * length, 0.0]),
        neck_lo=np.array([0.0, length + 0.4 * neck, 0.0]),
        neck_hi=np.array([0.0, length + 0.95 * neck, 0.0]),
        half_depth=np.array([depth / 2]),
        width=np.array([0.185 * s]),
    )


def _build_saxophone(p: PerformerParams) -> tuple[MeshParts, dict[str, Vec]]:
    """Saxophone with local y up the body tube, the bell toward +z, the mouthpiece toward -z (the player)."""
    s, brass = p.inst["scale"], p.inst["brass"]
    parts = MeshParts()
    lb, rb = 0.62 * s, 0.065 * s
    parts.tube((0, 0, 0), (0, lb, 0), 0.045 * s, 0.015 * s, brass)
    arc = [np.array([0.0, -rb * np.sin(f), rb - rb * np.cos(f)]) for f in np.linspace(0, np.pi, 7)]
    for q0, q1 in zip(arc[:-1], arc[1:]):  # the U-shaped bow at the bottom
        parts.limb(q0, q1, 0.046 * s, 0.047 * s, brass)
    b0 = arc[-1]
    b1 = b0 + np.array([0.0, 0.30 * s, 0.03 * s])
    parts.tube(b0, b1, 0.048 * s, 0.055 * s, brass)
    bell_dir = _unit(np.array([0.0, 1.0, 0.55]))
    b2 = b1 + bell_dir * 0.11 * s
    parts.tube(b1, b2, 0.055 * s, 0.078 * s, brass)
    parts.tube(b2 - bell_dir * 0.002, b2 + bell_dir * 0.001, 0.07 * s, None, tuple(0.45 * c for c in brass))
    pearl = (0.93, 0.9, 0.84)
    for y in np.linspace(0.3, 0.82, 6) * lb:  # finger buttons on the front
        r = 0.045 * s + (0.015 * s - 0.045 * s) * y / lb
        parts.sphere((0.0, y, r + 0.006), 0.009 * s, pearl)
        parts.tube((0, y, 0), (0, y, r + 0.004), 0.004 * s, None, brass)
    neck = [
        np.array([0.0, lb, 0.0]),
        np.array([0.0, lb + 0.08 * s, -0.02 * s]),
        np.array([0.0, lb + 0.13 * s, -0.08 * s]),
        np.array([0.0, lb + 0.145 * s, -0.15 * s]),
    ]
    for q0, q1 in zip(neck[:-1], neck[1:]):
        parts.limb(q0, q1, 0.014 * s, 0.011 * s, brass)
    tip = np.array([0.0, lb + 0.155 * s, -0.23 * s])
    parts.tube(neck[-1], tip, 0.012 * s, 0.008 * s, (0.05, 0.05, 0.05))
    return parts, dict(
        mouth=tip, left=np.array([0.03 * s, 0.74 * lb, -0.035 * s]), right=np.array([0.035 * s, 0.36 * lb, -0.045 * s])
    )


def _build_seat(parts: MeshParts, p: PerformerParams, seat_y: float, z: float) -> None:
    col = p.seat_colour
    metal = (0.5, 0.5, 0.52)
    if p.seat_style == "stool":
        parts.tube((0, seat_y - 0.05, z), (0, seat_y, z), 0.19, None, col)
        for a in (45, 135, 225, 315):
            d = _rot("y", a) @ np.array([0.0, 0.0, 0.16])
            parts.tube((d[0], 0, z + d[2]), (d[0] * 0.6, seat_y - 0.05, z + d[2] * 0.6), 0.014, None, metal)
    else:
        parts.box((0, seat_y - 0.025, z), (0.44, 0.05, 0.42), col)
        for sx in (-0.19, 0.19):
            for sz in (-0.18, 0.18):
                parts.tube((sx, 0, z + sz), (sx, seat_y - 0.05, z + sz), 0.015, None, col)
        parts.box((0, seat_y + 0.25, z - 0.2), (0.42, 0.35, 0.03), col, _rot("x", -8))


# --------------------------------------------------------------------------- the performer at time t
def _head(parts: MeshParts, p: PerformerParams, neck_base: Vec, r_head: np.ndarray, k: float) -> Vec:
    """Neck, head, face features and hair; returns the head centre."""
    hs = k * p.head_scale
    centre = neck_base + r_head @ np.array([0.0, 0.155 * hs, 0.012 * hs])
    radii = np.array([0.075, 0.105, 0.092]) * hs
    parts.tube(
        neck_base - r_head @ [0, 0.02 * k, 0], centre - r_head @ [0, 0.06 * hs, 0.01 * hs], 0.052 * k, 0.048 * k, p.skin
    )
    parts.ellipsoid(centre, radii, p.skin, r_head)
    darker = tuple(0.85 * c for c in p.skin)
    parts.ellipsoid(
        centre + r_head @ (np.array([0.0, -0.012, 0.088]) * hs), np.array([0.014, 0.024, 0.022]) * hs, darker, r_head
    )
    for sx in (-1, 1):
        parts.sphere(centre + r_head @ (np.array([0.03 * sx, 0.022, 0.078]) * hs), 0.011 * hs, (0.1, 0.08, 0.07))
        parts.ellipsoid(
            centre + r_head @ (np.array([0.074 * sx, 0.0, 0.0]) * hs), np.array([0.01, 0.03, 0.02]) * hs, darker, r_head
        )
    if p.hair_style != "bald":  # a cap over the top, and the back and sides down to the nape
        parts.ellipsoid(
            centre + r_head @ (np.array([0.0, 0.035, -0.02]) * hs), np.array([0.081, 0.079, 0.093]) * hs, p.hair, r_head
        )
        parts.ellipsoid(
            centre + r_head @ (np.array([0.0, -0.01, -0.03]) * hs), np.array([0.079, 0.097, 0.075]) * hs, p.hair, r_head
        )
    if p.hair_style == "long":
        parts.ellipsoid(
            centre + r_head @ (np.array([0.0, -0.09, -0.06]) * hs), np.array([0.085, 0.16, 0.05]) * hs, p.hair, r_head
        )
    elif p.hair_style == "bun":
        parts.sphere(centre + r_head @ (np.array([0.0, 0.07, -0.09]) * hs), 0.045 * hs, p.hair)
    return centre


def _arm(parts: MeshParts, p: PerformerParams, shoulder: Vec, target: Vec, pole: Vec, k: float) -> None:
    """Upper arm, forearm and hand reaching the palm position `target`."""
    b = k * p.build
    ua, fa, palm = 0.186 * p.height, 0.146 * p.height, 0.05 * p.height
    elbow, reach = _ik(shoulder, target, ua, fa + palm, pole)
    d = _unit(reach - elbow)
    wrist = elbow + d * fa
    sleeve = p.shirt if p.long_sleeves else p.skin
    parts.limb(shoulder, elbow, 0.05 * b, 0.04 * b, p.shirt)
    parts.limb(elbow, wrist, 0.04 * b, 0.03 * b, sleeve, joint=False)
    parts.ellipsoid(wrist + d * 0.05 * k, np.array([0.045, 0.02, 0.06]) * k, p.skin, _frame(d, np.cross(d, pole)))


def _leg(parts: MeshParts, p: PerformerParams, hip: Vec, knee: Vec, ankle: Vec, k: float) -> None:
    b = k * p.build
    parts.limb(hip, knee, 0.08 * b, 0.055 * b, p.trousers)
    parts.limb(knee, ankle, 0.05 * b, 0.04 * b, p.trousers)
    toe = np.array([ankle[0], 0.035 * k, ankle[2] + 0.08 * k])
    parts.box(toe, np.array([0.095, 0.07, 0.26]) * k, p.shoes)


# Body proportions. Lengths along the body are fractions of the stature H; sizes across
# it are metres for a body of REFERENCE_STATURE_M, scaled by k = H / REFERENCE_STATURE_M
# (widths and depths also by the build: b = k * build).
REFERENCE_STATURE_M = 1.75
THIGH_H = 0.245  # hip joint to knee
SHIN_H = 0.246  # knee to ankle
ANKLE_H = 0.04  # ankle joint above the floor
TORSO_H = 0.288  # hip joints to the shoulder line
STANDING_LEG_EXTENSION = 0.99  # standing hip height over the full leg length: knees almost straight
STANDING_STANCE_M = 0.05  # feet this much wider apart than the hips (k)
STANDING_TOE_OUT_M = 0.02  # each ankle this much forward on its side (feet turned out)
SEATED_KNEE_RISE = 0.985  # seated knee above the ankle as a fraction of the shin (shins near vertical)
SEATED_THIGH_DROP_DEG = 4.0  # seated thighs slope down toward the knees
SEATED_PELVIS_Z_M = -0.05  # seated hip joints behind the origin (the seat is under them)
SEAT_BELOW_HIP_M = 0.075  # seat surface below the hip joints (k)
SEAT_BEHIND_HIP_M = 0.05  # seat centre behind the hip joints
SEATED_SHIN_SLOPE = (0.3, 1.0)  # vertical share of the shin: a knee too low pushes the foot forward
PELVIS_RAISE_M = 0.03  # pelvis ellipsoid centre above the hip joints (k)
PELVIS_RADII_M = (0.08, 0.11, 0.11)  # beyond the hip width (b), height (k), depth (b)
WAIST_RISE_M, WAIST_RADII_M = 0.04, (0.07, 0.105)  # torso tube start above the hips (k); width beyond hips, depth (b)
SHOULDER_TUBE_OVER_M = 0.01  # torso tube end above the shoulder line (k)
TOP_WIDTH_OF_SHOULDERS, TOP_DEPTH_M = 0.85, 0.1  # torso tube top: half width (x shoulder), depth (b)
CHEST_BELOW_M, CHEST_FORWARD_M = 0.11, 0.015  # chest centre below the shoulder line, in front (k)
CHEST_WIDTH_OF_SHOULDERS, CHEST_HEIGHT_M, CHEST_DEPTH_M = 0.92, 0.15, 0.115  # (x shoulder, k, b)
SHOULDER_JOINT_BELOW_M, SHOULDER_JOINT_BACK_M = 0.02, 0.005  # below the shoulder line (k), behind (m)
SHOULDER_RADIUS_M = 0.055  # (b)
NECK_BASE_OVER_M = 0.04  # base of the neck above the shoulder line (k)
HEAD_TURN_SHARE = 0.5  # the head's sway turns it by half its nod


@dataclass(frozen=True)
class _Pose:
    """The body at time t, as the instrument and the hands are placed against it."""

    pelvis: Vec
    r_up: np.ndarray  # the torso's frame: lean (forward +), side bend (to the left +), twist (to the left +)
    torso_len: float
    lean_deg: float
    shoulders: Mapping[int, Vec]  # -1: right, 1: left
    head: Vec
    r_head: np.ndarray

    def up(self, v) -> Vec:
        """A point of the torso's frame (origin at the hip joints) in world coordinates."""
        return self.pelvis + self.r_up @ np.asarray(v, float)


@dataclass(frozen=True)
class _Hands:
    """The playing motion at time t."""

    rock: float  # the instrument rocking with the music
    wave: float  # in [-1, 1] * amplitude: bowing / strumming phase
    fret: float  # slow left-hand travel along the neck, in [0, 1]
    right_pole: Vec  # where the right elbow points


def build_performer_mesh(
    instrument: str, rng_or_params: np.random.Generator | PerformerParams, t: float = 0.0
) -> trimesh.Trimesh:
    """The performer with instrument at time t (seconds), as one mesh with face colours.

    Pass a Generator to draw a new performer, or the PerformerParams of an
    existing one to re-pose it (the body is the same, only the motion differs).
    """
    p = rng_or_params if isinstance(rng_or_params, PerformerParams) else performer_params(instrument, rng_or_params)
    if p.instrument != instrument:
        raise ParameterError("instrument", f"parameters are for {p.instrument!r}, not {instrument!r}")
    k = p.height / REFERENCE_STATURE_M
    parts = MeshParts()
    pelvis = _lower_body(parts, p, k)
    pose = _upper_body(parts, p, pelvis, t, k)
    hands = _Hands(
        rock=_osc(p, "rock", t),
        wave=_osc(p, "hand", t),
        fret=0.5 + _osc(p, "fret", t),
        right_pole=np.array([-p.elbow_out, -1.0, -0.2]),
    )
    _PLAY[instrument](parts, p, pose, hands, k)
    return parts.to_trimesh()


def _lower_body(parts: MeshParts, p: PerformerParams, k: float) -> Vec:
    """Seat (when seated), legs and pelvis; returns the point between the hip joints."""
    H, b = p.height, k * p.build
    thigh, shin, ankle_h = THIGH_H * H, SHIN_H * H, ANKLE_H * H
    if p.seated:
        drop = np.radians(SEATED_THIGH_DROP_DEG)
        pelvis = np.array([0.0, ankle_h + SEATED_KNEE_RISE * shin + thigh * np.sin(drop), SEATED_PELVIS_Z_M])
        seat_y = pelvis[1] - SEAT_BELOW_HIP_M * k
        _build_seat(parts, p, seat_y, pelvis[2] - SEAT_BEHIND_HIP_M)
        for side in (-1, 1):
            hip = pelvis + [side * p.hip, 0, 0]
            a = np.radians(p.knee_spread_deg)
            knee = hip + thigh * np.array([side * np.sin(a) * np.cos(drop), -np.sin(drop), np.cos(a) * np.cos(drop)])
            c = np.clip((knee[1] - ankle_h) / shin, *SEATED_SHIN_SLOPE)
            _leg(parts, p, hip, knee, knee + shin * np.array([0.0, -c, np.sqrt(1 - c * c)]), k)
    else:
        stance = p.hip + STANDING_STANCE_M * k
        pelvis = np.array([0.0, ankle_h + STANDING_LEG_EXTENSION * (thigh + shin), 0.0])
        for side in (-1, 1):
            hip = pelvis + [side * p.hip, 0, 0]
            ankle = np.array([side * stance, ankle_h, STANDING_TOE_OUT_M * side])
            knee, ankle = _ik(hip, ankle, thigh, shin, np.array([0.0, 0.0, 1.0]))
            _leg(parts, p, hip, knee, ankle, k)
    rx, ry, rz = PELVIS_RADII_M
    parts.ellipsoid(pelvis + [0, PELVIS_RAISE_M * k, 0], np.array([p.hip + rx * b, ry * k, rz * b]), p.trousers)
    return pelvis


def _upper_body(parts: MeshParts, p: PerformerParams, pelvis: Vec, t: float, k: float) -> _Pose:
    """Torso, shoulders and head, leaning, bending, twisting and breathing at time t."""
    b = k * p.build
    lean = p.lean_deg + _osc(p, "lean", t)
    side = p.side_deg + _osc(p, "side", t)
    twist = p.twist_deg + _osc(p, "twist", t)
    r_up = _rot("y", twist) @ _rot("z", -side) @ _rot("x", lean)
    up = lambda v: pelvis + r_up @ np.asarray(v, float)  # noqa: E731 - local torso frame -> world
    torso_len = TORSO_H * p.height
    breath = 1.0 + _osc(p, "breath", t)
    parts.tube(
        up([0, WAIST_RISE_M * k, 0]),
        up([0, torso_len + SHOULDER_TUBE_OVER_M * k, 0]),
        (p.hip + WAIST_RADII_M[0] * b, WAIST_RADII_M[1] * b),
        (p.shoulder * TOP_WIDTH_OF_SHOULDERS, TOP_DEPTH_M * b * breath),
        p.shirt,
        r_up @ [1.0, 0, 0],
    )
    parts.ellipsoid(
        up([0, torso_len - CHEST_BELOW_M * k, CHEST_FORWARD_M * k]),
        (p.shoulder * CHEST_WIDTH_OF_SHOULDERS, CHEST_HEIGHT_M * k, CHEST_DEPTH_M * b * breath),
        p.shirt,
        r_up,
    )
    shoulders = {
        s: up([s * p.shoulder, torso_len - SHOULDER_JOINT_BELOW_M * k, -SHOULDER_JOINT_BACK_M]) for s in (-1, 1)
    }
    for s_pt in shoulders.values():
        parts.sphere(s_pt, SHOULDER_RADIUS_M * b, p.shirt)
    neck_base = up([0, torso_len + NECK_BASE_OVER_M * k, 0])
    head_wave = _osc(p, "head", t)
    r_head = (
        r_up
        @ _rot("y", p.head_turn_deg + HEAD_TURN_SHARE * head_wave)
        @ _rot("x", p.head_nod_deg + head_wave)
        @ _rot("z", -p.head_tilt_deg)
    )
    head = _head(parts, p, neck_base, r_head, k)
    return _Pose(pelvis, r_up, torso_len, lean, shoulders, head, r_head)


def _play_low_strings(parts: MeshParts, p: PerformerParams, pose: _Pose, hands: _Hands, k: float) -> None:
    """Cello or double bass on its endpin in front of the player, bowed (or the bass plucked)."""
    inst, rock, shoulders = p.inst, hands.rock, pose.shoulders
    local, a = _build_string_instrument(p, p.instrument)
    foot = np.array([0.0, 0.0, inst["z"]]) if p.instrument == "cello" else np.array([inst["x"], 0.0, inst["z"]])
    # turn about its own axis, then lean back toward the player and to the player's left
    r_i = _rot("z", -inst["side"] - 0.3 * rock) @ _rot("x", -inst["tilt"] + 0.3 * rock) @ _rot("y", inst["yaw"])
    parts.extend(local, r_i, foot)
    world = lambda v: foot + r_i @ np.asarray(v, float)  # noqa: E731
    left_t = world(a["neck_lo"] + hands.fret * (a["neck_hi"] - a["neck_lo"]) * 0.6 + [0.03, 0.0, -0.03])
    _arm(parts, p, shoulders[1], left_t, np.array([p.elbow_out, -0.6, 0.5]), k)  # elbow out and forward
    if p.instrument == "doublebass" and not inst["arco"]:  # pizzicato near the end of the fingerboard
        pluck = a["contact"] + [0.0, 0.16 * inst["scale"] + 0.03 * hands.wave, 0.03]
        _arm(parts, p, shoulders[-1], world(pluck), hands.right_pole, k)
    else:
        bow_dir = r_i @ _unit(np.array([-1.0, -0.25, 0.25]))  # toward the player's right, slightly down
        frog = world(a["contact"]) + bow_dir * (inst["bow_mid"] + inst["bow_amp"] * hands.wave)
        _arm(parts, p, shoulders[-1], frog, hands.right_pole, k)
        _bow(parts, frog, -bow_dir, 0.72 * k if p.instrument == "cello" else 0.7 * k, k)


def _play_violin(parts: MeshParts, p: PerformerParams, pose: _Pose, hands: _Hands, k: float) -> None:
    """The violin on the left shoulder, pointing forward-left, bowed with the right hand."""
    inst = p.inst
    local, a = _build_string_instrument(p, "violin")
    h, e = np.radians(inst["heading"] + 0.5 * hands.rock), np.radians(inst["elevation"])
    f = np.array([np.sin(h) * np.cos(e), np.sin(e), np.cos(h) * np.cos(e)])
    n0 = _unit(np.array([0.0, 1.0, 0.0]) - f[1] * f)
    r_roll = trimesh.transformations.rotation_matrix(np.radians(inst["roll"]), f)[:3, :3]
    n = r_roll @ n0
    if n[0] > 0:  # roll the top toward the player's right (the bow side)
        n = trimesh.transformations.rotation_matrix(-np.radians(inst["roll"]), f)[:3, :3] @ n0
    r_i = np.column_stack([np.cross(f, n), f, n])
    base = pose.up([0.06 * k, pose.torso_len + 0.03 * k, 0.07 * k]) - n * 0.02  # under the chin
    parts.extend(local, r_i, base)
    world = lambda v: base + r_i @ np.asarray(v, float)  # noqa: E731
    left_t = world(a["neck_lo"] + hands.fret * (a["neck_hi"] - a["neck_lo"]) * 0.5 + [0, 0, -0.03])
    _arm(parts, p, pose.shoulders[1], left_t, np.array([-0.3, -1.0, 0.0]), k)
    bow_dir = r_i[:, 0] if r_i[0, 0] < 0 else -r_i[:, 0]
    bow_dir = _unit(bow_dir + 0.15 * n)
    frog = world(a["contact"]) + bow_dir * (inst["bow_mid"] + inst["bow_amp"] * hands.wave)
    _arm(parts, p, pose.shoulders[-1], frog, hands.right_pole, k)
    _bow(parts, frog, -bow_dir, 0.74 * k, k)


def _play_guitar(parts: MeshParts, p: PerformerParams, pose: _Pose, hands: _Hands, k: float) -> None:
    """The guitar on the lap, neck to the player's left, strummed with the right hand."""
    inst, b = p.inst, k * p.build
    local, a = _build_guitar(p)
    el, fw = np.radians(inst["elevation"] + 0.5 * hands.rock), inst["forward"]
    f0 = np.array([np.cos(el), np.sin(el), 0.0])
    r_i = _rot("y", -fw) @ np.column_stack([np.cross(f0, [0.0, 0.0, 1.0]), f0, [0.0, 0.0, 1.0]])
    lap_top = pose.pelvis[1] + 0.07 * b
    centre = np.array(
        [
            inst["x"],
            lap_top + a["width"][0] * np.cos(el) * 0.9,
            pose.pelvis[2] + 0.1 * b + a["half_depth"][0] + 0.06 + 0.3 * np.sin(np.radians(pose.lean_deg)),
        ]
    )
    origin = centre - r_i @ a["centre"]
    parts.extend(local, r_i, origin)
    world = lambda v: origin + r_i @ np.asarray(v, float)  # noqa: E731
    strum = world(a["strum"] + [0.035 * hands.wave, 0.0, 0.0])
    _arm(parts, p, pose.shoulders[-1], strum, np.array([-0.6, 0.3, -1.0]), k)
    left_t = world(a["neck_lo"] + hands.fret * (a["neck_hi"] - a["neck_lo"]) + [0.0, 0.0, -0.03])
    _arm(parts, p, pose.shoulders[1], left_t, np.array([0.2, -1.0, 0.3]), k)


def _play_saxophone(parts: MeshParts, p: PerformerParams, pose: _Pose, hands: _Hands, k: float) -> None:
    """The saxophone hanging from the mouthpiece at the lips, both hands on its keys."""
    inst = p.inst
    local, a = _build_saxophone(p)
    r_i = _rot("y", inst["yaw"]) @ _rot("z", -inst["side"] + hands.rock) @ _rot("x", -inst["forward"])
    mouth = pose.head + pose.r_head @ (np.array([0.0, -0.055, 0.09]) * k)
    origin = mouth - r_i @ a["mouth"]
    parts.extend(local, r_i, origin)
    world = lambda v: origin + r_i @ np.asarray(v, float)  # noqa: E731
    _arm(parts, p, pose.shoulders[1], world(a["left"]), np.array([0.8, -1.0, -0.3]), k)
    right = world(a["right"] + [0.0, 0.01 * hands.wave, 0.0])
    _arm(parts, p, pose.shoulders[-1], right, np.array([-0.8, -1.0, -0.5]), k)


_PLAY = {
    "cello": _play_low_strings,
    "doublebass": _play_low_strings,
    "violin": _play_violin,
    "guitar": _play_guitar,
    "saxophone": _play_saxophone,
}


# --------------------------------------------------------------------------- the data set
def _performer_seed(seed: int, instrument: str, index: int) -> int:
    """Stable per-performer seed: independent of the order and number of performers generated."""
    return int(np.random.SeedSequence([seed, zlib.crc32(instrument.encode()), index]).generate_state(1)[0])


def generate_performers(
    out_dir: Path,
    instruments: list[str],
    performers_per_instrument: int,
    frames_per_performer: int,
    seed: int,
    camera: Camera,
    fps: float,
) -> pd.DataFrame:
    """Write out_dir/<instrument>/<performer>/<frame:05d>.ply and out_dir/manifest.csv.

    Frame i is the pose at t = i / fps, filmed by `camera`. The manifest's `seed`
    column regenerates a performer: performer_params(instrument, default_rng(seed)).
    """
    out_dir = Path(out_dir)
    if not instruments:
        raise ParameterError("instruments", "need at least one instrument")
    unknown = [i for i in instruments if i not in INSTRUMENTS]
    if unknown:
        raise ParameterError("instruments", f"no embedded performer for {unknown}; known: {list(INSTRUMENTS)}")
    if len(set(instruments)) != len(instruments):
        raise ParameterError("instruments", f"duplicates in {instruments}")
    if int(performers_per_instrument) < 1:
        raise ParameterError("performers_per_instrument", f"must be >= 1, got {performers_per_instrument}")
    if int(frames_per_performer) < 1:
        raise ParameterError("frames_per_performer", f"must be >= 1, got {frames_per_performer}")
    if not fps > 0:
        raise ParameterError("fps", f"must be > 0, got {fps}")
    rows = []
    jobs = [(inst, i) for inst in instruments for i in range(int(performers_per_instrument))]
    for inst, i in tqdm(jobs, desc="performers", unit="performer", disable=None):
        pseed = _performer_seed(int(seed), inst, i)
        performer = performer_params(inst, np.random.default_rng(pseed))
        name = f"{inst}_p{i:02d}"
        counts = []
        for frame in range(int(frames_per_performer)):
            mesh = build_performer_mesh(inst, performer, frame / fps)
            cloud = camera_sample(mesh, np.random.default_rng([pseed, frame]), camera)
            if len(cloud) == 0:
                raise ParameterError("camera", f"performer {name} frame {frame} is outside the camera's view")
            write_ply(out_dir / inst / name / f"{frame:05d}.ply", cloud)
            counts.append(len(cloud))
        rows.append(
            dict(
                performer=name,
                instrument=inst,
                frames=int(frames_per_performer),
                points_mean=float(np.mean(counts)),
                height_m=round(performer.height, 4),
                seed=pseed,
            )
        )
    table = pd.DataFrame(rows, columns=["performer", "instrument", "frames", "points_mean", "height_m", "seed"])
    with atomic_path(out_dir / "manifest.csv") as tmp:
        table.to_csv(tmp, index=False)
    return table


def performer_cloud(
    instrument: str, performer: PerformerParams, t: float, rng: np.random.Generator, camera: Camera
) -> PointCloud:
    """One frame of one performer as the camera sees it (no file written)."""
    return camera_sample(build_performer_mesh(instrument, performer, t), rng, camera)
