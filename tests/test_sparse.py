"""Sparse tensor ops against dense references (torch conv3d / pooling on a densified grid).

The reference for every op is an independent dense computation: sparse voxels are
scattered into a dense grid, the dense op runs on it, and the result is read back
at the sparse output sites. Gradients are compared the same way.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from points2sound.errors import ParameterError
from points2sound.sparse import (
    SparseAvgPool,
    SparseConv3d,
    SparseTensor,
    avg_pool,
    conv3d,
    global_max_pool,
    kernel_offsets,
    sparse_collate,
)

DT = torch.float64


def random_sites(rng: np.random.Generator, batch: int, lo: int, hi: int, density: float, step: int = 1) -> np.ndarray:
    """Unique (b, x, y, z) sites on the grid step * [lo, hi)^3 per batch element, about `density` occupied."""
    axis = np.arange(lo, hi) * step
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    rows = []
    for b in range(batch):
        keep = grid[rng.random(len(grid)) < density]
        rows.append(np.concatenate([np.full((len(keep), 1), b), keep], 1))
    out = np.concatenate(rows)
    return out[rng.permutation(len(out))]  # row order must not matter


def densify(coords: torch.Tensor, feats: torch.Tensor, origin: int, unit: int, size: int, batch: int) -> torch.Tensor:
    """Scatter features into a dense (B, C, size, size, size) grid at index (c - origin) / unit."""
    idx = (coords[:, 1:] - origin) // unit
    assert bool(((coords[:, 1:] - origin) % unit == 0).all()) and int(idx.max()) < size and int(idx.min()) >= 0
    grid = feats.new_zeros(batch, size, size, size, feats.shape[1])
    grid = grid.index_put((coords[:, 0], idx[:, 0], idx[:, 1], idx[:, 2]), feats)
    return grid.permute(0, 4, 1, 2, 3)


def read_sites(grid: torch.Tensor, coords: torch.Tensor, origin: int, unit: int) -> torch.Tensor:
    """Rows of a dense (B, C, X, Y, Z) grid at the given sites -> (n, C)."""
    idx = (coords[:, 1:] - origin) // unit
    return grid.permute(0, 2, 3, 4, 1)[coords[:, 0], idx[:, 0], idx[:, 1], idx[:, 2]]


def dense_weight(kernel: torch.Tensor, k: int) -> torch.Tensor:
    """ME kernel (K, c_in, c_out), index ix + k*iy + k*k*iz -> conv3d weight (c_out, c_in, kx, ky, kz)."""
    return kernel.reshape(k, k, k, kernel.shape[-2], kernel.shape[-1]).permute(4, 3, 2, 1, 0)


def expected_sites(coords: np.ndarray, unit: int) -> set[tuple[int, ...]]:
    """ME's output sites: unique floor(c / unit) * unit per batch element (independent numpy)."""
    out = coords.copy()
    out[:, 1:] = np.floor(coords[:, 1:] / unit).astype(np.int64) * unit
    return set(map(tuple, out.tolist()))


