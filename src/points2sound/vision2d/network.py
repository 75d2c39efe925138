"""A 2D vision network for the 2D-against-3D question: torchvision's ResNet18 on a panorama.

The 3D network sees the scene's voxels; this one sees the same voxels as a 360 camera at the
listener's head would: an equirectangular rgb-depth panorama (`vision2d.panorama`) of the voxel
centres. It takes the very batches the 3D network takes (per-scene voxel indices and their rgb
features) and renders the panoramas in `collate`, so scenes, augmentation, the Rotated-Visual turn
(a quarter turn of the voxels is a quarter shift of the panorama) and every caller stay unchanged.

torchvision's ResNet18 as it is (widths 64..512, 7x7 stride-2 stem, global average pool), with a
4-channel stem (r, g, b, depth) and a K-wide linear head: h (B, K), the feature the 3D network
gives the conditioned Demucs. No ImageNet weights: they cannot be downloaded here, and the 3D
network has no such pre-training either (both go through the same scene pretext).

Shapes: coords per scene (m_i, 3) int voxel indices, feats (m_i, 3) rgb in [0, 1] -> panoramas
(B, 4, height, width) -> h (B, K).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from points2sound.errors import ParameterError
from points2sound.geometry.pointcloud import PointCloud
from points2sound.vision2d.panorama import CHANNELS, panorama


def _torchvision_resnet18(num_classes: int) -> nn.Module:
    try:
        from torchvision.models import resnet18
    except (ImportError, RuntimeError) as err:  # RuntimeError: a torchvision built for another torch
        raise ParameterError(
            "vision_net", f"'panorama2d' needs torchvision matching the installed torch ({err}); run `make setup`"
        ) from err
    return resnet18(weights=None, num_classes=num_classes)


class PanoramaResNet18(nn.Module):
    """torchvision ResNet18 with a 4-channel stem and a K-wide head, fed rgb-depth panoramas of voxel centres.

    Args:
        out_channels: K, the width of h.
        voxel_size_m: the scenes' voxel size (voxel i spans [i, i + 1) * voxel_size_m).
        width, height: the panorama's size in pixels (azimuth by elevation).
        max_depth_m: the distance that maps to depth 1.
        seed: seeds torchvision's initial weights (its init draws from the global generator: forked here).
    """

    def __init__(
        self,
        out_channels: int,
        voxel_size_m: float,
        width: int = 256,
        height: int = 128,
        max_depth_m: float = 4.0,
        seed: int = 0,
    ):
        super().__init__()
        if voxel_size_m <= 0:
            raise ParameterError("scenes.voxel_size_m", f"must be positive, got {voxel_size_m}")
        self.out_channels = int(out_channels)
        self.voxel_size_m = float(voxel_size_m)
        self.width, self.height, self.max_depth_m = int(width), int(height), float(max_depth_m)
        self.seed = int(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            net = _torchvision_resnet18(self.out_channels)
            stem = net.conv1
            net.conv1 = nn.Conv2d(
                len(CHANNELS), stem.out_channels, stem.kernel_size, stem.stride, stem.padding, bias=False
            )
            nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")  # torchvision's conv init
        self.fc = net.fc  # the K-wide head, named as the 3D network's
        net.fc = nn.Identity()
        self.trunk = net

    def panoramas(self, coordinates: Sequence, features: Sequence) -> np.ndarray:
        """(B, 4, height, width) float32 panoramas of per-scene voxel centres with their rgb features."""
        images = []
        for coords, feats in zip(coordinates, features):
            feats = np.asarray(feats, np.float32)
            if feats.ndim != 2 or feats.shape[1] != 3:
                raise ParameterError("features", f"a panorama needs rgb voxel features (m, 3), got {feats.shape}")
            xyz = (np.asarray(coords, np.float64) + 0.5) * self.voxel_size_m
            cloud = PointCloud(xyz.astype(np.float32), np.clip(feats, 0.0, 1.0))
            images.append(panorama(cloud, self.width, self.height, self.max_depth_m))
        return np.stack(images)

    def collate(
        self,
        coordinates: Sequence,
        features: Sequence,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """The network's input from per-scene voxels, as the 3D network's `collate` takes them."""
        return torch.from_numpy(self.panoramas(coordinates, features)).to(device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 4, height, width) -> h: (B, K)."""
        return self.fc(self.trunk(x))

    def scale_feature(self, std: torch.Tensor) -> None:
        """Divide h's channels by `std` (the head is linear: weight rows and bias divide alike)."""
        with torch.no_grad():
            self.fc.weight.div_(std[:, None])
            self.fc.bias.div_(std)

    def load_pretrained(self, state_dict: Mapping[str, torch.Tensor]) -> bool:
        """All weights of a 2D pre-training checkpoint (trunk and head: the scene pretext trains this very
        network). Returns True: the head is loaded."""
        own = self.state_dict()
        wrong = sorted(k for k in own if k not in state_dict or tuple(state_dict[k].shape) != tuple(own[k].shape))
        if wrong:
            raise ParameterError(
                "pretrained vision checkpoint",
                f"is not of this 2D network: {wrong[:5]}{' ...' if len(wrong) > 5 else ''} missing or of another shape",
            )
        self.load_state_dict({k: state_dict[k] for k in own})
        return True


def build_panorama_net(cfg: Mapping[str, Any], out_channels: int, seed: int) -> PanoramaResNet18:
    """The 2D network of a vision config that carries the panorama's size (`model.panorama`) and voxel size."""
    return PanoramaResNet18(
        out_channels,
        float(cfg["voxel_size_m"]),
        width=int(cfg["width"]),
        height=int(cfg["height"]),
        max_depth_m=float(cfg["max_depth_m"]),
        seed=seed,
    )
