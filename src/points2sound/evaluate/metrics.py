"""d_STFT and d_ENV between a predicted and a true binaural signal (paper Sec. 4.1).

Both signals are first normalized by their own maximum absolute value (over
both channels), then each distance is computed per channel and summed over
left and right. Two definitions exist because the paper's text and its public
reference code disagree, and the code is what produced the published numbers:

``"code"`` (default)
    STFT as librosa 0.8 computed it in the reference code: n_fft 1024, periodic
    Hann window of 1014 samples zero-padded (centred) to 1024, hop 441, frames
    centred on t = k * hop with the signal reflect-padded by n_fft / 2.
    d_STFT = mean over (real/imag, bins, frames) of the squared difference of the
    stacked real and imaginary parts, i.e. mean(|dX|^2) / 2.
    d_ENV = root mean square of the difference of the Hilbert envelopes.
``"paper"``
    The text: Hann window of 23 ms and hop of 10 ms (FFT length = window
    length, frames centred on t = k * hop, zero padding at the ends);
    d_STFT = L2 (Frobenius) norm of the complex STFT difference,
    d_ENV = L2 norm of the envelope difference.

At 44.1 kHz the sizes are the reference code's (win 1014, hop 441, n_fft 1024).
At other rates they scale with duration: window round(0.023 fs), hop
round(0.010 fs), and for "code" n_fft = the next power of two >= the window.
The values are then not comparable in absolute size with the paper's (an
unscaled STFT grows with the number of samples per frame), only between
methods scored at the same rate.

An all-zero signal cannot be max-normalized; it is left as it is (0/0 := 0),
so a silent prediction is scored as silence instead of aborting an evaluation.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import next_fast_len
from scipy.signal import ShortTimeFFT, get_window, hilbert

from ..errors import ParameterError

DEFINITIONS = ("code", "paper")
WINDOW_S = 0.023
HOP_S = 0.010


def stft_params(sample_rate: int, definition: str = "code") -> tuple[int, int, int]:
    """(window length, hop, FFT length) in samples for `definition` at `sample_rate`."""
    _check_definition(definition)
    if not (isinstance(sample_rate, (int, np.integer)) and sample_rate > 0):
        raise ParameterError("sample_rate", f"must be a positive integer, got {sample_rate!r}")
    win = max(2, int(round(WINDOW_S * sample_rate)))
    hop = max(1, int(round(HOP_S * sample_rate)))
    n_fft = 1 << (win - 1).bit_length() if definition == "code" else win
    return win, hop, n_fft


def _check_definition(definition: str) -> None:
    if definition not in DEFINITIONS:
        raise ParameterError("definition", f"must be one of {DEFINITIONS}, got {definition!r}")


def _check_signal(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] != 2:
        raise ParameterError(name, f"must be a binaural signal of shape (2, T), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating) and not np.issubdtype(x.dtype, np.integer):
        raise ParameterError(name, f"must hold real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ParameterError(name, "holds NaN or infinite values")
    return x


def _check_pair(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = _check_signal("pred", pred)
    true = _check_signal("true", true)
    if pred.shape != true.shape:
        raise ParameterError("pred", f"has {pred.shape[1]} samples but 'true' has {true.shape[1]}")
    if pred.shape[1] < 2:
        raise ParameterError("pred", f"needs at least 2 samples, got {pred.shape[1]}")
    return pred, true


def normalize_peak(x: np.ndarray) -> np.ndarray:
    """x / max|x|; an all-zero signal stays all-zero (0/0 := 0, see module docstring)."""
    peak = float(np.max(np.abs(x)))
    return x / peak if peak > 0 else x.copy()


def _stft(x: np.ndarray, sample_rate: int, definition: str) -> np.ndarray:
    """One-sided STFT of each row of x, shape (channels, bins, frames), unscaled like librosa."""
    win, hop, n_fft = stft_params(sample_rate, definition)
    n = x.shape[-1]
    if definition == "code":
        if n <= n_fft // 2:
            # reflect padding (librosa 0.8) needs more samples than half the FFT
            raise ParameterError("pred", f"needs more than {n_fft // 2} samples for the 'code' STFT, got {n}")
        window = np.zeros(n_fft)
        left = (n_fft - win) // 2
        window[left : left + win] = get_window("hann", win, fftbins=True)
        padding = "even"  # scipy's even extension == numpy's 'reflect' (no repeated edge sample)
    else:
        window = get_window("hann", win, fftbins=True)
        padding = "zeros"
    sft = ShortTimeFFT(window, hop, sample_rate, mfft=n_fft, scale_to=None, fft_mode="onesided")
    # frames centred on k * hop, k = 0 .. n // hop: librosa's center=True framing
    return sft.stft(x, p0=0, p1=n // hop + 1, padding=padding, axis=-1)


def _stft_reduce(diff: np.ndarray, definition: str) -> float:
    power = diff.real**2 + diff.imag**2
    if definition == "code":
        per_channel = power.mean(axis=(1, 2)) / 2.0  # mean over stacked real and imag parts
    else:
        per_channel = np.sqrt(power.sum(axis=(1, 2)))
    return float(per_channel.sum())


def stft_distance(pred: np.ndarray, true: np.ndarray, sample_rate: int, definition: str = "code") -> float:
    """d_STFT of `pred` against `true`, both (2, T), summed over the two channels."""
    _check_definition(definition)
    pred, true = _check_pair(pred, true)
    diff = _stft(normalize_peak(pred), sample_rate, definition) - _stft(normalize_peak(true), sample_rate, definition)
    return _stft_reduce(diff, definition)


def envelope(x: np.ndarray) -> np.ndarray:
    """Magnitude of the analytic signal of each row (Hilbert transform over the whole signal)."""
    return np.abs(hilbert(x, axis=-1))


def _envelope_reduce(diff: np.ndarray, definition: str) -> float:
    if definition == "code":
        per_channel = np.sqrt(np.mean(diff**2, axis=1))
    else:
        per_channel = np.sqrt(np.sum(diff**2, axis=1))
    return float(per_channel.sum())


def envelope_distance(pred: np.ndarray, true: np.ndarray, definition: str = "code") -> float:
    """d_ENV of `pred` against `true`, both (2, T), summed over the two channels."""
    _check_definition(definition)
    pred, true = _check_pair(pred, true)
    return _envelope_reduce(envelope(normalize_peak(pred)) - envelope(normalize_peak(true)), definition)


def channel_distances(pred: np.ndarray, true: np.ndarray, sample_rate: int) -> dict[str, float]:
    """{'stft', 'env'}: the 'code' d_STFT and d_ENV of any number of channels (C, T), summed over them, with
    no normalization (the caller scales; the FOA fields share one factor, `evaluate.foa_metrics.field_distances`)."""
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if pred.ndim != 2 or pred.shape != true.shape:
        raise ParameterError("pred", f"needs the shape of 'true' (C, T), got {pred.shape} and {true.shape}")
    diff = _stft(pred, sample_rate, "code") - _stft(true, sample_rate, "code")
    return {
        "stft": _stft_reduce(diff, "code"),
        "env": _envelope_reduce(envelope(pred) - envelope(true), "code"),
    }


def binaural_scores(pred: np.ndarray, true: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Every score of one scene (SCORE_KEYS): the per-scene CSV's metric columns.

    The paper's four distances, then the field's wider set (`field_scores`).
    Normalizes, takes the envelopes and the STFTs once (the same numbers as the
    single-metric functions, at about half their cost).
    """
    pred, true = _check_pair(pred, true)
    pred, true = normalize_peak(pred), normalize_peak(true)
    env_diff = envelope(pred) - envelope(true)
    scores = {}
    specs = {}
    for definition, suffix in (("code", ""), ("paper", "_paper")):
        scores[f"d_env{suffix}"] = _envelope_reduce(env_diff, definition)
        specs[definition] = (_stft(pred, sample_rate, definition), _stft(true, sample_rate, definition))
        scores[f"d_stft{suffix}"] = _stft_reduce(specs[definition][0] - specs[definition][1], definition)
    scores.update(field_scores(pred, true, sample_rate, *specs["code"]))
    return {k: scores[k] for k in SCORE_KEYS}


