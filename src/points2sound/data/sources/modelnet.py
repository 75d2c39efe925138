"""Pre-training shapes: ModelNet40 (Princeton), OFF meshes sampled into point clouds.

The official archive (ModelNet40/<class>/{train,test}/<class>_<nnnn>.off) is read
member by member after the archive's names are all checked (no extraction to disk
needed). OFF files are parsed leniently: ModelNet40 has files whose first line runs
the `OFF` keyword into the counts (`OFF490 518 0`), comment and blank lines, and
polygons with more than three corners (fan-triangulated). Points are drawn
uniformly on each mesh's surface (area-weighted, seeded per shape), centred and
scaled to a bounding-sphere radius of `radius_m`, and written in the pre-training
layout of the embedded shapes: shapes/<class>/<shape>.ply and
shapes/splits/{train,test}.csv (columns shape, class, path), using ModelNet's own
train/test split.
"""

from __future__ import annotations

import io
import logging
import re
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from ...atomic import atomic_dir, atomic_path
from ...errors import InputFileError
from ...geometry.pointcloud import PointCloud, write_ply
from ...settings.sources import FetchOptions, ModelNetSource, RemoteFile
from .extract import check_archive, iter_members
from .remote import fetch_remote

log = logging.getLogger(__name__)
NAME = "modelnet40"


class OffError(InputFileError):
    """An OFF file that cannot be parsed even leniently."""


def remote_files(cfg: ModelNetSource) -> list[RemoteFile]:
    return [cfg.remote]


def targets(cfg: ModelNetSource, root: Path) -> list[Path]:
    return [root / "shapes"]


def parse_off(text: str, where: str | Path = "<off>") -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V, 3) float64, triangles (F, 3) int64) from OFF text, tolerating ModelNet's quirks."""
    lines = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    if not lines or not lines[0].upper().startswith(("OFF", "COFF", "NOFF", "CNOFF")):
        raise OffError(Path(str(where)), "not an OFF file (no OFF keyword)")
    head = re.sub(r"^[A-Za-z]*OFF", "", lines[0], flags=re.IGNORECASE).split()
    rest = lines[1:]
    if not head:  # the usual layout: counts on the next line
        if not rest:
            raise OffError(Path(str(where)), "OFF header has no vertex/face counts")
        head, rest = rest[0].split(), rest[1:]
    try:
        nv, nf = int(head[0]), int(head[1])
    except (IndexError, ValueError):
        raise OffError(Path(str(where)), f"bad OFF counts line {' '.join(head)!r}") from None
    if len(rest) < nv + nf:
        raise OffError(
            Path(str(where)), f"OFF file declares {nv} vertices and {nf} faces but has {len(rest)} data lines"
        )
    try:
        verts = np.array([ln.split()[:3] for ln in rest[:nv]], dtype=np.float64)
    except ValueError:
        raise OffError(Path(str(where)), "bad vertex line") from None
    if verts.shape != (nv, 3) or not np.all(np.isfinite(verts)):
        raise OffError(Path(str(where)), "vertices must have three finite coordinates")
    tris = []
    for ln in rest[nv : nv + nf]:
        vals = ln.split()
        k = int(vals[0])
        idx = [int(v) for v in vals[1 : 1 + k]]
        if len(idx) < 3:
            continue
        for j in range(1, k - 1):  # fan triangulation of polygons
            tris.append((idx[0], idx[j], idx[j + 1]))
    faces = np.asarray(tris, dtype=np.int64).reshape(-1, 3)
    if faces.size and (faces.min() < 0 or faces.max() >= nv):
        raise OffError(Path(str(where)), "face index out of range")
    return verts, faces


def sample_surface(verts: np.ndarray, faces: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniformly on the triangles' surface (area-weighted)."""
    tri = verts[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    total = area.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError("mesh has no surface area")
    pick = rng.choice(len(faces), size=int(n), p=area / total)
    u, v = rng.random(int(n)), rng.random(int(n))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tri[pick]
    return t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])


