"""Binaural rendering: SOFA I/O, the rigid-sphere head, shoebox rooms, convolution.

Azimuths are head-related degrees, 0 = front, 90 = left, counter-clockwise (Two!Ears:
the head looks along +x, a source at azimuth a sits at (cos a, sin a, 0)). Ear 0 is
the left ear, ear 1 the right ear.
"""

from .binaural import render_binaural, render_recordings
from .sofa_io import IRSet, read_ir_set, resample_ir_set, write_brir_sofa, write_hrir_sofa
from .sphere_head import sphere_hrirs, sphere_hrirs_directions, sphere_transfer_function

__all__ = [
    "IRSet",
    "ROOM_PRESETS",
    "read_ir_set",
    "render_binaural",
    "render_recordings",
    "resample_ir_set",
    "simulate_brirs",
    "sphere_hrirs",
    "sphere_hrirs_directions",
    "sphere_transfer_function",
    "write_brir_sofa",
    "write_hrir_sofa",
]


def __getattr__(name: str):
    # the room simulation pulls in pyroomacoustics (~1.5 s to import): load it on first use
    if name in ("ROOM_PRESETS", "simulate_brirs"):
        from . import room

        return getattr(room, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