# ---------------------------------------------------------------------------
# The field's wider metric set (2.5D Visual Sound, Sep-Stereo, PseudoBinaural)
# ---------------------------------------------------------------------------
#
# All are computed after the same peak normalization as d_STFT / d_ENV and reuse
# the "code" STFT (so at 16 kHz: window 368, hop 160, FFT 512, close to the
# 400 / 160 / 512 of the PseudoBinaural evaluation at 16 kHz).
#
# d_mag      sum over L, R of mean over (bins, frames) of (|P| - |G|)^2
#            (PseudoBinaural's Magnitude_distance); rate-dependent like d_STFT.
# d_phase    mean over (bins, frames) of the wrapped absolute difference, in
#            [0, pi] rad, of the phase of the STFT of L - R (Angle_Diff_distance);
#            the STFT of L - R is STFT(L) - STFT(R) (linearity).
# snr_db     10 log10(sum g^2 / sum (p - g)^2) over both channels, higher is better;
#            a floor of 1e-12 of the two signals' energy keeps it finite (<= 120 dB).
# wave_mse   mean over both channels and all samples of (p - g)^2.
# itd_err_us |ITD(p) - ITD(g)| in microseconds; ITD is the lag of the GCC-PHAT peak
#            within +-1 ms (parabolic sub-sample interpolation), positive when the
#            left ear leads (a source on the left, azimuth 90 deg).
# ild_err_db |ILD(p) - ILD(g)| in dB; ILD = 10 log10(E_L / E_R) over the whole
#            signal, each energy floored at 1e-8 of E_L + E_R (|ILD| <= 80 dB).
# ild_err_db_<band>  the same per octave band (centre 500 Hz, 1, 2, 4 kHz; edges
#            centre / sqrt 2 .. centre * sqrt 2, cut at Nyquist) from the STFT power.
#            A band with no STFT bin below Nyquist scores 0.

