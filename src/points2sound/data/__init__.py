"""Data sources (real downloads and the embedded generator), splits, scenes and loaders.

Every source writes the same on-disk layout (see the design's data contract), so
all later stages are shared between real and embedded data.
"""
