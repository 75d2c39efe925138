"""Rigid-sphere head model: exact HRIRs of a point source at finite distance.

The embedded pipeline needs an anechoic HRIR set that behaves like a measured one
(ITD, ILD growing with frequency, head shadow, propagation delay) without shipping
measured data. The rigid sphere has an exact solution (Rayleigh; Duda & Martens 1998,
"Range dependence of the response of a spherical head model", JASA 104(5)):

    p(ear) / p_ff(centre) = -(rho/mu) e^{-i mu rho} sum_n (2n+1) P_n(cos g) h_n(mu rho) / h_n'(mu)

with mu = k a, rho = r / a, g the angle between the ear and the source seen from the
centre, h_n the outgoing spherical Hankel function (physics convention e^{-i w t}).
We return the response that a measurement would give: the free-field propagation
e^{ikr}/r is multiplied back in, so at low frequency the response tends to ~1/r
(exactly to the potential-flow limit, see `_static_limit`) and the delay r/c is there.

The ratio h_n(mu rho)/h_n'(mu) is evaluated with forward recurrences of the ratios
h_n/h_{n-1} (stable for outgoing Hankel functions) so nothing overflows at low
frequency or high order; products only underflow to 0, which is the right limit.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy.special import eval_legendre

from ..errors import ParameterError

_TOL = 1e-12  # relative size of the neglected tail of the series


def _check(head_radius_m: float, distance_m: float, speed_of_sound: float) -> None:
    if not head_radius_m > 0:
        raise ParameterError("head_radius_m", f"must be > 0, got {head_radius_m}")
    if not distance_m > head_radius_m * 1.05:
        raise ParameterError("distance_m", f"must exceed the head radius ({head_radius_m} m) by 5 %, got {distance_m}")
    if not speed_of_sound > 0:
        raise ParameterError("speed_of_sound", f"must be > 0, got {speed_of_sound}")


def _static_limit(cos_angle: np.ndarray, rho: float, distance_m: float) -> np.ndarray:
    """Zero-frequency response: incompressible flow of a point source past a rigid sphere.

    Free field: 1/|x - r_s| = (1/r) sum rho^-n P_n; the rigid sphere adds the reflected
    part n/(n+1) of each term, so the total is (1/r) sum (2n+1)/(n+1) rho^-n P_n.
    """
    n_max = int(np.ceil(np.log(_TOL) / np.log(1.0 / rho))) + 2
    n = np.arange(n_max + 1)
    coef = (2 * n + 1) / (n + 1) * rho ** (-n.astype(float))
    return coef @ eval_legendre(n[:, None], cos_angle[None, :]) / distance_m


def _series_coefficients(mu: np.ndarray, rho: float, n_terms: int) -> np.ndarray:
    """(F, n_terms) complex: (2n+1) h_n(mu rho) / h_n'(mu) for every mu > 0 (physics convention)."""
    xa, xs = mu, mu * rho
    out = np.empty((mu.size, n_terms), dtype=np.complex128)
    q_a = 1.0 / xa - 1j  # q_1 = h_1/h_0 at the sphere surface
    q_s = 1.0 / xs - 1j  # ... at the source distance
    ratio = np.exp(1j * mu * (rho - 1.0)) / rho  # h_0(xs) / h_0(xa)
    out[:, 0] = ratio / (-q_a)  # h_0' = -h_1
    with np.errstate(under="ignore"):
        for n in range(1, n_terms):
            ratio = ratio * (q_s / q_a)  # h_n(xs) / h_n(xa)
            dlog = 1.0 / q_a - (n + 1) / xa  # h_n'(xa) / h_n(xa)
            out[:, n] = (2 * n + 1) * ratio / dlog
            q_a = (2 * n + 1) / xa - 1.0 / q_a  # h_{n+1}/h_n by the three-term recurrence
            q_s = (2 * n + 1) / xs - 1.0 / q_s
    return out


def sphere_transfer_function(
    freqs_hz: np.ndarray,
    cos_angle: np.ndarray,
    head_radius_m: float,
    distance_m: float,
    speed_of_sound: float,
) -> np.ndarray:
    """Complex pressure at points on a rigid sphere from a point source, shape (F, D).

    `cos_angle` (D,) is the cosine of the angle between each ear and the source seen
    from the sphere's centre. Normalised so that the free field of the source is
    e^{-i w r/c} / r (r in metres): the result tends to ~1/r at 0 Hz and carries the
    propagation delay. Sign convention of numpy's FFT (a delay tau is e^{-i w tau}).
    The series is summed until its tail is below 1e-12 of the 1/r scale.
    """
    _check(head_radius_m, distance_m, speed_of_sound)
    freqs = np.atleast_1d(np.asarray(freqs_hz, dtype=float))
    cos_angle = np.clip(np.atleast_1d(np.asarray(cos_angle, dtype=float)), -1.0, 1.0)
    if np.any(freqs < 0) or not np.all(np.isfinite(freqs)):
        raise ParameterError("freqs_hz", "must be finite and >= 0")
    rho = distance_m / head_radius_m
    out = np.empty((freqs.size, cos_angle.size), dtype=np.complex128)
    dc = freqs == 0
    if dc.any():
        out[dc] = _static_limit(cos_angle, rho, distance_m)[None, :]
    if (~dc).any():
        mu = 2 * np.pi * freqs[~dc] * head_radius_m / speed_of_sound
        # terms die off geometrically beyond n ~ mu (and like rho^-n at low mu)
        n_terms = int(mu.max() + 6 * np.cbrt(mu.max()) + np.log(_TOL) / np.log(1.0 / rho)) + 8
        while True:
            coef = _series_coefficients(mu, rho, n_terms)
            scale = -(rho / (mu * distance_m))[:, None]  # brings the tail to the 1/r scale
            tail = np.max(np.abs(coef[:, -4:] * scale))
            if tail < _TOL / distance_m or n_terms > 4000:
                break
            n_terms *= 2
        n = np.arange(n_terms)
        legendre = eval_legendre(n[:, None], cos_angle[None, :])  # (n, D), |P_n| <= 1
        # the physics convention (e^{-i w t}) becomes numpy's by complex conjugation
        out[~dc] = np.conj((coef * scale) @ legendre)
    return out


