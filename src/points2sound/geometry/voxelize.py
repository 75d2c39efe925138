"""Voxelization of a point-cloud scene into a sparse tensor's coordinates and features.

Coordinates are floor(xyz / voxel_size) (the paper: voxel 0.02 m), so negative
coordinates round down, not towards zero. Each occupied voxel becomes one entry.

Feature choice: by default a voxel's feature is the MEAN of its points'
features. MinkowskiEngine's sparse_quantize (used by the reference code) keeps
one point per voxel instead, which depends on point order; the mean is order
independent and uses every point. `reduce='first'` reproduces the one-point
behaviour (the first point in input order). Output rows are sorted
lexicographically by coordinate, so the result is deterministic.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import ParameterError
from .pointcloud import PointCloud

_INT32 = np.iinfo(np.int32)


def _check_voxel_size(voxel_size: float) -> None:
    if not np.isfinite(voxel_size) or voxel_size <= 0:
        raise ParameterError("voxel_size", f"must be a positive number of metres, got {voxel_size}")


def voxel_coords(xyz: np.ndarray, voxel_size: float) -> np.ndarray:
    """Integer voxel index floor(xyz / voxel_size) of every point, int64 (n, 3)."""
    _check_voxel_size(voxel_size)
    xyz = np.asarray(xyz, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # checked below: no RuntimeWarning leaks to the user
        q = np.floor(xyz / voxel_size)
    if q.size and not (np.all(np.isfinite(q)) and q.min() >= _INT32.min and q.max() <= _INT32.max):
        far = int(np.argmax(np.nan_to_num(np.abs(xyz), nan=np.inf).max(axis=1)))
        raise ParameterError(
            "xyz",
            f"point {far} at {np.array2string(xyz[far], precision=3)} m is too far from the "
            f"origin for {voxel_size} m voxels (its index overflows int32)",
        )
    return q.astype(np.int64)


def _unique_rows(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted unique rows, index of each row's first occurrence, inverse map.

    Packs the three (shifted) indices into one int64 key when the extent allows;
    keys sort in the same lexicographic order as the rows, and one argsort of
    them is several times faster than np.unique(axis=0), the fallback otherwise.
    """
    c = np.ascontiguousarray(coords.T)  # (3, n): column operations run contiguous
    lo = c.min(axis=1)
    span = c.max(axis=1) - lo + 1
    if float(span[0]) * float(span[1]) * float(span[2]) >= 2.0**62:
        _, first, inverse = np.unique(coords, axis=0, return_index=True, return_inverse=True)
        return coords[first], first, inverse.reshape(-1)
    key = ((c[0] - lo[0]) * span[1] + (c[1] - lo[1])) * span[2] + (c[2] - lo[2])
    order = np.argsort(key)
    sorted_key = key[order]
    new = np.empty(len(key), dtype=bool)
    new[0] = True
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    inverse = np.empty(len(key), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    first = np.minimum.reduceat(order, starts)  # the sort is unstable: take the smallest index per voxel
    return np.stack([axis[first] for axis in c], axis=1), first, inverse  # 1-D takes: fast


def voxelize(
    xyz: np.ndarray, feats: np.ndarray, voxel_size: float, reduce: Literal["mean", "first"] = "mean"
) -> tuple[np.ndarray, np.ndarray]:
    """Quantize points to voxels: (coords int32 (m, 3), feats float32 (m, c)).

    One row per occupied voxel, sorted lexicographically by (x, y, z) index;
    features are the mean over the voxel's points (`reduce='mean'`) or those of
    its first point in input order (`reduce='first'`, like sparse_quantize).
    """
    xyz = np.asarray(xyz)
    feats = np.asarray(feats)
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise ParameterError("xyz", f"must have shape (n, 3), got {xyz.shape}")
    if feats.ndim != 2 or len(feats) != len(xyz):
        raise ParameterError("feats", f"must have shape (n, c) with n = {len(xyz)} points, got {feats.shape}")
    if reduce not in ("mean", "first"):
        raise ParameterError("reduce", f"must be 'mean' or 'first', got {reduce!r}")
    _check_voxel_size(voxel_size)
    if len(xyz) == 0:
        raise ParameterError("xyz", "the point cloud is empty: there is nothing to voxelize")
    if not np.all(np.isfinite(xyz)):
        raise ParameterError("xyz", "point coordinates contain NaN or infinite values")
    coords = voxel_coords(xyz, voxel_size)
    ucoords, first, inverse = _unique_rows(coords)
    if reduce == "first":
        out = feats[first].astype(np.float32)
    else:
        counts = np.bincount(inverse, minlength=len(ucoords)).astype(np.float64)
        sums = (
            np.stack(
                [
                    np.bincount(inverse, weights=feats[:, j].astype(np.float64), minlength=len(ucoords))
                    for j in range(feats.shape[1])
                ],
                axis=1,
            )
            if feats.shape[1]
            else np.zeros((len(ucoords), 0))
        )
        out = (sums / counts[:, None]).astype(np.float32)
    return ucoords.astype(np.int32), np.ascontiguousarray(out)


def scene_features(cloud: PointCloud, kind: Literal["rgb", "xyz"]) -> np.ndarray:
    """Per-point features of a scene: rgb values (rgb-depth) or the
    non-discretized xyz coordinates in metres (depth only), float32 (n, 3)."""
    if kind == "rgb":
        return cloud.rgb.astype(np.float32)
    if kind == "xyz":
        return cloud.xyz.astype(np.float32)
    raise ParameterError("features", f"must be 'rgb' or 'xyz', got {kind!r}")


def rotate_voxels_quarter(
    coords: np.ndarray, feats: np.ndarray, features: Literal["rgb", "xyz"]
) -> tuple[np.ndarray, np.ndarray]:
    """A voxelized scene turned by +pi/2 about the listener's vertical axis (y through the head).

    The Rotated-Visual baseline. A quarter turn maps the voxel grid onto itself:
    the rotation (x, y, z) -> (z, y, -x) (`rotation_y(pi/2)`) sends the cell
    [i, i+1) x [j, j+1) x [k, k+1) to cell (k, j, -i - 1) exactly, so rotating the
    voxels equals voxelizing the rotated cloud (with 'mean' features). Metric xyz
    features rotate with the points; rgb features are unchanged.
    """
    coords = np.asarray(coords)
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise ParameterError("coords", f"expected (m, 3) voxel indices, got {coords.shape}")
    rotated = np.stack([coords[:, 2], coords[:, 1], -coords[:, 0] - 1], axis=1).astype(coords.dtype)
    feats = np.asarray(feats)
    if features == "xyz":
        feats = np.stack([feats[:, 2], feats[:, 1], -feats[:, 0]], axis=1).astype(feats.dtype)
    elif features != "rgb":
        raise ParameterError("features", f"must be 'rgb' or 'xyz', got {features!r}")
    order = np.lexsort(rotated.T[::-1])
    return rotated[order], feats[order]
