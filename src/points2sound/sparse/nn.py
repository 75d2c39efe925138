"""nn.Module layers on SparseTensor, with MinkowskiEngine's parameter names and shapes.

Parameter names and shapes equal ME 0.5's, so a state dict moves between this
backend and ME without renaming: `SparseConv3d.kernel` is (K, c_in, c_out), or
(c_in, c_out) when kernel_size == 1 and stride == 1 (ME's `use_mm` case);
`SparseConv3d.bias` is (1, c_out); `SparseBatchNorm.bn` and `SparseLinear.linear`
wrap torch's BatchNorm1d and Linear as ME does.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from points2sound.sparse import ops
from points2sound.sparse.tensor import SparseTensor


class SparseConv3d(nn.Module):
    """Sparse 3D convolution (ME MinkowskiConvolution, dimension 3, hyper-cube kernel).

    Args:
        in_channels, out_channels: feature widths.
        kernel_size: cube edge (1, 2, 3, 5, ... ); odd centred, even anchored at the site.
        stride: output tensor stride = input tensor stride * stride.
        dilation: tap spacing in units of the input tensor stride.
        bias: add a learned (1, out_channels) bias.
        generator: torch.Generator for the initial weights (ME's default: uniform
            +-1/sqrt(in_channels * K)); None uses torch's global generator.

    Shapes: SparseTensor (n, in_channels) at stride t -> (n', out_channels) at stride t * stride.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        dilation: int = 1,
        bias: bool = False,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.dilation = int(kernel_size), int(stride), int(dilation)
        volume = self.kernel_size**3
        shape = (in_channels, out_channels) if volume == 1 and stride == 1 else (volume, in_channels, out_channels)
        self.kernel = nn.Parameter(torch.empty(shape))
        self.bias = nn.Parameter(torch.empty(1, out_channels)) if bias else None
        self.reset_parameters(generator)

    @property
    def kernel_volume(self) -> int:
        return self.kernel_size**3

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        bound = 1.0 / math.sqrt(self.in_channels * self.kernel_volume)
        with torch.no_grad():
            self.kernel.uniform_(-bound, bound, generator=generator)
            if self.bias is not None:
                self.bias.uniform_(-bound, bound, generator=generator)

    def forward(self, x: SparseTensor) -> SparseTensor:
        return ops.conv3d(x, self.kernel, self.kernel_size, self.stride, self.dilation, self.bias)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, dilation={self.dilation}, bias={self.bias is not None}"
        )


class SparseBatchNorm(nn.Module):
    """BatchNorm1d over the feature rows of all sites of the batch (ME MinkowskiBatchNorm)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.bn = nn.BatchNorm1d(num_features, eps=eps, momentum=momentum)

    def forward(self, x: SparseTensor) -> SparseTensor:
        return x.replace_features(self.bn(x.F))


class SparseReLU(nn.Module):
    """ReLU on the features (not in place: autograd may need the input)."""

    def forward(self, x: SparseTensor) -> SparseTensor:
        return x.replace_features(torch.relu(x.F))


class SparseAvgPool(nn.Module):
    """Average of the present inputs per output window (ME MinkowskiAvgPooling)."""

    def __init__(self, kernel_size: int = 2, stride: int = 2, dilation: int = 1):
        super().__init__()
        self.kernel_size, self.stride, self.dilation = int(kernel_size), int(stride), int(dilation)

    def forward(self, x: SparseTensor) -> SparseTensor:
        return ops.avg_pool(x, self.kernel_size, self.stride, self.dilation)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class SparseGlobalMaxPool(nn.Module):
    """Per-batch-element channel maximum: SparseTensor (n, c) -> Tensor (B, c)."""

    def forward(self, x: SparseTensor) -> torch.Tensor:
        return ops.global_max_pool(x)


class SparseLinear(nn.Module):
    """Per-site linear layer (ME MinkowskiLinear): (n, in) -> (n, out), same sites."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=bias)

    def forward(self, x: SparseTensor | torch.Tensor) -> SparseTensor | torch.Tensor:
        if isinstance(x, SparseTensor):
            return x.replace_features(self.linear(x.F))
        return self.linear(x)