ITD_MAX_S = 1e-3
ILD_FLOOR = 1e-8
SNR_FLOOR = 1e-12
ILD_BANDS_HZ = {"500hz": 500.0, "1khz": 1000.0, "2khz": 2000.0, "4khz": 4000.0}
PAPER_METRICS = ("d_env", "d_stft", "d_env_paper", "d_stft_paper")
FIELD_METRICS = (
    "d_mag",
    "d_phase",
    "snr_db",
    "wave_mse",
    "itd_err_us",
    "ild_err_db",
    *(f"ild_err_db_{b}" for b in ILD_BANDS_HZ),
)
SCORE_KEYS = (*PAPER_METRICS, *FIELD_METRICS)
METRIC_LABELS = {  # how the report names each score
    "d_env": "d_ENV",
    "d_stft": "d_STFT",
    "d_env_paper": "d_ENV (paper def.)",
    "d_stft_paper": "d_STFT (paper def.)",
    "d_mag": "Mag",
    "d_phase": "Phase L-R (rad)",
    "snr_db": "SNR (dB)",
    "wave_mse": "wave MSE",
    "itd_err_us": "ITD err (µs)",
    "ild_err_db": "ILD err (dB)",
    "ild_err_db_500hz": "ILD err 500 Hz",
    "ild_err_db_1khz": "ILD err 1 kHz",
    "ild_err_db_2khz": "ILD err 2 kHz",
    "ild_err_db_4khz": "ILD err 4 kHz",
}
HIGHER_IS_BETTER = frozenset({"snr_db"})  # every other score is an error: lower is better
SIGNED = frozenset({"snr_db"})  # may be negative


