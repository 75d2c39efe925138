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
# A kernel map is looked up in a dense grid of the sites' bounding boxes (one gather) when the grid
# has at most this many cells and at most _DENSE_RATIO cells per query, and the map has at least
# _DENSE_MIN_QUERIES entries (below that the grid's fixed cost exceeds the search); else by binary search.
# Both give the same table; on the demo's stem map (250k queries) the grid is 6x faster.
_DENSE_MAX_CELLS = 1 << 25
_DENSE_RATIO = 32
_DENSE_MIN_QUERIES = 1 << 15


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


def kernel_offsets(
    kernel_size: int, tensor_stride: int = 1, dilation: int = 1, device: torch.device | str | None = None
) -> torch.Tensor:
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
    idx = torch.arange(k**3, device=device)
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
            raise ParameterError(
                "coordinates", f"duplicate site (b, x, y, z) = {tuple(dup)}; voxelize to unique sites first"
            )
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
            raise ParameterError(
                "stride", f"tensor stride {stride} is not a multiple of the input's {self.base_stride}"
            )
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
        ME's kernel map. Computed once per key and cached: by one gather from a dense
        grid of the sites where that grid is small (`_dense_kernel_map`), else by binary search.
        """
        key = (int(in_stride), int(out_stride), int(kernel_size), int(dilation))
        if key in self._maps:
            return self._maps[key]
        src, dst = self._level(in_stride), self._level(out_stride)
        dtype = torch.int32 if src.keys.numel() < 2**31 - 1 else torch.int64
        offsets = kernel_offsets(kernel_size, in_stride, dilation, device=src.keys.device)
        table = None
        if int(out_stride) % int(in_stride) == 0:  # then every output site is a whole number of input strides
            table = self._dense_kernel_map(src, dst, int(in_stride), offsets, dtype)
        if table is None:
            table = self._searched_kernel_map(src, dst, offset_keys(offsets), dtype)
        self._maps[key] = table
        return table

    @staticmethod
    def _searched_kernel_map(src: _Level, dst: _Level, deltas: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """The kernel map by binary search of every (site + offset) key among the input's sorted keys."""
        n_in, n_out = src.keys.numel(), dst.keys.numel()
        table = torch.empty((n_out, deltas.numel()), dtype=dtype, device=src.keys.device)
        rows = max(1, _QUERY_CHUNK // max(1, deltas.numel()))
        for start in range(0, n_out, rows):
            q = dst.keys[start : start + rows, None] + deltas[None, :]
            pos = torch.searchsorted(src.sorted_keys, q).clamp_(max=max(n_in - 1, 0))
            found = src.sorted_keys[pos] == q
            idx = pos if src.perm is None else src.perm[pos]
            table[start : start + rows] = torch.where(found, idx, torch.full_like(idx, n_in)).to(dtype)
        return table

    def _dense_kernel_map(
        self, src: _Level, dst: _Level, in_stride: int, offsets: torch.Tensor, dtype: torch.dtype
    ) -> torch.Tensor | None:
        """The same table from a dense grid over each batch element's bounding box, or None when too big.

        In units of the input stride every site and offset is an integer; each batch element gets
        a box holding its input sites and every queried site (output site + offset), laid out one
        after the other, so site + offset is a fixed index step per element and no lookup leaves its
        box. Input rows are written into the grid (empty cells hold n_in) and the whole table is one
        gather: the entries equal the binary search's exactly.
        """
        n_in, n_out, k = src.keys.numel(), dst.keys.numel(), offsets.shape[0]
        if n_out * k < _DENSE_MIN_QUERIES:
            return None
        device = src.keys.device
        b_in, b_out = src.coordinates[:, 0], dst.coordinates[:, 0]
        u = torch.div(src.coordinates[:, 1:], in_stride, rounding_mode="floor")
        v = torch.div(dst.coordinates[:, 1:], in_stride, rounding_mode="floor")
        off = torch.div(offsets, in_stride, rounding_mode="floor")
        batch = self.batch_size
        big = torch.iinfo(torch.int64).max
        lo = torch.full((batch, 3), big, dtype=torch.int64, device=device)
        hi = torch.full((batch, 3), -big, dtype=torch.int64, device=device)
        lo.scatter_reduce_(0, b_in[:, None].expand(-1, 3), u, "amin")
        hi.scatter_reduce_(0, b_in[:, None].expand(-1, 3), u, "amax")
        lo.scatter_reduce_(0, b_out[:, None].expand(-1, 3), v + off.min(dim=0).values, "amin")
        hi.scatter_reduce_(0, b_out[:, None].expand(-1, 3), v + off.max(dim=0).values, "amax")
        extent = hi - lo + 1
        cells = extent.prod(dim=1)
        total = int(cells.sum())
        if total > min(_DENSE_MAX_CELLS, _DENSE_RATIO * n_out * k + (1 << 16)):
            return None
        base = torch.cumsum(cells, 0) - cells
        steps = torch.stack([extent[:, 1] * extent[:, 2], extent[:, 2], torch.ones_like(extent[:, 2])], dim=1)
        lin_in = base[b_in] + ((u - lo[b_in]) * steps[b_in]).sum(dim=1)
        grid = torch.full((total,), n_in, dtype=dtype, device=device)
        grid[lin_in] = torch.arange(n_in, dtype=dtype, device=device)
        lin_out = base[b_out] + ((v - lo[b_out]) * steps[b_out]).sum(dim=1)
        step_of = steps @ off.T  # (batch, K): index step of each offset in each element's box
        table = torch.empty((n_out, k), dtype=dtype, device=device)
        rows = max(1, _QUERY_CHUNK // k)
        for start in range(0, n_out, rows):
            q = lin_out[start : start + rows, None] + step_of[b_out[start : start + rows]]
            table[start : start + rows] = grid[q]
        return table

    def cache_info(self) -> dict[str, list]:
        """What is cached: strides with site counts, and kernel map keys (for tests/diagnostics)."""
        return {
            "levels": sorted((s, lv.keys.numel()) for s, lv in self._levels.items()),
            "kernel_maps": sorted(self._maps),
        }