def compare_conv(k: int, stride: int, tensor_stride: int, seed: int) -> None:
    """Sparse conv vs dense conv3d: output sites, values, and gradients of features and kernel."""
    rng = np.random.default_rng(seed)
    batch, c_in, c_out = 2, 3, 4
    sites = random_sites(rng, batch, -5, 6, 0.35, step=tensor_stride)
    coords = torch.as_tensor(sites)
    feats = torch.as_tensor(rng.standard_normal((len(sites), c_in)), dtype=DT).requires_grad_()
    x = SparseTensor(feats, coords, tensor_stride=tensor_stride)
    kernel = torch.as_tensor(rng.standard_normal((k**3, c_in, c_out)), dtype=DT).requires_grad_()
    out = conv3d(x, kernel, k, stride)

    unit_out = tensor_stride * stride
    assert out.tensor_stride == unit_out
    assert set(map(tuple, out.C.tolist())) == expected_sites(sites, unit_out)
    assert len(out.C) == len(expected_sites(sites, unit_out))

    # Dense reference on the grid of the input stride; origin aligned to the output stride.
    origin = int(np.floor(sites[:, 1:].min() / unit_out)) * unit_out
    size = (int(sites[:, 1:].max()) - origin) // tensor_stride + k + stride + 1
    dense_in = densify(coords, feats.detach(), origin, tensor_stride, size, batch).requires_grad_()
    kernel_d = kernel.detach().clone().requires_grad_()
    pad = k // 2 if k % 2 else 0  # odd kernels are centred, even ones start at the site
    dense_out = F.conv3d(F.pad(dense_in, (pad,) * 6), dense_weight(kernel_d, k), stride=stride)
    torch.testing.assert_close(out.F, read_sites(dense_out, out.C, origin, unit_out), rtol=1e-10, atol=1e-10)

    upstream = torch.as_tensor(rng.standard_normal(tuple(out.F.shape)), dtype=DT)
    (out.F * upstream).sum().backward()
    mask = densify(out.C, upstream, origin, unit_out, dense_out.shape[-1], batch)
    (dense_out * mask).sum().backward()
    torch.testing.assert_close(
        feats.grad, read_sites(dense_in.grad, coords, origin, tensor_stride), rtol=1e-10, atol=1e-10
    )
    torch.testing.assert_close(kernel.grad, kernel_d.grad, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("tensor_stride", [1, 2])
def test_stride1_conv_matches_dense(k: int, tensor_stride: int) -> None:
    compare_conv(k, 1, tensor_stride, seed=10 * k + tensor_stride)


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("tensor_stride", [1, 2])
def test_stride2_conv_matches_dense(k: int, tensor_stride: int) -> None:
    compare_conv(k, 2, tensor_stride, seed=100 + 10 * k + tensor_stride)


def test_stride3_conv_matches_dense() -> None:
    """ME's ResNet classifier head uses kernel 3, stride 3."""
    compare_conv(3, 3, 1, seed=7)


def test_kernel_offsets_follow_minkowski_order() -> None:
    """Transcription of ME's kernel_region::coordinate_at: x fastest, odd centred, even from 0, times stride."""
    for k, ts in [(1, 1), (2, 1), (2, 4), (3, 1), (3, 8), (5, 2)]:
        expected = []
        for index in range(k**3):
            offset = []
            for _axis in range(3):
                cur = index % k
                offset.append((cur - k // 2) * ts if k % 2 else cur * ts)
                index //= k
            expected.append(offset)
        assert kernel_offsets(k, ts).tolist() == expected


def test_chain_stride2_then_stride1_matches_masked_dense() -> None:
    """Conv stride 2 then conv 3x3x3 at tensor stride 2: dense chain with the intermediate masked to its sites."""
    rng = np.random.default_rng(3)
    sites = random_sites(rng, 2, -6, 6, 0.3)
    coords = torch.as_tensor(sites)
    feats = torch.as_tensor(rng.standard_normal((len(sites), 2)), dtype=DT)
    k1 = torch.as_tensor(rng.standard_normal((27, 2, 3)), dtype=DT)
    k2 = torch.as_tensor(rng.standard_normal((27, 3, 2)), dtype=DT)
    mid = conv3d(SparseTensor(feats, coords), k1, 3, 2)
    out = conv3d(mid, k2, 3, 1)

    origin, size = -6, 16
    dense = F.conv3d(densify(coords, feats, origin, 1, size, 2), dense_weight(k1, 3), stride=2, padding=1)
    occupied = densify(mid.C, torch.ones(len(mid), 1, dtype=DT), origin, 2, dense.shape[-1], 2)
    dense = F.conv3d(dense * occupied, dense_weight(k2, 3), padding=1)
    torch.testing.assert_close(out.F, read_sites(dense, out.C, origin, 2), rtol=1e-10, atol=1e-10)


def test_avg_pool_is_mean_of_present_inputs() -> None:
    rng = np.random.default_rng(4)
    sites = random_sites(rng, 3, -7, 7, 0.3)
    coords = torch.as_tensor(sites)
    feats = torch.as_tensor(rng.standard_normal((len(sites), 5)), dtype=DT).requires_grad_()
    out = SparseAvgPool(2, 2)(SparseTensor(feats, coords))
    assert set(map(tuple, out.C.tolist())) == expected_sites(sites, 2)

    origin, size = -8, 16
    dense = densify(coords, feats.detach(), origin, 1, size, 3)
    occ = densify(coords, torch.ones(len(sites), 1, dtype=DT), origin, 1, size, 3)
    total = F.avg_pool3d(dense, 2, 2) * 8
    count = F.avg_pool3d(occ, 2, 2) * 8
    torch.testing.assert_close(out.F, read_sites(total / count.clamp(min=1), out.C, origin, 2))
    # Gradient: each input receives upstream / count of its window.
    out.F.sum().backward()
    per_site = read_sites(1 / count.clamp(min=1), out.C, origin, 2)[:, 0]
    parent = {tuple(c): float(v) for c, v in zip(out.C.tolist(), per_site)}
    floor = np.concatenate([sites[:, :1], np.floor(sites[:, 1:] / 2).astype(int) * 2], 1)
    expected = torch.tensor([parent[tuple(c)] for c in floor.tolist()], dtype=DT)
    torch.testing.assert_close(feats.grad, expected[:, None].expand(-1, 5))


def test_global_max_pool_per_batch_element() -> None:
    rng = np.random.default_rng(5)
    sites = random_sites(rng, 3, -4, 4, 0.4)
    feats = torch.as_tensor(rng.standard_normal((len(sites), 6)), dtype=DT).requires_grad_()
    out = global_max_pool(SparseTensor(feats, torch.as_tensor(sites)))
    f = feats.detach().numpy()
    expected = np.stack([f[sites[:, 0] == b].max(0) for b in range(3)])
    np.testing.assert_allclose(out.detach().numpy(), expected)
    out.sum().backward()
    grad = feats.grad.numpy()
    for b in range(3):  # gradient 1 exactly at each channel's argmax, 0 elsewhere
        rows = np.nonzero(sites[:, 0] == b)[0]
        np.testing.assert_array_equal(grad[rows], (f[rows] == expected[b]).astype(float))


def test_batch_elements_do_not_interact() -> None:
    """Two scenes occupying the same voxels: batched conv + pool equals each scene alone."""
    rng = np.random.default_rng(6)
    coords = [rng.integers(-5, 5, (300, 3)) for _ in range(2)]
    coords = [np.unique(c, axis=0) for c in coords]
    feats = [rng.standard_normal((len(c), 3)) for c in coords]
    conv = SparseConv3d(3, 4, 3, stride=2).double()

    def run(x: SparseTensor) -> torch.Tensor:
        return global_max_pool(avg_pool(conv(x)))

    both = run(sparse_collate(coords, feats, dtype=DT))
    for b in range(2):
        alone = run(sparse_collate([coords[b]], [feats[b]], dtype=DT))
        torch.testing.assert_close(both[b], alone[0])


def test_negative_coordinates_floor_like_minkowski() -> None:
    coords = torch.tensor([[0, -1, -1, -1], [0, -2, 0, 1], [0, 1, -3, 0], [1, -1, 0, 0]])
    x = SparseTensor(torch.ones(4, 1), coords)
    out = SparseConv3d(1, 1, 2, stride=2)(x)
    assert set(map(tuple, out.C.tolist())) == {(0, -2, -2, -2), (0, -2, 0, 0), (0, 0, -4, 0), (1, -2, 0, 0)}


def test_kernel_maps_are_cached_and_shared() -> None:
    rng = np.random.default_rng(8)
    sites = torch.as_tensor(random_sites(rng, 1, -5, 5, 0.2))
    x = SparseTensor(torch.randn(len(sites), 2), sites)
    a = SparseConv3d(2, 2, 3, stride=2)
    b = SparseConv3d(2, 2, 3)
    y = b(b(a(x)))
    z = b(a(x))
    manager = x.coordinate_manager
    assert y.coordinate_manager is manager and z.coordinate_manager is manager
    assert manager.cache_info()["kernel_maps"] == [(1, 2, 3, 1), (2, 2, 3, 1)]
    assert manager.kernel_map(2, 2, 3) is manager.kernel_map(2, 2, 3)
    torch.testing.assert_close((y + z).F, y.F + z.F)
    with pytest.raises(ParameterError):
        _ = x + y  # different sites


def test_input_validation() -> None:
    with pytest.raises(ParameterError, match="batch element 1"):
        SparseTensor(torch.ones(2, 1), torch.tensor([[0, 0, 0, 0], [2, 0, 0, 0]]))
    with pytest.raises(ParameterError, match="coordinates\\[1\\]"):
        sparse_collate([np.zeros((1, 3), int), np.zeros((0, 3), int)], [np.ones((1, 1)), np.ones((0, 1))])
    with pytest.raises(ParameterError, match="duplicate"):
        SparseTensor(torch.ones(2, 1), torch.tensor([[0, 1, 2, 3], [0, 1, 2, 3]]))
    with pytest.raises(ParameterError, match="range|lie in"):
        SparseTensor(torch.ones(1, 1), torch.tensor([[0, 1 << 15, 0, 0]]))
    with pytest.raises(ParameterError, match="multiples"):
        SparseTensor(torch.ones(1, 1), torch.tensor([[0, 1, 0, 0]]), tensor_stride=2)
    with pytest.raises(ParameterError, match="integer"):
        sparse_collate([np.zeros((1, 3))], [np.ones((1, 1))])


def test_kernel_shapes_match_minkowski() -> None:
    assert tuple(SparseConv3d(3, 5, 1).kernel.shape) == (3, 5)
    assert tuple(SparseConv3d(3, 5, 1, stride=2).kernel.shape) == (1, 3, 5)
    conv = SparseConv3d(3, 5, 3, bias=True)
    assert tuple(conv.kernel.shape) == (27, 3, 5) and tuple(conv.bias.shape) == (1, 5)


# Justified: CPU/GPU agreement needs a GPU; the project's machines have none (the device machine,
# when lent, runs it), and the CPU path is tested everywhere else in this file.
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu() -> None:
    """The same ops on the GPU: sites, values and gradients equal the CPU's."""
    rng = np.random.default_rng(9)
    sites = torch.as_tensor(random_sites(rng, 2, -6, 6, 0.3))
    feats = torch.as_tensor(rng.standard_normal((len(sites), 3)), dtype=DT)
    k1 = torch.as_tensor(rng.standard_normal((125, 3, 4)), dtype=DT)
    k2 = torch.as_tensor(rng.standard_normal((27, 4, 4)), dtype=DT)
    results = []
    for device in ("cpu", "cuda"):
        f = feats.to(device, copy=True).requires_grad_()
        w1, w2 = k1.to(device, copy=True).requires_grad_(), k2.to(device, copy=True).requires_grad_()
        y = avg_pool(conv3d(SparseTensor(f, sites.to(device)), w1, 5, 1))
        h = global_max_pool(conv3d(y, w2, 3, 2))
        (h * torch.arange(h.numel(), device=device).reshape(h.shape)).sum().backward()
        results.append([t.detach().cpu() for t in (y.C, y.F, h, f.grad, w1.grad, w2.grad)])
    for a, b in zip(*results):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("k", [2, 3])
def test_conv_matches_dense_on_either_kernel_map_path(monkeypatch, dense: bool, k: int) -> None:
    """The dense-grid kernel map (used for large maps) and the binary search give the same convolution."""
    import points2sound.sparse.coords as coords_mod

    monkeypatch.setattr(coords_mod, "_DENSE_MIN_QUERIES", 0 if dense else 2**62)
    compare_conv(k, 1, 1, seed=20 + k)
    compare_conv(k, 2, 2, seed=30 + k)


@pytest.mark.parametrize("seed", range(6))
def test_dense_and_searched_kernel_maps_are_equal(monkeypatch, seed: int) -> None:
    """Both lookups build the same table for every stride, kernel size and dilation, negative sites included."""
    import points2sound.sparse.coords as coords_mod

    rng = np.random.default_rng(seed)
    base = int(rng.choice([1, 2]))
    sites = random_sites(rng, int(rng.integers(1, 4)), -6, 7, float(rng.uniform(0.05, 0.6)), step=base)
    sites[:, 1:] += base * rng.integers(-40, 40, size=3)  # boxes away from the origin
    tables = []
    for threshold in (0, 2**62):
        monkeypatch.setattr(coords_mod, "_DENSE_MIN_QUERIES", threshold)
        manager = coords_mod.CoordinateManager(torch.as_tensor(sites), base, int(sites[:, 0].max()) + 1)
        tables.append(
            [
                manager.kernel_map(base * s_in, base * s_in * s, k, d)
                for s_in in (1, 2)
                for s in (1, 2, 3)
                for k in (1, 2, 3, 5)
                for d in (1, 2)
            ]
        )
    for dense, searched in zip(*tables):
        assert torch.equal(dense, searched)
