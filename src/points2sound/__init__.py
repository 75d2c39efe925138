"""Points2Sound: mono to binaural audio guided by 3D point clouds, as a reproducible pipeline."""

__version__ = "0.1.0"
