"""Data: the real sources (sources/), the embedded default dataset (synth/), splits, and scenes (scenes/).

Every source writes the same on-disk layout (README, "The data contract"), so all
later stages are shared between real and embedded data.
"""