def gcc_phat_itd(x: np.ndarray, sample_rate: int, max_s: float = ITD_MAX_S) -> float:
    """ITD in seconds of a (2, T) signal by GCC-PHAT: positive when the left channel leads.

    The peak of the PHAT-weighted cross-correlation c(tau) = sum_t l(t) r(t + tau)
    is searched over |tau| <= max_s and refined by a parabola through the peak and
    its neighbours. A silent channel (no common spectrum) gives 0, and so does a pair whose
    correlation peaks only outside the window (the window then holds rounding noise).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    max_lag = max(1, min(int(np.floor(max_s * sample_rate)), n - 1))
    # zero padding to n + max_lag makes the circular correlation linear at |lag| <= max_lag
    nfft = next_fast_len(n + max_lag, real=True)
    spec = np.fft.rfft(x, nfft, axis=-1)
    cross = np.conj(spec[0]) * spec[1]
    mag = np.abs(cross)
    top = float(mag.max()) if mag.size else 0.0
    if top <= 0.0:
        return 0.0
    keep = mag > top * 1e-12
    weighted = np.zeros_like(cross)
    weighted[keep] = cross[keep] / mag[keep]
    cc = np.fft.irfft(weighted, nfft)
    window = np.concatenate([cc[nfft - max_lag :], cc[: max_lag + 1]])  # lags -max_lag .. max_lag
    if window.max() <= 1e-9 * float(np.abs(cc).max()):
        return 0.0  # every coherent lag lies outside +-max_s: the window holds rounding noise only
    k = int(np.argmax(window))
    shift = 0.0
    if 0 < k < len(window) - 1:
        a, b, c = window[k - 1], window[k], window[k + 1]
        denom = a - 2.0 * b + c
        if denom < 0:
            shift = float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))
    return (k - max_lag + shift) / sample_rate


def _level_difference_db(e_left: np.ndarray | float, e_right: np.ndarray | float) -> np.ndarray:
    e_left, e_right = np.asarray(e_left, float), np.asarray(e_right, float)
    floor = ILD_FLOOR * (e_left + e_right) + 1e-300
    return 10.0 * np.log10((e_left + floor) / (e_right + floor))


def ild_db(x: np.ndarray) -> float:
    """Broadband ILD of a (2, T) signal in dB: 10 log10(E_L / E_R), positive when the left is louder."""
    x = np.asarray(x, dtype=np.float64)
    return float(_level_difference_db(np.sum(x[0] ** 2), np.sum(x[1] ** 2)))


def band_bins(sample_rate: int, n_fft: int) -> dict[str, np.ndarray]:
    """Boolean masks over the one-sided STFT bins of each octave band of ILD_BANDS_HZ."""
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    out = {}
    for name, centre in ILD_BANDS_HZ.items():
        lo, hi = centre / np.sqrt(2.0), min(centre * np.sqrt(2.0), sample_rate / 2.0)
        out[name] = (freqs >= lo) & (freqs < hi)
    return out


def band_ild_db(spec: np.ndarray, sample_rate: int, n_fft: int) -> dict[str, float]:
    """ILD per octave band from a (2, bins, frames) STFT: 10 log10 of the band energies L / R."""
    power = (spec.real**2 + spec.imag**2).sum(axis=-1)  # (2, bins)
    out = {}
    for name, mask in band_bins(sample_rate, n_fft).items():
        if not mask.any():
            out[name] = 0.0
            continue
        out[name] = float(_level_difference_db(power[0, mask].sum(), power[1, mask].sum()))
    return out


def _side_phase(spec: np.ndarray) -> np.ndarray:
    """Phase of the STFT of L - R; bins at rounding-noise level (1e-9 of the signal's largest
    STFT magnitude, e.g. L - R of two nearly equal ears) count as phase 0, like an exact zero."""
    side = spec[0] - spec[1]
    tol = 1e-9 * float(np.abs(spec).max()) if spec.size else 0.0
    return np.angle(np.where(np.abs(side) > tol, side, 0.0))


def _wrapped_angle_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.abs(a - b)
    return np.minimum(d, 2 * np.pi - d)


def field_scores(
    pred: np.ndarray,
    true: np.ndarray,
    sample_rate: int,
    spec_pred: np.ndarray | None = None,
    spec_true: np.ndarray | None = None,
) -> dict[str, float]:
    """The wider metric set (module section above) of peak-normalized (2, T) signals.

    `spec_pred` / `spec_true`: their "code" STFTs when already computed.
    """
    _, _, n_fft = stft_params(sample_rate, "code")
    if spec_pred is None:
        spec_pred = _stft(pred, sample_rate, "code")
    if spec_true is None:
        spec_true = _stft(true, sample_rate, "code")
    err = pred - true
    e_true, e_err = float(np.sum(true**2)), float(np.sum(err**2))
    floor = SNR_FLOOR * (e_true + float(np.sum(pred**2))) + 1e-300
    scores = {
        "d_mag": float(((np.abs(spec_pred) - np.abs(spec_true)) ** 2).mean(axis=(1, 2)).sum()),
        "d_phase": float(_wrapped_angle_distance(_side_phase(spec_pred), _side_phase(spec_true)).mean()),
        "snr_db": float(10.0 * np.log10((e_true + floor) / (e_err + floor))),
        "wave_mse": float(np.mean(err**2)),
        "itd_err_us": abs(gcc_phat_itd(pred, sample_rate) - gcc_phat_itd(true, sample_rate)) * 1e6,
        "ild_err_db": abs(ild_db(pred) - ild_db(true)),
    }
    bands_pred = band_ild_db(spec_pred, sample_rate, n_fft)
    bands_true = band_ild_db(spec_true, sample_rate, n_fft)
    for name in ILD_BANDS_HZ:
        scores[f"ild_err_db_{name}"] = abs(bands_pred[name] - bands_true[name])
    return scores
