"""The sparse tensor: integer sites, a feature row per site, a tensor stride and a shared cache.

Semantics follow MinkowskiEngine 0.5 so a model written against this class runs on
ME unchanged (see `points2sound.sparse.backends`): coordinates are (b, x, y, z) with
the batch index first, spatial coordinates stay in input voxel units and are
multiples of the tensor stride, and every tensor derived from one input shares one
`CoordinateManager` (ME's coordinate manager) holding sites and kernel maps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from points2sound.errors import ParameterError
from points2sound.sparse.coords import COORD_LIMIT, MAX_BATCH, CoordinateManager


class SparseTensor:
    """Features on a sparse set of integer 3D sites.

    Args:
        features: (n, c) float tensor, one row per site.
        coordinates: (n, 4) int32/int64 tensor (b, x, y, z), unique rows, batch
            indices 0 .. B-1 each used at least once, spatial values in
            [-2**15, 2**15) and multiples of `tensor_stride`.
        tensor_stride: spacing of the sites in input voxel units (1 for a fresh input).

    Attributes mirror ME: `F` (features), `C` (coordinates, int64), `tensor_stride`,
    `coordinate_manager`. Tensors derived by the ops share the manager; two tensors
    can be added when they share manager and stride (i.e. the same sites).
    """

    def __init__(self, features: torch.Tensor, coordinates: torch.Tensor, tensor_stride: int = 1):
        _check_features(features)
        coords = _check_coordinates(coordinates, features.shape[0], int(tensor_stride))
        if coords.device != features.device:
            coords = coords.to(features.device)
        batch_size = _check_batches(coords)
        self._features = features
        self._stride = int(tensor_stride)
        self._manager = CoordinateManager(coords, self._stride, batch_size)

    @classmethod
    def derived(cls, features: torch.Tensor, manager: CoordinateManager, tensor_stride: int) -> SparseTensor:
        """A tensor on the sites of `manager` at `tensor_stride` (no validation: for ops)."""
        out = cls.__new__(cls)
        out._features = features
        out._stride = int(tensor_stride)
        out._manager = manager
        return out

    # ME-style accessors
    @property
    def F(self) -> torch.Tensor:  # noqa: N802 (ME's name)
        return self._features

    @property
    def C(self) -> torch.Tensor:  # noqa: N802 (ME's name)
        return self._manager.coordinates(self._stride)

    features = F
    coordinates = C

    @property
    def tensor_stride(self) -> int:
        return self._stride

    @property
    def coordinate_manager(self) -> CoordinateManager:
        return self._manager

    @property
    def batch_size(self) -> int:
        return self._manager.batch_size

    @property
    def device(self) -> torch.device:
        return self._features.device

    @property
    def shape(self) -> torch.Size:
        return self._features.shape

    def __len__(self) -> int:
        return int(self._features.shape[0])

    def replace_features(self, features: torch.Tensor) -> SparseTensor:
        """The same sites with new features (n, c')."""
        if features.shape[0] != self._features.shape[0]:
            raise ParameterError("features", f"{features.shape[0]} rows for {self._features.shape[0]} sites")
        return SparseTensor.derived(features, self._manager, self._stride)

    def _same_sites(self, other: SparseTensor) -> None:
        if other._manager is not self._manager or other._stride != self._stride:
            raise ParameterError(
                "other",
                "sparse tensors must share coordinate manager and tensor stride "
                f"to be combined (strides {self._stride} and {other._stride})",
            )

    def __add__(self, other: SparseTensor | torch.Tensor | float) -> SparseTensor:
        if isinstance(other, SparseTensor):
            self._same_sites(other)
            other = other._features
        return self.replace_features(self._features + other)

    __radd__ = __add__

    def to(self, device: torch.device | str) -> SparseTensor:
        """A copy on `device` with a fresh coordinate manager (caches do not move)."""
        coords = self._manager.coordinates(self._stride)
        return SparseTensor(self._features.to(device), coords.to(device), self._stride)

    def __repr__(self) -> str:
        return (
            f"SparseTensor(sites={len(self)}, channels={self._features.shape[1]}, "
            f"batch_size={self.batch_size}, tensor_stride={self._stride}, device={self.device})"
        )


def _check_features(features: torch.Tensor) -> None:
    if not isinstance(features, torch.Tensor) or features.ndim != 2:
        raise ParameterError(
            "features", f"must be a 2-D tensor (sites, channels), got {getattr(features, 'shape', type(features))}"
        )
    if not features.is_floating_point():
        raise ParameterError("features", f"must be floating point, got {features.dtype}")
    if features.shape[0] == 0:
        raise ParameterError("features", "a sparse tensor needs at least one site")


def _check_coordinates(coordinates: torch.Tensor, n: int, stride: int) -> torch.Tensor:
    if not isinstance(coordinates, torch.Tensor) or coordinates.ndim != 2 or coordinates.shape[1] != 4:
        raise ParameterError(
            "coordinates",
            f"must be an (n, 4) tensor (b, x, y, z), got {getattr(coordinates, 'shape', type(coordinates))}",
        )
    if coordinates.dtype not in (torch.int32, torch.int64):
        raise ParameterError("coordinates", f"must be int32 or int64, got {coordinates.dtype}")
    if coordinates.shape[0] != n:
        raise ParameterError("coordinates", f"{coordinates.shape[0]} sites for {n} feature rows")
    if stride < 1:
        raise ParameterError("tensor_stride", f"must be >= 1, got {stride}")
    c = coordinates.long()
    lo, hi = int(c[:, 1:].min()), int(c[:, 1:].max())
    if lo < -COORD_LIMIT or hi >= COORD_LIMIT:
        raise ParameterError(
            "coordinates", f"spatial values must lie in [{-COORD_LIMIT}, {COORD_LIMIT}), got [{lo}, {hi}]"
        )
    if stride > 1 and bool((c[:, 1:] % stride != 0).any()):
        raise ParameterError("coordinates", f"spatial values must be multiples of tensor_stride={stride}")
    return c


def _check_batches(coords: torch.Tensor) -> int:
    b = coords[:, 0]
    if int(b.min()) < 0:
        raise ParameterError("coordinates", "batch indices must be >= 0")
    batch_size = int(b.max()) + 1
    if batch_size > MAX_BATCH:
        raise ParameterError("coordinates", f"at most {MAX_BATCH} batch elements, got {batch_size}")
    counts = torch.bincount(b, minlength=batch_size)
    if bool((counts == 0).any()):
        empty = int(torch.nonzero(counts == 0)[0, 0])
        raise ParameterError("coordinates", f"batch element {empty} has no sites (indices must be 0 .. B-1, all used)")
    return batch_size


def sparse_collate(
    coordinates: Sequence[np.ndarray | torch.Tensor],
    features: Sequence[np.ndarray | torch.Tensor],
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> SparseTensor:
    """Batch per-scene voxels into one SparseTensor (like ME.utils.sparse_collate).

    Args:
        coordinates: B arrays (m_i, 3) of integer voxel indices (x, y, z), unique per scene.
        features: B arrays (m_i, c) of per-voxel features (e.g. rgb, or metric xyz).
        dtype, device: of the features (coordinates become int64 on the same device).

    Returns:
        SparseTensor with coordinates (sum m_i, 4) = (i, x, y, z), tensor stride 1.
    """
    if len(coordinates) != len(features):
        raise ParameterError("features", f"{len(features)} feature arrays for {len(coordinates)} coordinate arrays")
    if len(coordinates) == 0:
        raise ParameterError("coordinates", "empty batch")
    rows, feats = [], []
    for i, (c, f) in enumerate(zip(coordinates, features)):
        c = torch.as_tensor(c)
        f = torch.as_tensor(f)
        if c.ndim != 2 or c.shape[1] != 3:
            raise ParameterError(f"coordinates[{i}]", f"must be (m, 3), got {tuple(c.shape)}")
        if c.dtype.is_floating_point or c.dtype == torch.bool:
            raise ParameterError(f"coordinates[{i}]", f"must be integer voxel indices, got {c.dtype}")
        if c.shape[0] == 0:
            raise ParameterError(f"coordinates[{i}]", "batch element has no voxels")
        if f.ndim != 2 or f.shape[0] != c.shape[0]:
            raise ParameterError(f"features[{i}]", f"must be ({c.shape[0]}, c), got {tuple(f.shape)}")
        batch = torch.full((c.shape[0], 1), i, dtype=torch.int64)
        rows.append(torch.cat([batch, c.long()], dim=1))
        feats.append(f.to(dtype))
    return SparseTensor(torch.cat(feats).to(device), torch.cat(rows).to(device), 1)
