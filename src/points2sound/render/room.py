"""Binaural room impulse responses of a shoebox room by the image-source method.

The paper tests in two measured rooms at TU Berlin (studio Calypso, meeting room
Spirit), with a KEMAR whose head turns from -90 to 90 deg and a loudspeaker 2 m in
front of it. Without those measurements we simulate the same set-up: pyroomacoustics
finds the image sources of a shoebox room, and every image is rendered through the
anechoic HRIR set at its direction of arrival relative to the turned head, with its
delay, 1/r spreading and wall damping.

Absorption. The walls share one energy absorption coefficient. Sabine's inverse
(pyroomacoustics' `inverse_sabine`) does not give the requested decay here: the image
sources of a shoebox are no diffuse field, and images falling into the same sample add
coherently, so the Schroeder decay of the rendered BRIRs came out at T20 = 0.12 s for
Calypso (target 0.17 s) and 0.66 s for Spirit (target 0.5 s); Eyring's inverse missed
too (0.20 s, 0.76 s). We therefore fit the coefficient: bisection on alpha until the
energy envelope of the omnidirectional image-source response (pressure
(1 - alpha)^(order/2) / d at delay d/c, sampled like the BRIRs) decays 60 dB in RT60
over the range a T30 measurement uses.
The maximum order comes from `inverse_sabine` for the BRIR's length, so every image
arriving within the BRIR is there. The tests measure the decay of the binaural output.

Elevation. The HRIR set is horizontal-plane only; an image arriving from above or below
is rendered at the horizontal azimuth with the same lateral angle (same cone of
confusion, so the same interaural cues of a sphere): sin(az') = sin(az) cos(el), with
front/back kept. Elevation cues are lost, interaural cues are right.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyroomacoustics as pra
import scipy.fft

from ..errors import ParameterError
from .sofa_io import IRSet

ROOM_PRESETS: dict[str, dict] = {
    # 5.2 x 4.5 x 3.55 m = 83 m^3, the studio's published volume
    "calypso": {
        "dims_m": (5.2, 4.5, 3.55),
        "rt60_s": 0.17,
        "description": "TU Berlin studio Calypso: 83 m^3, RT60 0.17 s at 1 kHz",
    },
    # a rectangular meeting room of ~96 m^3
    "spirit": {
        "dims_m": (6.4, 5.0, 3.0),
        "rt60_s": 0.5,
        "description": "TU Berlin meeting room Spirit: rectangular, RT60 0.5 s",
    },
}


def _omni_decay_time(
    delay: np.ndarray, dist: np.ndarray, orders: np.ndarray, alpha: float, n_len: int, fs: int, fit_s: float
) -> float:
    """60 dB decay time of the omnidirectional room response's energy envelope.

    The response is the sampled pressure (images falling in the same sample add up, as
    they do in the rendered BRIRs). Its energy in 5 ms bins, in dB, is fitted by a line
    over `fit_s` seconds after the direct sound. Unlike the backward (Schroeder) integral
    of a truncated response this has no truncation bias, so it is monotonic in alpha.
    """
    keep = delay < n_len
    pressure = np.bincount(delay[keep], weights=np.sqrt(1.0 - alpha) ** orders[keep] / dist[keep], minlength=n_len)
    width = max(1, int(0.005 * fs))
    start = int(delay.min()) + width  # skip the direct sound
    n_bins = (min(n_len, start + int(fit_s * fs)) - start) // width
    energy = (pressure[start : start + n_bins * width] ** 2).reshape(n_bins, width).sum(axis=1)
    ok = energy > 0
    if ok.sum() < 3:
        return 0.0
    t = (np.arange(n_bins) + 0.5) * width / fs
    slope = np.polyfit(t[ok], 10 * np.log10(energy[ok]), 1)[0]
    return float(-60.0 / slope) if slope < 0 else np.inf


def fit_absorption(
    delay: np.ndarray, dist: np.ndarray, orders: np.ndarray, rt60_s: float, n_len: int, fs: int
) -> float:
    """Uniform energy absorption whose omnidirectional room response decays 60 dB in rt60_s.

    `delay` (samples), `dist` (m) and `orders` (reflections) describe the image sources.
    The decay is fitted over the first 0.6 x RT60 after the direct sound, the range a
    T30 measurement (-5 to -35 dB) covers.
    """

    def decay(alpha: float) -> float:
        return _omni_decay_time(delay, dist, orders, alpha, n_len, fs, 0.6 * rt60_s)

    lo, hi = 1e-4, 0.999  # the decay time falls as alpha grows
    if decay(lo) < rt60_s or decay(hi) > rt60_s:
        raise ParameterError(
            "rt60_s",
            f"{rt60_s} s cannot be reached with these image sources "
            "(room too small or too large, or max_order too low)",
        )
    for _ in range(30):  # bisection on log(alpha): far below 1 % in RT60
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if decay(mid) > rt60_s else (lo, mid)
    return float(np.sqrt(lo * hi))


def horizontal_azimuth(directions: np.ndarray) -> np.ndarray:
    """Azimuth (deg, [0, 360)) on the horizontal plane with the same lateral angle.

    directions (K, 3) in the head frame (x front, y left, z up). The horizontal vector
    (sign(x) sqrt(x^2 + z^2), y) keeps y/|d| = sin(az) cos(el) and the front/back side.
    """
    x, y, z = np.asarray(directions, dtype=float).T
    front = np.where(x >= 0, 1.0, -1.0)
    return np.mod(np.degrees(np.arctan2(y, front * np.hypot(x, z))), 360.0)


def default_listener(room_dims_m: Sequence[float], source_distance_m: float) -> np.ndarray:
    """Listener position: centred along x with the source ahead, slightly off the y axis.

    The 45 % offset across the room avoids a perfectly symmetric set of lateral
    reflections; ear height 1.2 m (KEMAR on a stand / a seated listener).
    """
    lx, ly, lz = room_dims_m
    return np.array([(lx - source_distance_m) / 2.0, 0.45 * ly, min(1.2, lz / 2.0)])


def _placed(
    dims: np.ndarray, source_distance_m: float, listener_pos: Sequence[float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(listener, source) in room coordinates, both at least 0.1 m inside the walls."""
    listener = default_listener(dims, source_distance_m) if listener_pos is None else np.asarray(listener_pos, float)
    source = listener + np.array([source_distance_m, 0.0, 0.0])
    for what, pos in (("listener", listener), ("source", source)):
        if np.any(pos < 0.1) or np.any(pos > dims - 0.1):
            name = "listener_pos" if listener_pos is not None and what == "listener" else "source_distance_m"
            raise ParameterError(
                name,
                f"the {what} at {np.round(pos, 3).tolist()} m (source {source_distance_m} m ahead "
                f"of the listener) is not inside the {dims.tolist()} m room (0.1 m margin)",
            )
    return listener, source


