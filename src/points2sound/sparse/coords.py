"""Integer coordinate bookkeeping for sparse tensors: keys, strided sets and kernel maps.

A sparse tensor's sites are rows (b, x, y, z) of integers. Every lookup here goes
through one int64 *key* per site, so set operations become sorts and
`torch.searchsorted` calls that run vectorised on CPU and GPU (no Python dicts).

Key layout (63 bits, always non-negative)::

    key = ((b * 2**17 + (x + 2**16)) * 2**17 + (y + 2**16)) * 2**17 + (z + 2**16)

Input coordinates must lie in [-2**15, 2**15) (655 m either way at 2 cm voxels) and
kernel offsets in (-2**15, 2**15), so a site plus an offset never leaves its 17-bit
field and the key of (c + d) is simply key(c) + key(d). Batch indices use the
remaining 12 bits (< 4096 batch elements).

The `CoordinateManager` plays the role of MinkowskiEngine's coordinate manager: one
instance is shared by every tensor derived from one input, and it caches the site
set of each tensor stride and each kernel map, so a ResNet computes every map once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from points2sound.errors import ParameterError

AXIS_BITS = 17
FIELD = 1 << AXIS_BITS
BIAS = 1 << (AXIS_BITS - 1)
COORD_LIMIT = 1 << (AXIS_BITS - 2)
MAX_BATCH = 1 << (63 - 3 * AXIS_BITS)
# Queries are processed in chunks of about this many (site, offset) pairs to cap memory.
_QUERY_CHUNK = 1 << 22


def pack(coordinates: torch.Tensor) -> torch.Tensor:
    """Keys of sites: (n, 4) integer (b, x, y, z) -> (n,) int64 (no range check here)."""
    c = coordinates.long()
    return ((c[:, 0] * FIELD + (c[:, 1] + BIAS)) * FIELD + (c[:, 2] + BIAS)) * FIELD + (c[:, 3] + BIAS)


def unpack(keys: torch.Tensor) -> torch.Tensor:
    """Inverse of `pack`: (n,) int64 -> (n, 4) int64."""
    mask = FIELD - 1
    z = (keys & mask) - BIAS
    y = ((keys >> AXIS_BITS) & mask) - BIAS
    x = ((keys >> (2 * AXIS_BITS)) & mask) - BIAS
    b = keys >> (3 * AXIS_BITS)
    return torch.stack([b, x, y, z], dim=1)


def offset_keys(offsets: torch.Tensor) -> torch.Tensor:
    """Key increments of spatial offsets: (K, 3) -> (K,), key(c + d) = key(c) + result."""
    d = offsets.long()
    return (d[:, 0] * FIELD + d[:, 1]) * FIELD + d[:, 2]


def kernel_offsets(kernel_size: int, tensor_stride: int = 1, dilation: int = 1,
                   device: torch.device | str | None = None) -> torch.Tensor:
    """Spatial offsets of a cubic kernel in MinkowskiEngine's order: (K, 3) int64, K = k**3.

    Kernel index i runs with x fastest: i = ix + k * (iy + k * iz) (ME's
    `kernel_region::coordinate_at`). Per axis, an odd kernel covers
    (ia - k // 2) * tensor_stride * dilation (centred), an even kernel covers
    ia * tensor_stride * dilation (0 .. k-1, anchored at the site). Weights stored in
    this order load unchanged into `MinkowskiEngine.MinkowskiConvolution.kernel`.
    """
    k = int(kernel_size)
    if k < 1:
        raise ParameterError("kernel_size", f"must be >= 1, got {kernel_size}")
    step = int(tensor_stride) * int(dilation)
    idx = torch.arange(k ** 3, device=device)
    per_axis = torch.stack([idx % k, (idx // k) % k, idx // (k * k)], dim=1)
    if k % 2 == 1:
        per_axis = per_axis - k // 2
    off = per_axis * step
    if off.numel() and int(off.abs().max()) >= COORD_LIMIT:
        raise ParameterError("kernel_size", f"offsets up to {int(off.abs().max())} exceed the coordinate range")
    return off


def strided(coordinates: torch.Tensor, stride: int) -> torch.Tensor:
    """floor(c / stride) * stride on the spatial columns (ME's `stride_coordinate`)."""
    out = coordinates.clone()
    out[:, 1:] = torch.div(coordinates[:, 1:], stride, rounding_mode="floor") * stride
    return out


@dataclass
class _Level:
    """The sites of one tensor stride: coordinates in row order plus a sorted key index."""

    coordinates: torch.Tensor  # (n, 4) int64, row order of the features at this stride
    keys: torch.Tensor  # (n,) keys in row order
    sorted_keys: torch.Tensor  # (n,) ascending
    perm: torch.Tensor | None  # row of the i-th sorted key; None when rows are sorted


class CoordinateManager:
    """Site sets per tensor stride and kernel maps, cached and shared along a network.

    Args:
        coordinates: (n, 4) integer (b, x, y, z) of the input sites, unique, spatial
            columns multiples of `tensor_stride`, in the row order of the features.
        tensor_stride: stride of the input sites.
        batch_size: number of batch elements (indices 0 .. batch_size-1).

    Sites at a coarser stride s are the unique floor(c / s) * s over the input
    sites, per batch element (ME semantics), sorted by key. Kernel maps are keyed
    by (in stride, out stride, kernel size, dilation).
    """

    def __init__(self, coordinates: torch.Tensor, tensor_stride: int, batch_size: int):
        self.base_stride = int(tensor_stride)
        self.batch_size = int(batch_size)
        coords = coordinates.long()
        keys = pack(coords)
        sorted_keys, perm = torch.sort(keys)
        if sorted_keys.numel() > 1 and bool((sorted_keys[1:] == sorted_keys[:-1]).any()):
            dup = unpack(sorted_keys[1:][sorted_keys[1:] == sorted_keys[:-1]][:1])[0].tolist()
            raise ParameterError("coordinates", f"duplicate site (b, x, y, z) = {tuple(dup)}; "
                                 "voxelize to unique sites first")
        self._levels: dict[int, _Level] = {self.base_stride: _Level(coords, keys, sorted_keys, perm)}
        self._maps: dict[tuple[int, int, int, int], torch.Tensor] = {}

    @property
    def device(self) -> torch.device:
        return self._levels[self.base_stride].coordinates.device

    def _level(self, stride: int) -> _Level:
        stride = int(stride)
        if stride in self._levels:
            return self._levels[stride]
        if stride % self.base_stride:
            raise ParameterError("stride", f"tensor stride {stride} is not a multiple of the input's {self.base_stride}")
        # Coarsen the densest cached level whose stride divides this one (fewest sites).
        src = max((s for s in self._levels if stride % s == 0), key=lambda s: s)
        keys = torch.unique(pack(strided(self._levels[src].coordinates, stride)), sorted=True)
        level = _Level(unpack(keys), keys, keys, None)
        self._levels[stride] = level
        return level

    def coordinates(self, stride: int) -> torch.Tensor:
        """(n_s, 4) int64 sites at tensor stride `stride`, in feature row order."""
        return self._level(stride).coordinates

    def num_sites(self, stride: int) -> int:
        return int(self._level(stride).keys.numel())

    def kernel_map(self, in_stride: int, out_stride: int, kernel_size: int, dilation: int = 1) -> torch.Tensor:
        """Neighbour table of a convolution or pooling: (n_out, K) int32/int64.

        Entry [o, i] is the input row at site out[o] + offset[i] (offsets of
        `kernel_offsets(kernel_size, in_stride, dilation)`) or n_in where that site
        is empty, so a gather from the features padded with one zero row implements
        ME's kernel map. Computed once per key and cached.
        """
        key = (int(in_stride), int(out_stride), int(kernel_size), int(dilation))
        if key in self._maps:
            return self._maps[key]
        src, dst = self._level(in_stride), self._level(out_stride)
        n_in, n_out = src.keys.numel(), dst.keys.numel()
        deltas = offset_keys(kernel_offsets(kernel_size, in_stride, dilation, device=src.keys.device))
        dtype = torch.int32 if n_in < 2 ** 31 - 1 else torch.int64
        table = torch.empty((n_out, deltas.numel()), dtype=dtype, device=src.keys.device)
        rows = max(1, _QUERY_CHUNK // max(1, deltas.numel()))
        for start in range(0, n_out, rows):
            q = dst.keys[start:start + rows, None] + deltas[None, :]
            pos = torch.searchsorted(src.sorted_keys, q).clamp_(max=max(n_in - 1, 0))
            found = src.sorted_keys[pos] == q
            idx = pos if src.perm is None else src.perm[pos]
            table[start:start + rows] = torch.where(found, idx, torch.full_like(idx, n_in)).to(dtype)
        self._maps[key] = table
        return table

    def cache_info(self) -> dict[str, list]:
        """What is cached: strides with site counts, and kernel map keys (for tests/diagnostics)."""
        return {"levels": sorted((s, lv.keys.numel()) for s, lv in self._levels.items()),
                "kernel_maps": sorted(self._maps)}
