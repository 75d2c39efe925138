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
        window[left:left + win] = get_window("hann", win, fftbins=True)
        padding = "even"  # scipy's even extension == numpy's 'reflect' (no repeated edge sample)
    else:
        window = get_window("hann", win, fftbins=True)
        padding = "zeros"
    sft = ShortTimeFFT(window, hop, sample_rate, mfft=n_fft, scale_to=None, fft_mode="onesided")
    # frames centred on k * hop, k = 0 .. n // hop: librosa's center=True framing
    return sft.stft(x, p0=0, p1=n // hop + 1, padding=padding, axis=-1)


def _stft_reduce(diff: np.ndarray, definition: str) -> float:
    power = diff.real ** 2 + diff.imag ** 2
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
        per_channel = np.sqrt(np.mean(diff ** 2, axis=1))
    else:
        per_channel = np.sqrt(np.sum(diff ** 2, axis=1))
    return float(per_channel.sum())


def envelope_distance(pred: np.ndarray, true: np.ndarray, definition: str = "code") -> float:
    """d_ENV of `pred` against `true`, both (2, T), summed over the two channels."""
    _check_definition(definition)
    pred, true = _check_pair(pred, true)
    return _envelope_reduce(envelope(normalize_peak(pred)) - envelope(normalize_peak(true)), definition)


def binaural_scores(pred: np.ndarray, true: np.ndarray, sample_rate: int) -> dict[str, float]:
    """All four distances of one scene: the per-scene CSV's metric columns.

    Normalizes and takes the envelopes once for both definitions (the same
    numbers as the single-metric functions, at about half their cost).
    """
    pred, true = _check_pair(pred, true)
    pred, true = normalize_peak(pred), normalize_peak(true)
    env_diff = envelope(pred) - envelope(true)
    scores = {}
    for definition, suffix in (("code", ""), ("paper", "_paper")):
        scores[f"d_env{suffix}"] = _envelope_reduce(env_diff, definition)
        diff = _stft(pred, sample_rate, definition) - _stft(true, sample_rate, definition)
        scores[f"d_stft{suffix}"] = _stft_reduce(diff, definition)
    return {k: scores[k] for k in ("d_env", "d_stft", "d_env_paper", "d_stft_paper")}
