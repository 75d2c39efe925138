"""Sparse tensors and sparse 3D convolution in pure PyTorch, with MinkowskiEngine semantics.

MinkowskiEngine does not build against numpy 2 / torch 2.x and spconv's CPU build
has no backward, so this package provides the sparse layer the vision network
needs, training on CPU and GPU. Coordinates, kernel offsets and parameter layouts
follow ME 0.5 so that `backends.get_backend('minkowski')` can build the same network
from ME when it is importable and load the same weights.
"""

from points2sound.sparse.backends import Backend, available_backends, get_backend
from points2sound.sparse.coords import CoordinateManager, kernel_offsets
from points2sound.sparse.nn import (
    SparseAvgPool,
    SparseBatchNorm,
    SparseConv3d,
    SparseGlobalMaxPool,
    SparseLinear,
    SparseReLU,
)
from points2sound.sparse.ops import avg_pool, conv3d, global_avg_pool, global_max_pool
from points2sound.sparse.tensor import SparseTensor, sparse_collate

__all__ = [
    "Backend",
    "CoordinateManager",
    "SparseAvgPool",
    "SparseBatchNorm",
    "SparseConv3d",
    "SparseGlobalMaxPool",
    "SparseLinear",
    "SparseReLU",
    "SparseTensor",
    "available_backends",
    "avg_pool",
    "conv3d",
    "get_backend",
    "global_avg_pool",
    "global_max_pool",
    "kernel_offsets",
    "sparse_collate",
]
