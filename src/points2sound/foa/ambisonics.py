"""First-order ambisonics (FOA) in the ambiX convention: ACN channel order (W, Y, Z, X), SN3D normalization.

Why FOA beside binaural: a sound field can be turned with the listener's head by a 4 x 4 matrix and
decoded to headphones through any HRIR set afterwards, so a prediction need not be recomputed for
every head orientation (Morgado et al., seed paper 003). The axes are the project's head frame
(x front, y left, z up; azimuth counter-clockwise from the front, as in `render`), so a source at
azimuth a and elevation e has gains W = 1, Y = sin a cos e, Z = sin e, X = cos a cos e.

The binaural decoder is spaudiopy's magnitude-least-squares one (Zotter & Frank; Hold et al. 2023).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..render.binaural import render_binaural
from ..render.sofa_io import IRSet

FOA_CHANNELS = ("W", "Y", "Z", "X")
# SN3D -> orthonormal real spherical harmonics (spaudiopy's 'real' basis), per channel (order 0, 1, 1, 1)
_SN3D_TO_ORTHONORMAL = np.array([1.0, np.sqrt(3.0), np.sqrt(3.0), np.sqrt(3.0)]) / np.sqrt(4.0 * np.pi)


def foa_gains(azimuth_deg: np.ndarray | float, elevation_deg: np.ndarray | float = 0.0) -> np.ndarray:
    """(..., 4) ambiX SN3D gains of plane waves from these directions."""
    az = np.deg2rad(np.asarray(azimuth_deg, dtype=float))
    el = np.deg2rad(np.asarray(elevation_deg, dtype=float))
    az, el = np.broadcast_arrays(az, el)
    return np.stack([np.ones_like(az), np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)], axis=-1)


def encode_foa(sources: np.ndarray, azimuths_deg: np.ndarray, elevations_deg: np.ndarray | float = 0.0) -> np.ndarray:
    """(4, T) sound field of sources (S, T) as plane waves from their directions (S,), summed."""
    sources = np.atleast_2d(np.asarray(sources))
    gains = foa_gains(azimuths_deg, elevations_deg).reshape(-1, 4)
    if gains.shape[0] != sources.shape[0]:
        raise ParameterError("azimuths_deg", f"{gains.shape[0]} directions for {sources.shape[0]} sources")
    return (gains.T @ sources).astype(sources.dtype, copy=False)


def yaw_matrix(yaw_deg: float) -> np.ndarray:
    """(4, 4) rotation of an ambiX field for a listener who turns the head `yaw_deg` to the left.

    Every source then lies `yaw_deg` further to the right in the head frame: a field encoded at
    azimuth a becomes the field encoded at a - yaw. W and Z do not change."""
    c, s = np.cos(np.deg2rad(yaw_deg)), np.sin(np.deg2rad(yaw_deg))
    m = np.eye(4)
    # (Y, X) of a direction rotated by -yaw: Y' = c Y - s X, X' = s Y + c X
    m[1, 1], m[1, 3], m[3, 1], m[3, 3] = c, -s, s, c
    return m


def rotate_foa(foa: np.ndarray, yaw_deg: float) -> np.ndarray:
    """The field (..., 4, T) heard after turning the head `yaw_deg` to the left (see `yaw_matrix`)."""
    foa = np.asarray(foa)
    if foa.ndim < 2 or foa.shape[-2] != 4:
        raise ParameterError("foa", f"expected (..., 4, T) ambiX channels, got shape {foa.shape}")
    return np.einsum("ij,...jt->...it", yaw_matrix(yaw_deg), foa).astype(foa.dtype, copy=False)


def _spaudiopy():
    """spaudiopy, made to work with SciPy >= 1.17, which removed `scipy.special.sph_harm` (spaudiopy 0.2.0 calls it)."""
    import contextlib
    import io
    import warnings

    import scipy.special

    if not hasattr(scipy.special, "sph_harm"):  # same function, arguments in another order
        scipy.special.sph_harm = lambda m, n, azi, zen: scipy.special.sph_harm_y(n, m, zen, azi)
    # without PortAudio it prints and warns that it cannot play sound (not needed here): keep stdout clean
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        import spaudiopy
    return spaudiopy


def binaural_decoder(irset: IRSet) -> np.ndarray:
    """(2, 4, L) decoding filters from ambiX SN3D channels to the left and right ear through `irset`.

    spaudiopy's magnitude-least-squares decoder, fitted on the set's measured directions. A horizontal
    set constrains no Z: its filter is zero, which is right for horizontal sources."""
    spa = _spaudiopy()
    if irset.kind != "hrir":
        raise ParameterError("irset", f"{irset.name!r} is a {irset.kind}: FOA decoding needs an anechoic HRIR set")
    if len(irset.azimuths_deg) < 8:
        raise ParameterError(
            "irset", f"{irset.name!r} has {len(irset.azimuths_deg)} directions: too few to fit a decoder"
        )
    hrirs = spa.sig.HRIRs(
        irset.irs[:, 0].astype(float),
        irset.irs[:, 1].astype(float),
        np.deg2rad(irset.azimuths_deg),
        np.deg2rad(90.0 - irset.elevations_deg),
        irset.sample_rate,
    )
    filters = spa.decoder.magls_bin(hrirs, 1) * _SN3D_TO_ORTHONORMAL[None, :, None]  # fitted for orthonormal SH
    if np.allclose(irset.elevations_deg, 0.0):
        filters[:, 2] = 0.0  # rounding noise (1e-19) where no measurement constrains Z
    return filters.astype(np.float32)


def decode_binaural(foa: np.ndarray, decoder: np.ndarray) -> np.ndarray:
    """(2, T) headphone signals of an ambiX field (4, T): each ear sums its channels' filtered signals."""
    foa = np.asarray(foa)
    if foa.ndim != 2 or foa.shape[0] != 4:
        raise ParameterError("foa", f"expected (4, T) ambiX channels, got shape {foa.shape}")
    filters = decoder.astype(foa.dtype, copy=False)
    return sum(render_binaural(foa[c], filters[None, :, c])[0] for c in range(4) if np.any(filters[:, c]))
