"""Directional energy of an ambiX field and the earth mover's distance between two such maps.

Morgado et al. (seed paper 003, Sec. 3.3, Eq. 4) compare a predicted and a true first-order field
by where their energy comes from: each field is steered to a uniform grid of directions, its energy
per direction is normalized to a distribution, and the two distributions are compared by the
earth mover's distance (EMD) with the angle between directions as the ground distance. Our sources
are horizontal, so the grid is the horizontal circle, where the EMD has a closed form (Werman,
Peleg & Rosenfeld 1986): with D the cumulative difference of the two histograms,
EMD = (2 pi / N) * sum_i |D_i - median(D)|, in radians. The tests check it against a direct
optimal-transport solution (linear programming).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..foa.ambisonics import foa_gains


def circle_directions(n: int) -> np.ndarray:
    """(n,) azimuths in degrees, uniform on the horizontal circle, the first straight ahead."""
    if n < 4:
        raise ParameterError("n_directions", f"needs at least 4 directions on the circle, got {n}")
    return np.arange(n) * (360.0 / n)


def energy_map(foa: np.ndarray, n_directions: int) -> np.ndarray:
    """(n,) share of the field's energy steered to each of `n_directions` directions on the circle.

    The steering is the first-order projection beam (0.5 (W + X cos a + Y sin a): a cardioid, never
    negative), so a single plane wave gives a smooth map that peaks at its azimuth. A silent field
    has no direction: it gets the uniform map."""
    foa = np.asarray(foa, dtype=np.float64)
    if foa.ndim != 2 or foa.shape[0] != 4:
        raise ParameterError("foa", f"expected (4, T) ambiX channels, got shape {foa.shape}")
    beams = 0.5 * foa_gains(circle_directions(n_directions)) @ foa  # (n, T)
    energy = np.einsum("nt,nt->n", beams, beams)
    total = energy.sum()
    if total <= 0 or not np.isfinite(total):
        return np.full(n_directions, 1.0 / n_directions)
    return energy / total


def circular_emd(p: np.ndarray, q: np.ndarray) -> float:
    """Earth mover's distance in radians between two distributions on the same uniform circle grid."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 1:
        raise ParameterError("energy maps", f"need two maps on the same grid, got shapes {p.shape} and {q.shape}")
    if np.any(p < 0) or np.any(q < 0) or not np.isclose(p.sum(), 1.0) or not np.isclose(q.sum(), 1.0):
        raise ParameterError("energy maps", "must be distributions (non-negative, summing to 1)")
    cumulative = np.cumsum(p - q)
    return float(2 * np.pi / p.size * np.abs(cumulative - np.median(cumulative)).sum())


def foa_emd(pred: np.ndarray, true: np.ndarray, n_directions: int) -> float:
    """EMD (radians) between the energy maps of a predicted and a true ambiX field (Morgado's Eq. 4)."""
    return circular_emd(energy_map(pred, n_directions), energy_map(true, n_directions))


def field_distances(pred: np.ndarray, true: np.ndarray, sample_rate: int) -> dict[str, float]:
    """STFT and envelope distances ('code' definitions of `evaluate.metrics`) of the first-order channels.

    Both fields are divided by the true W's peak (one factor: the two share W, the input), and the
    distances are summed over Y, Z and X. Morgado et al. score the predicted channels this way."""
    from .metrics import channel_distances

    pred, true = _check_field("pred", pred), _check_field("true", true)
    if pred.shape != true.shape:
        raise ParameterError("pred", f"has shape {pred.shape}, 'true' {true.shape}")
    peak = float(np.max(np.abs(true[0])))
    scale = 1.0 / peak if peak > 0 else 1.0
    return channel_distances(pred[1:] * scale, true[1:] * scale, sample_rate)


def _check_field(name: str, foa: np.ndarray) -> np.ndarray:
    foa = np.asarray(foa, dtype=np.float64)
    if foa.ndim != 2 or foa.shape[0] != 4:
        raise ParameterError(name, f"expected (4, T) ambiX channels, got shape {foa.shape}")
    if not np.all(np.isfinite(foa)):
        raise ParameterError(name, "holds NaN or infinite values")
    return foa