def normalize(xyz: np.ndarray, radius_m: float) -> np.ndarray:
    centre = 0.5 * (xyz.min(axis=0) + xyz.max(axis=0))
    xyz = xyz - centre
    r = np.linalg.norm(xyz, axis=1).max()
    return xyz * (radius_m / r) if r > 0 else xyz


def convert_archive(
    archive: Path,
    out_dir: Path,
    points: int,
    seed: int,
    radius_m: float,
    max_per_class: int | None,
    classes: list[str] | None,
) -> dict[str, Any]:
    """Write out_dir/<class>/<shape>.ply and out_dir/splits/{train,test}.csv from a ModelNet archive."""
    rows, skipped, lenient = [], [], 0
    per_class: dict[str, int] = {}
    for name, opener in iter_members(archive, "*.off"):
        p = PurePosixPath(name)
        if "__MACOSX" in p.parts or p.name.startswith("._") or len(p.parts) < 3:
            continue
        cls, split = p.parts[-3], p.parts[-2]
        if split not in ("train", "test") or (classes and cls not in classes):
            continue
        if max_per_class is not None and per_class.get(f"{cls}/{split}", 0) >= max_per_class:
            continue
        with opener() as f:
            text = io.TextIOWrapper(f, encoding="utf-8", errors="replace").read()
        first = text.lstrip().split("\n", 1)[0].strip()
        if re.match(r"^[A-Za-z]*OFF\s*\S", first, flags=re.IGNORECASE):
            lenient += 1
        try:
            verts, faces = parse_off(text, f"{archive}:{name}")
            rng = np.random.default_rng([int(seed), zlib.crc32(name.encode())])
            xyz = normalize(sample_surface(verts, faces, points, rng), radius_m)
        except (OffError, ValueError) as exc:
            skipped.append({"member": name, "why": str(exc)})
            log.warning("%s: skipped (%s)", name, exc)
            continue
        shape = p.stem
        rel = f"{cls}/{shape}.ply"
        write_ply(out_dir / rel, PointCloud(xyz, np.full_like(xyz, 0.5)))
        rows.append(dict(shape=shape, **{"class": cls}, path=rel, split=split))
        per_class[f"{cls}/{split}"] = per_class.get(f"{cls}/{split}", 0) + 1
    if not rows:
        raise InputFileError(archive, "holds no ModelNet-style <class>/{train,test}/*.off meshes")
    table = pd.DataFrame(rows, columns=["shape", "class", "path", "split"]).sort_values(
        ["class", "shape"], kind="stable"
    )
    for split in ("train", "test"):
        with atomic_path(out_dir / "splits" / f"{split}.csv") as tmp:
            table.loc[table.split == split, ["shape", "class", "path"]].to_csv(tmp, index=False)
    return dict(
        shapes=len(table),
        classes=int(table["class"].nunique()),
        train=int((table.split == "train").sum()),
        test=int((table.split == "test").sum()),
        skipped=skipped,
        lenient_headers=lenient,
    )


def fetch(cfg: ModelNetSource, options: FetchOptions, root: Path, cache: Path) -> dict[str, Any]:
    remote = cfg.remote
    raw = cache / remote.name
    sha = fetch_remote(options, remote, raw, NAME, check=check_archive)
    points = cfg.points_per_shape
    with atomic_dir(root / "shapes") as tmp:
        info = convert_archive(raw, tmp, points, cfg.seed, cfg.radius_m, cfg.max_per_class, cfg.classes)
    return {
        "urls": list(remote.urls),
        "record": cfg.version,
        "licence": cfg.licence,
        "files": {remote.name: {"sha256": sha, "pinned": bool(remote.checksum)}},
        "file_count": info["shapes"],
        "point_count": info["shapes"] * points,
        "points_per_shape": points,
        **info,
    }
