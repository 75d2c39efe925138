"""Functional sparse ops in plain PyTorch (autograd gives the backward, on CPU and GPU).

A convolution is one gather and one matrix product: the kernel map (n_out, K) from
the coordinate manager selects, for every output site and kernel offset, an input
row (or a zero row where the neighbour is absent); the gathered (n_out, K * c_in)
block times the kernel (K * c_in, c_out) is the generalised sparse convolution of
the paper's Eq. (4), with ME's site and offset conventions:

    out[o] = sum_i  kernel[i]^T  x[o + offset_i]      over offsets with o + offset_i occupied

`kernel_offsets` documents the offset order (x fastest) and scaling (input tensor stride).
"""

from __future__ import annotations

import torch

from points2sound.errors import ParameterError
from points2sound.sparse.tensor import SparseTensor


def _gather(features: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """(n, c) features, (m, K) table with n = empty -> (m, K, c); empty slots read zeros."""
    padded = torch.cat([features, features.new_zeros(1, features.shape[1])])
    return padded.index_select(0, table.reshape(-1)).reshape(table.shape[0], table.shape[1], features.shape[1])


def _check_factor(name: str, value: int) -> int:
    if int(value) != value or int(value) < 1:
        raise ParameterError(name, f"must be a positive integer, got {value}")
    return int(value)


def conv3d(
    x: SparseTensor,
    kernel: torch.Tensor,
    kernel_size: int,
    stride: int = 1,
    dilation: int = 1,
    bias: torch.Tensor | None = None,
) -> SparseTensor:
    """Generalised sparse 3D convolution with MinkowskiEngine semantics.

    Args:
        x: input, n sites, c_in channels, tensor stride t.
        kernel: (K, c_in, c_out) with K = kernel_size**3 in `kernel_offsets` order,
            or (c_in, c_out) for kernel_size 1 (any leading shape with that many values).
        kernel_size: cube edge; odd kernels are centred, even ones span 0 .. k-1.
        stride: 1 keeps the input sites; s > 1 gives the sites floor(c / (t s)) * (t s).
        dilation: spacing of the kernel taps in units of t.
        bias: (c_out,) or (1, c_out), optional.

    Returns:
        SparseTensor with c_out channels at tensor stride t * stride, sharing x's manager.
    """
    kernel_size = _check_factor("kernel_size", kernel_size)
    stride = _check_factor("stride", stride)
    dilation = _check_factor("dilation", dilation)
    feats = x.F
    c_in = feats.shape[1]
    volume = kernel_size**3
    if kernel.numel() % (volume * c_in):
        raise ParameterError(
            "kernel", f"{tuple(kernel.shape)} does not fit kernel volume {volume} x {c_in} input channels"
        )
    weight = kernel.reshape(volume * c_in, -1)
    out_stride = x.tensor_stride * stride
    if volume == 1 and stride == 1:
        out = feats @ weight  # a 1x1x1 convolution is a per-site linear map
    else:
        table = x.coordinate_manager.kernel_map(x.tensor_stride, out_stride, kernel_size, dilation)
        out = _gather(feats, table).reshape(table.shape[0], volume * c_in) @ weight
    if bias is not None:
        out = out + bias.reshape(1, -1)
    return SparseTensor.derived(out, x.coordinate_manager, out_stride)


def avg_pool(x: SparseTensor, kernel_size: int = 2, stride: int = 2, dilation: int = 1) -> SparseTensor:
    """Mean of the present inputs in each output's kernel window (ME MinkowskiAvgPooling).

    Unlike dense average pooling, absent sites do not count: an output with 3
    occupied inputs out of 8 is their mean. Output sites as in `conv3d`.
    (n, c) at stride t -> (n_out, c) at stride t * stride.
    """
    kernel_size = _check_factor("kernel_size", kernel_size)
    stride = _check_factor("stride", stride)
    dilation = _check_factor("dilation", dilation)
    out_stride = x.tensor_stride * stride
    table = x.coordinate_manager.kernel_map(x.tensor_stride, out_stride, kernel_size, dilation)
    total = _gather(x.F, table).sum(dim=1)
    count = (table < x.F.shape[0]).sum(dim=1, keepdim=True).clamp_(min=1)
    return SparseTensor.derived(total / count.to(total.dtype), x.coordinate_manager, out_stride)


def global_max_pool(x: SparseTensor) -> torch.Tensor:
    """Channel-wise maximum over the sites of each batch element: (n, c) -> (B, c).

    Row b of the result belongs to batch index b (ME MinkowskiGlobalMaxPooling
    returns the same values, one site per batch element).
    """
    feats = x.F
    batch = x.C[:, 0]
    counts = torch.bincount(batch, minlength=x.batch_size)
    if bool((counts == 0).any()):
        raise ParameterError("x", f"batch element {int(torch.nonzero(counts == 0)[0, 0])} has no sites")
    index = batch[:, None].expand(-1, feats.shape[1])
    out = feats.new_zeros(x.batch_size, feats.shape[1])
    return out.scatter_reduce(0, index, feats, reduce="amax", include_self=False)


def global_avg_pool(x: SparseTensor) -> torch.Tensor:
    """Channel-wise mean over the sites of each batch element: (n, c) -> (B, c)."""
    feats = x.F
    batch = x.C[:, 0]
    total = feats.new_zeros(x.batch_size, feats.shape[1]).index_add(0, batch, feats)
    counts = torch.bincount(batch, minlength=x.batch_size).clamp_(min=1).to(feats.dtype)
    return total / counts[:, None]
