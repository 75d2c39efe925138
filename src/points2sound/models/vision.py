"""Sparse ResNet18 vision network (paper Sec. 3.2.3) and its ModelNet classification variant.

Layout of MinkowskiEngine's ResNetBase as used by the Points2Sound reference code:

    conv1 5x5x5 stride 2 -> bn1 -> relu -> pool (avg 2, stride 2)     tensor stride 4
    layer1..layer4: 2 BasicBlocks each, first block stride 2          tensor stride 8, 16, 32, 64
        BasicBlock: conv 3x3x3 (stride s) -> BN -> ReLU -> conv 3x3x3 -> BN, + residual, ReLU;
        residual = 1x1x1 stride-s conv + BN where stride or width changes
    SparseResNet18:         fc 3x3x3 conv to K channels -> global max pool -> h (B, K)
    SparseResNetClassifier: conv5 3x3x3 stride 3 -> bn5 -> relu -> global max pool -> final linear

Module names follow ME's ResNetBase (conv1, bn1, layer1.0.conv1, ..., conv5, bn5, final)
and the layers use ME's parameter names, so the classifier's state dict has the keys
of ME's ResNet18 and its backbone loads into SparseResNet18 by name. The Points2Sound
reference checkpoint (keys features.N... and fc) converts with `from_reference_state_dict`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from points2sound.errors import ParameterError
from points2sound.sparse.backends import Backend, get_backend

PAPER_PLANES = (64, 128, 256, 512)
BACKBONE_PREFIXES = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.")
# Points2Sound reference: nn.Sequential(*children[:-4]) of ME's ResNet18 -> features.<index>.
_REFERENCE_INDEX = {"0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4"}


class BasicBlock(nn.Module):
    """Two 3x3x3 sparse convs with batch norm and a residual connection (ME resnet_block.BasicBlock).

    Shapes: (n, inplanes) at tensor stride t -> (n', planes) at tensor stride t * stride.
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        bn_momentum: float = 0.1,
        backend: Backend | None = None,
    ):
        super().__init__()
        ops = backend or get_backend("torch")
        self.conv1 = ops.conv(inplanes, planes, 3, stride, dilation)
        self.norm1 = ops.batch_norm(planes, bn_momentum)
        self.conv2 = ops.conv(planes, planes, 3, 1, dilation)
        self.norm2 = ops.batch_norm(planes, bn_momentum)
        self.relu = ops.relu()
        self.downsample = downsample

    def forward(self, x: Any) -> Any:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(out + residual)


