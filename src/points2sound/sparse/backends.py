"""Backend registry: the layer factories a model is built from.

'torch' (default) is this package's pure-PyTorch implementation. 'minkowski' builds
the same layers from MinkowskiEngine 0.5 when `import MinkowskiEngine` works; since
both use ME's parameter names and shapes, one state dict loads into either.

The 'minkowski' adapter is UNTESTED HERE: MinkowskiEngine does not build in this
project's environment (numpy 2 / torch 2.x). It is kept to the ME 0.5 calls the
Points2Sound reference code itself uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from points2sound.errors import ParameterError
from points2sound.sparse import nn as snn
from points2sound.sparse.tensor import sparse_collate


@dataclass(frozen=True)
class Backend:
    """Layer factories with one signature per layer kind.

    conv(in, out, kernel_size, stride, dilation, bias); batch_norm(channels, momentum);
    relu(); avg_pool(kernel_size, stride); global_max_pool() -> module returning a
    (B, C) tensor ordered by batch index; linear(in, out, bias);
    collate(coords list (m_i, 3), feats list (m_i, c), dtype, device) -> input tensor.
    """

    name: str
    conv: Callable[..., nn.Module]
    batch_norm: Callable[..., nn.Module]
    relu: Callable[[], nn.Module]
    avg_pool: Callable[[int, int], nn.Module]
    global_max_pool: Callable[[], nn.Module]
    linear: Callable[..., nn.Module]
    collate: Callable[..., Any]


def _torch_backend() -> Backend:
    return Backend(
        name="torch",
        conv=lambda i, o, kernel_size, stride=1, dilation=1, bias=False: snn.SparseConv3d(
            i, o, kernel_size, stride, dilation, bias
        ),
        batch_norm=lambda c, momentum=0.1: snn.SparseBatchNorm(c, momentum=momentum),
        relu=snn.SparseReLU,
        avg_pool=lambda kernel_size, stride: snn.SparseAvgPool(kernel_size, stride),
        global_max_pool=snn.SparseGlobalMaxPool,
        linear=lambda i, o, bias=True: snn.SparseLinear(i, o, bias),
        collate=lambda coords, feats, dtype=torch.float32, device=None: sparse_collate(coords, feats, dtype, device),
    )


def _minkowski_backend() -> Backend:  # pragma: no cover - needs MinkowskiEngine (untested here)
    try:
        import MinkowskiEngine as ME
    except ImportError as err:
        raise ParameterError("backend", f"'minkowski' needs MinkowskiEngine, which cannot be imported ({err})") from err

    class GlobalMaxPool(nn.Module):
        """ME global max pooling returning the features (B, C), rows sorted by batch index."""

        def __init__(self) -> None:
            super().__init__()
            self.pool = ME.MinkowskiGlobalMaxPooling()

        def forward(self, x: Any) -> torch.Tensor:
            out = self.pool(x)
            return out.F[torch.argsort(out.C[:, 0])]

    def collate(coords: Sequence, feats: Sequence, dtype: torch.dtype = torch.float32, device: Any = None) -> Any:
        c, f = ME.utils.sparse_collate([torch.as_tensor(x) for x in coords], [torch.as_tensor(x) for x in feats])
        return ME.SparseTensor(f.to(dtype), coordinates=c, device=device)

    return Backend(
        name="minkowski",
        conv=lambda i, o, kernel_size, stride=1, dilation=1, bias=False: ME.MinkowskiConvolution(
            i, o, kernel_size=kernel_size, stride=stride, dilation=dilation, bias=bias, dimension=3
        ),
        batch_norm=lambda c, momentum=0.1: ME.MinkowskiBatchNorm(c, momentum=momentum),
        relu=ME.MinkowskiReLU,
        avg_pool=lambda kernel_size, stride: ME.MinkowskiAvgPooling(
            kernel_size=kernel_size, stride=stride, dimension=3
        ),
        global_max_pool=GlobalMaxPool,
        linear=lambda i, o, bias=True: ME.MinkowskiLinear(i, o, bias=bias),
        collate=collate,
    )


_REGISTRY: dict[str, Callable[[], Backend]] = {"torch": _torch_backend, "minkowski": _minkowski_backend}


def get_backend(name: str = "torch") -> Backend:
    """The layer factories of backend `name` ('torch' or 'minkowski')."""
    if name not in _REGISTRY:
        raise ParameterError("backend", f"unknown sparse backend {name!r}; choose from {sorted(_REGISTRY)}")
    return _REGISTRY[name]()


def available_backends() -> list[str]:
    """Backends that can be built in this environment."""
    names = []
    for name in _REGISTRY:
        try:
            get_backend(name)
        except ParameterError:
            continue
        names.append(name)
    return names
