"""Training-time augmentation of one performer's point cloud (paper Sec. 3.4).

Each performer in a training scene is augmented independently, in its own frame
and before it is placed around the listener, so a shear never moves it to
another azimuth. Every function takes an explicit np.random.Generator and
returns a new cloud (inputs, which may be cached frames, are never modified).
The spreads come from `scenes.augment` (params.yaml: the paper's values; the reference code
differs in two of them, stature_std 0.15 and colour noise variance 0.001, which the parameters allow).
"""

from __future__ import annotations

import numpy as np

from ..settings.scenes import AugmentParams
from .pointcloud import PointCloud


def shear(cloud: PointCloud, rng: np.random.Generator, shear_std: float) -> PointCloud:
    """Apply T = I + shear_std * randn(3, 3) about the cloud's centroid.

    Working about the centroid keeps the performer where it stands; only its
    shape is distorted (all nine elements are drawn, so this shears and scales
    along all axes, as the paper describes).
    """
    t = np.eye(3) + shear_std * rng.standard_normal((3, 3))
    xyz = cloud.xyz.astype(np.float64)
    centre = xyz.mean(axis=0) if len(xyz) else np.zeros(3)
    out = (xyz - centre) @ t.T + centre
    return PointCloud(out.astype(np.float32), cloud.rgb.copy())


def translate_stature(cloud: PointCloud, rng: np.random.Generator, stature_std: float) -> PointCloud:
    """Shift the whole performer along y (stature) by one draw of N(0, stature_std^2)."""
    dy = stature_std * rng.standard_normal()
    xyz = cloud.xyz.copy()
    xyz[:, 1] += np.float32(dy)
    return PointCloud(xyz, cloud.rgb.copy())


def color_noise(cloud: PointCloud, rng: np.random.Generator, color_noise_std: float) -> PointCloud:
    """Add N(0, color_noise_std^2) to every rgb channel of every point; clip to [0, 1]."""
    rgb = cloud.rgb + np.float32(color_noise_std) * rng.standard_normal(cloud.rgb.shape, dtype=np.float32)
    return PointCloud(cloud.xyz.copy(), np.clip(rgb, 0.0, 1.0))


def hsv_offset(cloud: PointCloud, rng: np.random.Generator, value_range: float, saturation_range: float) -> PointCloud:
    """Offset HSV value by U(-value_range, value_range) and saturation by
    U(-saturation_range, saturation_range), one draw each for the whole performer
    (brightness and colour intensity of the source); clip to [0, 1]; hue is kept.
    """
    dv = rng.uniform(-value_range, value_range)
    ds = rng.uniform(-saturation_range, saturation_range)
    return PointCloud(cloud.xyz.copy(), shift_value_saturation(cloud.rgb, dv, ds))


def shift_value_saturation(rgb: np.ndarray, dv: float, ds: float) -> np.ndarray:
    """rgb (n, 3) in [0, 1] with HSV value + dv and saturation + ds (each clipped to [0, 1]).

    Same result as matplotlib's rgb_to_hsv -> offset -> hsv_to_rgb (tested), in
    closed form and about 7x faster, which matters because it runs on every
    performer of every training scene: with V = max, m = min, S = (V - m) / V,
    each channel is V (1 - S (1 - w)) where w = (c - m) / (V - m) fixes the hue,
    so the new colour is V' (1 - S' (1 - w)). Greys (V = m) have no hue and stay
    grey (matplotlib would tint them red).
    """
    c = np.clip(np.ascontiguousarray(np.asarray(rgb, dtype=np.float32).T), 0.0, 1.0)  # (3, n): fast broadcasting
    v = np.maximum(np.maximum(c[0], c[1]), c[2])
    m = np.minimum(np.minimum(c[0], c[1]), c[2])
    chroma = v - m
    grey = chroma <= 0
    s = np.divide(chroma, v, out=np.zeros_like(v), where=v > 0)
    v2 = np.clip(v + np.float32(dv), 0.0, 1.0)
    s2 = np.clip(s + np.float32(ds), 0.0, 1.0)
    # V'(1 - S'(1 - w)) = V' - (S' V' / chroma) (V - c); zero for greys
    k = np.divide(s2 * v2, chroma, out=np.zeros_like(v), where=~grey)
    out = v2 - k * (v - c)
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0, out=out).T)


def augment_performer(cloud: PointCloud, rng: np.random.Generator, settings: AugmentParams) -> PointCloud:
    """All augmentations in a fixed order (shear, stature shift, colour noise, HSV offsets).

    The fixed order and a single generator make the result a function of the
    generator's state alone.
    """
    cloud = shear(cloud, rng, settings.shear_std)
    cloud = translate_stature(cloud, rng, settings.stature_std)
    cloud = color_noise(cloud, rng, settings.color_noise_std)
    return hsv_offset(cloud, rng, settings.value_range, settings.saturation_range)
