"""The FOA target of a scene: each source's mono recording encoded at its azimuth, summed.

The scaling is the binaural target's (`data.scenes.build.scene_audio`): 1/N when `scale_by_n`, so
the W channel is the true mono mixture the binaural scenes' `true_mono` input holds.
"""

from __future__ import annotations

import numpy as np

from ..data.scenes.sources import SceneSources
from ..data.scenes.spec import SceneSpec
from ..errors import InputFileError
from .ambisonics import encode_foa


def scene_foa(spec: SceneSpec, sources: SceneSources, *, scale_by_n: bool) -> np.ndarray:
    """(4, T) float32 ambiX field of the scene (W, Y, Z, X)."""
    t = spec.segment_samples
    monos = np.zeros((spec.n_sources, t), np.float64)
    for i, s in enumerate(spec.sources):
        path = sources.mono_path(s.instrument, s.recording)
        if not path.is_file():
            raise InputFileError(path, "mono recording not found", f"the audio of split {sources.split!r}")
        monos[i] = sources.cache.audio(path, s.start, s.start + t, 1, sources.sample_rate)[0]
    gain = 1.0 / spec.n_sources if scale_by_n else 1.0
    field = encode_foa(monos, np.array([s.azimuth_deg for s in spec.sources], dtype=float))
    return (field * gain).astype(np.float32)