def ear_cosines(directions: np.ndarray, ear_angle_deg: float) -> np.ndarray:
    """(M, 2) cosines between unit source directions (M, 3) and the (left, right) ears.

    Head frame: x front, y left, z up; ears on the horizontal plane at +-ear_angle_deg.
    """
    e = np.deg2rad(ear_angle_deg)
    ears = np.array([[np.cos(e), np.sin(e), 0.0], [np.cos(e), -np.sin(e), 0.0]])
    d = np.asarray(directions, dtype=float)
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    return d @ ears.T


def sphere_hrirs_directions(
    directions: np.ndarray,
    sample_rate: int,
    *,
    head_radius_m: float,
    ear_angle_deg: float,
    distance_m: float,
    taps: int,
    speed_of_sound: float,
    onset_s: float = 0.5e-3,
) -> np.ndarray:
    """HRIRs (M, 2, taps) float32 for arbitrary 3D source directions (M, 3), head frame.

    The spectrum is sampled on an rFFT grid 4x longer than `taps` (so time aliasing is
    negligible), DC is the static limit, the Nyquist bin keeps its real part (a real
    signal's Nyquist bin is real). A constant `onset_s` is added to the propagation
    delay so the band-limited pre-ringing of the onset stays causal, and the last eighth
    of the response is faded out with a half-Hann window.
    """
    if taps < 32:
        raise ParameterError("taps", f"must be >= 32, got {taps}")
    if sample_rate <= 0:
        raise ParameterError("sample_rate", f"must be > 0, got {sample_rate}")
    _check(head_radius_m, distance_m, speed_of_sound)
    onset = onset_s * sample_rate
    # latest arrival: around the sphere to the far side plus ~1 ms of diffraction tail
    latest = onset + ((distance_m - head_radius_m) + np.pi * head_radius_m) / speed_of_sound * sample_rate
    fade = taps // 8
    if latest + 1e-3 * sample_rate > taps - fade:
        raise ParameterError(
            "taps",
            f"{taps} taps at {sample_rate} Hz cannot hold the {latest / sample_rate * 1e3:.1f} ms "
            f"delay of a source at {distance_m} m; use more taps",
        )
    n_fft = scipy.fft.next_fast_len(4 * taps, real=True)
    n_fft += n_fft % 2  # even length: a real Nyquist bin
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    cos = ear_cosines(directions, ear_angle_deg)  # (M, 2)
    spec = sphere_transfer_function(freqs, cos.ravel(), head_radius_m, distance_m, speed_of_sound)
    spec *= np.exp(-2j * np.pi * freqs * onset / sample_rate)[:, None]
    spec[-1] = spec[-1].real
    irs = scipy.fft.irfft(spec, n_fft, axis=0)[:taps].T.reshape(cos.shape[0], 2, taps)
    window = np.ones(taps)
    window[taps - fade :] = np.hanning(2 * fade)[fade:]
    return (irs * window).astype(np.float32)


def sphere_hrirs(
    azimuths_deg: np.ndarray,
    sample_rate: int,
    *,
    head_radius_m: float,
    ear_angle_deg: float,
    distance_m: float,
    taps: int,
    speed_of_sound: float,
) -> np.ndarray:
    """HRIRs (M, 2, taps) float32 on the horizontal plane; ear 0 = left, ear 1 = right.

    Azimuth in degrees, 0 = front, 90 = left (source at (cos a, sin a, 0), head looking +x).
    """
    az = np.deg2rad(np.atleast_1d(np.asarray(azimuths_deg, dtype=float)))
    if not np.all(np.isfinite(az)):
        raise ParameterError("azimuths_deg", "must be finite")
    directions = np.stack([np.cos(az), np.sin(az), np.zeros_like(az)], axis=1)
    return sphere_hrirs_directions(
        directions,
        sample_rate,
        head_radius_m=head_radius_m,
        ear_angle_deg=ear_angle_deg,
        distance_m=distance_m,
        taps=taps,
        speed_of_sound=speed_of_sound,
    )