def _image_sources(
    dims: np.ndarray, listener: np.ndarray, source: np.ndarray, max_order: int, fs: int, c: float
) -> tuple[np.ndarray, np.ndarray]:
    """The visible image sources seen from the listener (K, 3) and their reflection orders (K,)."""
    # geometry only: the material does not change positions and reflection orders
    room = pra.ShoeBox(
        dims.tolist(), fs=fs, materials=pra.Material(0.5), max_order=int(max_order), air_absorption=False
    )
    room.add_source(source.tolist())
    room.add_microphone(listener.tolist())
    room.image_source_model()
    src = room.sources[0]
    visible = np.asarray(room.visibility[0][0], dtype=bool)
    return src.images[:, visible].T - listener, np.asarray(src.orders)[visible]


def _rotated_brir(
    hrir: IRSet, images: np.ndarray, delay: np.ndarray, gain: np.ndarray, theta: float, n_len: int, n_fft: int
) -> np.ndarray:
    """(2, n_len): every image source through its nearest HRIR, for a head turned by theta (rad) about z."""
    chunk = 64
    # world -> frame of a head turned by theta about z (x front, y left)
    head = np.stack(
        [
            images[:, 0] * np.cos(theta) + images[:, 1] * np.sin(theta),
            -images[:, 0] * np.sin(theta) + images[:, 1] * np.cos(theta),
            images[:, 2],
        ],
        axis=1,
    )
    idx = hrir.nearest_indices(horizontal_azimuth(head))
    used, inv = np.unique(idx, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(0, used.size + chunk, chunk))
    acc = np.zeros((2, n_fft // 2 + 1), dtype=np.complex128)
    for c, start in enumerate(range(0, used.size, chunk)):
        # one impulse train per HRIR (gains at delays), then convolve with it in frequency
        sel = order[bounds[c] : bounds[c + 1]]
        n_h = min(chunk, used.size - start)
        trains = np.bincount((inv[sel] - start) * n_len + delay[sel], weights=gain[sel], minlength=n_h * n_len).reshape(
            n_h, n_len
        )
        spec_t = scipy.fft.rfft(trains, n_fft, axis=-1)  # (B, F)
        spec_h = scipy.fft.rfft(hrir.irs[used[start : start + chunk]].astype(np.float64), n_fft, axis=-1)  # (B, 2, F)
        acc += np.einsum("bf,bef->ef", spec_t, spec_h)
    return scipy.fft.irfft(acc, n_fft, axis=-1)[:, :n_len]


def simulate_brirs(
    hrir: IRSet,
    room_dims_m: Sequence[float],
    rt60_s: float,
    source_distance_m: float = 2.0,
    head_rotations_deg: Sequence[float] = (-90, -45, 0, 45, 90),
    listener_pos: Sequence[float] | None = None,
    max_order: int | None = None,
    seed: int = 0,
    speed_of_sound: float = 343.0,
    length_factor: float = 1.2,
) -> tuple[np.ndarray, np.ndarray]:
    """BRIRs (M, 2, N) float32 of a source `source_distance_m` ahead, for each head rotation.

    The source sits at ear height in front of the unrotated listener (room +x). A head
    rotation of +theta deg (to the left) puts the source at relative azimuth -theta.
    The HRIRs count as measured at their set's distance (from the file, else 1 m): an
    image at distance d gets delay (d - d_hrir)/c (rounded to the sample) and gain
    damping x d_hrir / d. Length: the direct delay + `length_factor` x RT60 + the HRIR.
    The image-source model is deterministic; `seed` is accepted for a uniform stage API.
    Returns (irs, head_rotations_deg as an array).
    """
    del seed  # nothing random here
    dims = np.asarray(room_dims_m, dtype=float)
    if dims.shape != (3,) or np.any(dims <= 0):
        raise ParameterError("room_dims_m", f"must be three positive lengths, got {room_dims_m}")
    if not rt60_s > 0:
        raise ParameterError("rt60_s", f"must be > 0, got {rt60_s}")
    if hrir.kind != "hrir":
        raise ParameterError("hrir", f"IR set {hrir.name!r} is a {hrir.kind}; rooms need an anechoic HRIR set")
    listener, source = _placed(dims, source_distance_m, listener_pos)
    fs = hrir.sample_rate
    d_hrir = float(np.median(hrir.distances_m)) if hrir.distances_m is not None else 1.0
    taps = hrir.irs.shape[2]
    n_len = int(np.ceil(((source_distance_m - d_hrir) / speed_of_sound + length_factor * rt60_s) * fs)) + taps
    if max_order is None:  # images up to c x (BRIR length) away, all of them
        _, max_order = pra.inverse_sabine(length_factor * rt60_s, dims.tolist(), c=speed_of_sound)
    images, orders = _image_sources(dims, listener, source, max_order, fs, speed_of_sound)
    dist = np.linalg.norm(images, axis=1)
    delay = np.round((dist - d_hrir) / speed_of_sound * fs).astype(np.int64)
    if delay.min() < 0:
        raise ParameterError("source_distance_m", f"{source_distance_m} m is closer than the HRIRs' {d_hrir} m")
    alpha = fit_absorption(delay, dist, orders, rt60_s, n_len, fs)
    gain = np.sqrt(1.0 - alpha) ** orders * d_hrir / dist  # wall reflections and 1/r spreading
    keep = delay < n_len
    images, delay, gain = images[keep], delay[keep], gain[keep]

    n_fft = scipy.fft.next_fast_len(n_len + taps - 1, real=True)
    rotations = np.asarray(head_rotations_deg, dtype=float).reshape(-1)
    out = np.zeros((rotations.size, 2, n_len), dtype=np.float32)
    for m, theta in enumerate(np.deg2rad(rotations)):
        out[m] = _rotated_brir(hrir, images, delay, gain, theta, n_len, n_fft)
    return out, rotations