class SparseResNetBase(nn.Module):
    """Stem and four residual stages shared by the vision network and the classifier.

    Args:
        in_channels: input feature width (3: rgb, or metric xyz for depth-only).
        planes: widths of the four stages; (64, 128, 256, 512) in the paper.
        layers: BasicBlocks per stage; (2, 2, 2, 2) is ResNet18.
        init_dim: stem width (ME's INIT_DIM, 64); default planes[0].
        stem_kernel: stem kernel size (5 in ME's ResNetBase).
        backend: 'torch' (pure PyTorch, default) or 'minkowski'.
        seed: seeds the initial weights (ME's init: kaiming normal, fan_out, on the
            conv kernels; batch norm weight 1, bias 0).
    """

    def __init__(
        self,
        in_channels: int = 3,
        planes: Sequence[int] = PAPER_PLANES,
        layers: Sequence[int] = (2, 2, 2, 2),
        init_dim: int | None = None,
        stem_kernel: int = 5,
        backend: str = "torch",
        seed: int = 0,
    ):
        super().__init__()
        if len(planes) != 4 or len(layers) != 4 or min(planes) < 1 or min(layers) < 1:
            raise ParameterError("planes", f"need four positive stage widths and block counts, got {planes}, {layers}")
        self.backend_name = backend
        ops = get_backend(backend)
        self.inplanes = int(init_dim or planes[0])
        self.conv1 = ops.conv(in_channels, self.inplanes, stem_kernel, 2)
        self.bn1 = ops.batch_norm(self.inplanes)
        self.relu = ops.relu()
        self.pool = ops.avg_pool(2, 2)
        self.layer1 = self._make_layer(ops, planes[0], layers[0], stride=2)
        self.layer2 = self._make_layer(ops, planes[1], layers[1], stride=2)
        self.layer3 = self._make_layer(ops, planes[2], layers[2], stride=2)
        self.layer4 = self._make_layer(ops, planes[3], layers[3], stride=2)
        self.feature_channels = int(planes[3])
        self.seed = int(seed)
        self._init_trunk(seeded_generator(self.seed, 0))

    def _make_layer(self, ops: Backend, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * BasicBlock.expansion:
            downsample = nn.Sequential(ops.conv(self.inplanes, planes, 1, stride), ops.batch_norm(planes))
        stage = [BasicBlock(self.inplanes, planes, stride, downsample=downsample, backend=ops)]
        self.inplanes = planes * BasicBlock.expansion
        stage += [BasicBlock(self.inplanes, planes, 1, backend=ops) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def _init_trunk(self, generator: torch.Generator) -> None:
        """ME ResNetBase.weight_initialization, on every module built so far."""
        for module in self.modules():
            if hasattr(module, "kernel"):
                kaiming_normal_fan_out(module.kernel, generator)
            if hasattr(module, "bn") and isinstance(module.bn, nn.modules.batchnorm._BatchNorm):
                nn.init.constant_(module.bn.weight, 1.0)
                nn.init.constant_(module.bn.bias, 0.0)

    def forward_features(self, x: Any) -> Any:
        """Input sparse tensor (n, in_channels) at stride 1 -> (n', planes[3]) at tensor stride 64."""
        x = self.pool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def collate(
        self,
        coordinates: Sequence,
        features: Sequence,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> Any:
        """The backend's input tensor from per-scene voxels (m_i, 3) int and features (m_i, c)."""
        return get_backend(self.backend_name).collate(coordinates, features, dtype, device)

    def backbone_state_dict(self) -> dict[str, torch.Tensor]:
        """The parameters and buffers of stem and stages (the part shared by both heads)."""
        return backbone_state_dict(self.state_dict())

    def load_backbone(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Load stem and stages from any state dict holding them (e.g. a trained classifier's).

        Raises ParameterError if a backbone entry is missing or has another shape.
        """
        own = self.backbone_state_dict()
        given = backbone_state_dict(state_dict)
        missing = sorted(set(own) - set(given))
        if missing:
            raise ParameterError(
                "state_dict", f"backbone entries missing: {missing[:5]}{' ...' if len(missing) > 5 else ''}"
            )
        wrong = [k for k in own if tuple(own[k].shape) != tuple(given[k].shape)]
        if wrong:
            raise ParameterError(
                "state_dict", f"backbone shapes differ for {wrong[:5]} (another width or in_channels?)"
            )
        self.load_state_dict(given, strict=False)


class SparseResNet18(SparseResNetBase):
    """The Points2Sound vision network: sparse ResNet18 trunk, 3x3x3 conv to K channels, global max pool.

    Args:
        in_channels: input feature width (3).
        out_channels: K, the width of the visual feature h (16 in the paper).
        trunk, trunk_options: planes, layers, init_dim, stem_kernel, backend, seed, as
            SparseResNetBase takes them; e.g. planes (16, 32, 64, 128) for a small demo network.

    Shapes: sparse tensor of B scenes, (n, in_channels) at voxel indices (0.02 m
    voxels in the paper) -> h: (B, out_channels), row b for batch index b.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 16, *trunk: Any, **trunk_options: Any):
        super().__init__(in_channels, *trunk, **trunk_options)
        ops = get_backend(self.backend_name)
        self.out_channels = int(out_channels)
        self.fc = ops.conv(self.feature_channels, out_channels, 3, 1)
        self.glob_pool = ops.global_max_pool()
        # The reference head keeps ME's default conv init: uniform +-1/sqrt(c_in * 27).
        bound = 1.0 / math.sqrt(self.feature_channels * 27)
        with torch.no_grad():
            self.fc.kernel.uniform_(-bound, bound, generator=seeded_generator(self.seed, 1))

    def load_pretrained(self, state_dict: Mapping[str, torch.Tensor]) -> bool:
        """The trunk of any pre-training checkpoint, and its K-wide head where it has one of this shape
        (the scene pretext trains this very network). Returns whether the head was loaded."""
        self.load_backbone(state_dict)
        head = {k: v for k, v in state_dict.items() if k.startswith("fc.")}
        own = {k: v for k, v in self.state_dict().items() if k.startswith("fc.")}
        if set(head) != set(own) or any(tuple(head[k].shape) != tuple(own[k].shape) for k in own):
            return False
        self.load_state_dict(head, strict=False)
        return True

    def scale_feature(self, std: torch.Tensor) -> None:
        """Divide h's channels by `std` (max pooling commutes with a positive per-channel factor)."""
        with torch.no_grad():
            self.fc.kernel.div_(std)

    def forward(self, x: Any) -> torch.Tensor:
        """x: sparse tensor (n, in_channels), B scenes -> h: (B, out_channels)."""
        return self.glob_pool(self.fc(self.forward_features(x)))


class SparseResNetClassifier(SparseResNetBase):
    """ME's ResNet18 for ModelNet40 pre-training: trunk, conv5 (3x3x3, stride 3), BN, ReLU, global max, linear.

    Its state dict has ME ResNet18's keys; `SparseResNet18.load_backbone(classifier.state_dict())`
    transfers the pre-trained trunk. Shapes: sparse tensor of B shapes -> logits (B, n_classes).
    `trunk`, `trunk_options`: SparseResNetBase's arguments after in_channels (planes, layers, ...).
    """

    def __init__(self, in_channels: int = 3, n_classes: int = 40, *trunk: Any, **trunk_options: Any):
        super().__init__(in_channels, *trunk, **trunk_options)
        ops = get_backend(self.backend_name)
        width = self.feature_channels
        self.conv5 = ops.conv(width, width, 3, 3)
        self.bn5 = ops.batch_norm(width)
        self.glob_pool = ops.global_max_pool()
        self.final = ops.linear(width, n_classes, True)
        self.n_classes = int(n_classes)
        generator = seeded_generator(self.seed, 2)
        kaiming_normal_fan_out(self.conv5.kernel, generator)
        nn.init.constant_(self.bn5.bn.weight, 1.0)
        nn.init.constant_(self.bn5.bn.bias, 0.0)
        bound = 1.0 / math.sqrt(width)  # torch's default Linear init, from our generator
        with torch.no_grad():
            self.final.linear.weight.uniform_(-bound, bound, generator=generator)
            self.final.linear.bias.uniform_(-bound, bound, generator=generator)

    def forward(self, x: Any) -> torch.Tensor:
        """x: sparse tensor (n, in_channels), B shapes -> logits (B, n_classes)."""
        x = self.relu(self.bn5(self.conv5(self.forward_features(x))))
        return self.final(self.glob_pool(x))


def seeded_generator(seed: int, stream: int) -> torch.Generator:
    """An independent torch generator per (seed, stream), via numpy's SeedSequence."""
    state = np.random.SeedSequence([int(seed), int(stream)]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & ((1 << 63) - 1))


def kaiming_normal_fan_out(kernel: torch.Tensor, generator: torch.Generator | None = None) -> None:
    """ME.utils.kaiming_normal_(mode='fan_out', nonlinearity='relu') on an ME kernel.

    fan_out = c_out * K for a (K, c_in, c_out) kernel and size(0) for a 2-D one (ME's rule).
    """
    fan = kernel.shape[0] if kernel.dim() == 2 else kernel.shape[0] * kernel.shape[2]
    with torch.no_grad():
        kernel.normal_(0.0, math.sqrt(2.0) / math.sqrt(fan), generator=generator)


def backbone_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The entries of a state dict that belong to stem and stages (shared by both heads)."""
    return {k: v for k, v in state_dict.items() if k.startswith(BACKBONE_PREFIXES)}


def from_reference_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a Points2Sound reference vision checkpoint (features.N.*, fc.*) to SparseResNet18's keys.

    The reference wraps ME ResNet18's first eight children in `features`: 0 conv1,
    1 bn1, 4..7 layer1..layer4 (2, 3 are parameter-free). Tensors are unchanged.
    """
    out = {}
    for key, value in state_dict.items():
        key = key.removeprefix("module.")
        if key.startswith("features."):
            index, rest = key[len("features.") :].split(".", 1)
            if index not in _REFERENCE_INDEX:
                raise ParameterError("state_dict", f"unexpected reference key {key!r}")
            key = f"{_REFERENCE_INDEX[index]}.{rest}"
        out[key] = value
    return out


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameter values."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
