"""Self-supervised orientation pretext for the vision trunk: which way does a performer face?

In a scene every performer faces the listener, so with colour features (rgb-depth) a
performer's orientation is what gives its azimuth away (sparse convolutions and global
max pooling see no absolute position). The paper's network learns this from the audio
loss over 120k iterations; a short CPU budget does not get there (the demo's L_diff
model converged to predicting L - R = 0, while the same Demucs with the true azimuth as
its condition beat copying the input within 250 steps: benchmarks/diag_conditioning.py).
This pretext turns a training performer about its vertical axis by k * 360 / bins
degrees and asks for k, with the scene augmentations and no label beyond the turn it
made, after the shape classification of the paper. Off in the paper profile
(`pretrain.orientation_iterations: 0`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from points2sound.data.scenes import SceneSources
from points2sound.errors import ParameterError
from points2sound.geometry.augment import AugmentParams, augment_performer
from points2sound.geometry.transforms import rotate_scene
from points2sound.geometry.voxelize import scene_features, voxelize
from points2sound.train.pretrain import Shape


class OrientationSet:
    """Item i: a seeded performer frame of the split, augmented, turned by a seeded k bins; label k."""

    def __init__(self, sources: SceneSources, instruments: list[str], voxel_size: float, seed: int, bins: int,
                 features: str, augment: AugmentParams | None):
        self.items = [(inst, p) for inst in instruments for p in sources.performers_of(inst)]
        if not self.items:
            raise ParameterError("pretrain.orientation_iterations", f"split {sources.split!r} has no performers")
        self.sources, self.voxel_size, self.seed, self.bins = sources, voxel_size, seed, bins
        self.features, self.augment = features, augment

    def __getitem__(self, i: int) -> Shape:
        rng = np.random.default_rng([self.seed, i])
        inst, perf = self.items[int(rng.integers(len(self.items)))]
        cloud = self.sources.cache.frame(self.sources.frame_path(inst, perf.name, int(rng.integers(perf.n_frames))))
        if self.augment is not None:
            cloud = augment_performer(cloud, rng, self.augment)
        k = int(rng.integers(self.bins))
        cloud = rotate_scene(cloud, 2 * np.pi * k / self.bins)
        coords, feats = voxelize(cloud.xyz, scene_features(cloud, self.features), self.voxel_size)
        return Shape(coords, feats, k)


def orientation_sets(params: Mapping[str, Any], dataset_root: Path, seed: int) -> tuple[OrientationSet, OrientationSet]:
    """Training (augmented) and validation (plain) sets from the train and val performers."""
    cfg = params["pretrain"]
    instruments = list(params["instruments"])
    hrir = params["hrir"]["name"]
    make = lambda split, aug, s: OrientationSet(  # noqa: E731
        SceneSources.from_dataset(dataset_root, split, hrir, require_renders=False), instruments, params["scenes"]["voxel_size_m"], s,
        cfg["orientation_bins"], cfg["orientation_features"], aug)
    return (make("train", AugmentParams(**params["scenes"]["augment"]), seed),
            make("val", None, seed + 1))
