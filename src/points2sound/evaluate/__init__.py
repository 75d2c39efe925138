"""Evaluation: the paper's binaural distances and the per-scene score files.

`metrics` scores one predicted binaural signal against its ground truth;
`scores` defines the per-scene CSV format and summarizes it per N.
"""

from .metrics import DEFINITIONS, binaural_scores, envelope_distance, stft_distance, stft_params

__all__ = ["DEFINITIONS", "binaural_scores", "envelope_distance", "stft_distance", "stft_params"]
