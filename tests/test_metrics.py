"""d_STFT and d_ENV: exact cases derived by hand, an independent numpy STFT, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from points2sound.errors import ParameterError
from points2sound.evaluate import binaural_scores, envelope_distance, stft_distance, stft_params

FS = 44100


def _noise(seed: int, n: int = 8000) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((2, n))


# ---------------------------------------------------------------------------
# Independent references: frame with numpy, FFT with numpy.fft
# ---------------------------------------------------------------------------

def _hann_periodic(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def _np_stft_code(x: np.ndarray, win: int, hop: int, n_fft: int) -> np.ndarray:
    """librosa-0.8-style STFT of one channel: reflect pad, centred window padded to n_fft."""
    window = np.zeros(n_fft)
    left = (n_fft - win) // 2
    window[left:left + win] = _hann_periodic(win)
    padded = np.pad(x, n_fft // 2, mode="reflect")
    frames = np.stack([padded[k * hop:k * hop + n_fft] for k in range(len(x) // hop + 1)])
    return np.fft.rfft(frames * window, axis=1)


def _np_stft_paper(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    """Frames of one window length centred on k * hop, zeros outside the signal."""
    half = win // 2
    padded = np.concatenate([np.zeros(half), x, np.zeros(win)])
    frames = np.stack([padded[k * hop:k * hop + win] for k in range(len(x) // hop + 1)])
    return np.fft.rfft(frames * _hann_periodic(win), axis=1)


def _peak(x: np.ndarray) -> np.ndarray:
    return x / np.max(np.abs(x))


def _ref_code_stft_distance(pred: np.ndarray, true: np.ndarray, fs: int = FS) -> float:
    win, hop, n_fft = stft_params(fs, "code")
    total = 0.0
    for ch in range(2):
        p = _np_stft_code(_peak(pred)[ch], win, hop, n_fft)
        t = _np_stft_code(_peak(true)[ch], win, hop, n_fft)
        stacked_p = np.stack([p.real, p.imag])
        stacked_t = np.stack([t.real, t.imag])
        total += float(np.mean((stacked_p - stacked_t) ** 2))
    return total


def _ref_paper_stft_distance(pred: np.ndarray, true: np.ndarray, fs: int = FS) -> float:
    win, hop, _ = stft_params(fs, "paper")
    return sum(float(np.linalg.norm(_np_stft_paper(_peak(pred)[ch], win, hop)
                                    - _np_stft_paper(_peak(true)[ch], win, hop))) for ch in range(2))


# ---------------------------------------------------------------------------
# STFT sizes
# ---------------------------------------------------------------------------

def test_stft_sizes_are_the_reference_codes_at_44k1_and_scale_with_duration():
    assert stft_params(44100, "code") == (1014, 441, 1024)
    assert stft_params(44100, "paper") == (1014, 441, 1014)
    assert stft_params(16000, "code") == (368, 160, 512)
    assert stft_params(8000, "code") == (184, 80, 256)


@pytest.mark.parametrize("fs", [44100, 16000])
def test_code_stft_distance_matches_numpy_framing(fs):
    pred, true = _noise(1, 5000), _noise(2, 5000)
    assert stft_distance(pred, true, fs) == pytest.approx(_ref_code_stft_distance(pred, true, fs), rel=1e-10)


@pytest.mark.parametrize("fs", [44100, 16000])
def test_paper_stft_distance_matches_numpy_framing(fs):
    pred, true = _noise(3, 5000), _noise(4, 5000)
    got = stft_distance(pred, true, fs, definition="paper")
    assert got == pytest.approx(_ref_paper_stft_distance(pred, true, fs), rel=1e-10)


# ---------------------------------------------------------------------------
# Exact cases
# ---------------------------------------------------------------------------

def test_identical_signals_score_zero():
    x = _noise(5)
    assert all(v == 0.0 for v in binaural_scores(x, x.copy(), FS).values())


def test_gain_change_scores_zero():
    x = _noise(6)
    scores = binaural_scores(3.7 * x, x, FS)
    assert all(abs(v) < 1e-9 for v in scores.values()), scores


def test_sign_flip_keeps_envelopes_and_quadruples_stft_power():
    x = _noise(7)
    zero = np.zeros_like(x)
    # -x - x = -2x: squared difference is 4 times that of x against silence
    assert envelope_distance(-x, x) == pytest.approx(0.0, abs=1e-12)
    assert envelope_distance(-x, x, "paper") == pytest.approx(0.0, abs=1e-10)
    assert stft_distance(-x, x, FS) == pytest.approx(4 * stft_distance(zero, x, FS), rel=1e-12)
    assert stft_distance(-x, x, FS, "paper") == pytest.approx(2 * stft_distance(zero, x, FS, "paper"), rel=1e-12)
    assert stft_distance(zero, x, FS) > 0.1


@pytest.mark.parametrize("gain", [0.0, 0.25, 0.8])
def test_attenuated_channel(gain):
    mono = np.random.default_rng(8).standard_normal(6000)
    true = np.stack([mono, mono])
    pred = np.stack([mono, gain * mono])  # same peak as true, so normalization leaves both alike
    xn = mono / np.max(np.abs(mono))
    env = np.abs(np.fft.ifft(np.fft.fft(xn) * np.r_[1, 2 * np.ones(2999), 1, np.zeros(2999)]))
    assert envelope_distance(pred, true) == pytest.approx((1 - gain) * np.sqrt(np.mean(env ** 2)), rel=1e-10)
    assert envelope_distance(pred, true, "paper") == pytest.approx((1 - gain) * np.linalg.norm(env), rel=1e-10)
    win, hop, n_fft = stft_params(FS, "code")
    spec = _np_stft_code(xn, win, hop, n_fft)
    one_channel = np.mean(spec.real ** 2 + spec.imag ** 2) / 2
    assert stft_distance(pred, true, FS) == pytest.approx((1 - gain) ** 2 * one_channel, rel=1e-10)
    spec_p = _np_stft_paper(xn, *stft_params(FS, "paper")[:2])
    assert stft_distance(pred, true, FS, "paper") == pytest.approx((1 - gain) * np.linalg.norm(spec_p), rel=1e-10)


def test_orthogonal_sinusoids_envelopes():
    # 64 whole periods of 64 samples: sin reaches exactly 1 and Hilbert envelopes are exact constants
    n = 4096
    t = np.arange(n)
    c, s = np.cos(2 * np.pi * 64 * t / n), np.sin(2 * np.pi * 64 * t / n)
    true = np.stack([c, 0.5 * c])  # normalized envelopes 1 and 0.5
    pred = np.stack([s, s])        # normalized envelopes 1 and 1
    assert envelope_distance(pred, true) == pytest.approx(0.5, abs=1e-9)
    assert envelope_distance(pred, true, "paper") == pytest.approx(0.5 * math.sqrt(n), rel=1e-9)


def test_beating_tones_envelope_matches_analytic_value():
    # cos(w1 t) + cos(w2 t) has envelope 2 |cos((w2 - w1) t / 2)|, peak 2 at t = 0; a single
    # tone has envelope 1. RMS of 1 - |cos| over whole periods: sqrt(3/2 - 4/pi).
    t = np.arange(FS) / FS
    tone = np.cos(2 * np.pi * 1000 * t)
    beat = tone + np.cos(2 * np.pi * 1010 * t)
    expected = 2 * math.sqrt(1.5 - 4 / math.pi)  # summed over two identical channels
    assert envelope_distance(np.stack([beat, beat]), np.stack([tone, tone])) == pytest.approx(expected, rel=1e-4)


def test_pure_delay_of_a_tone_changes_phase_only():
    n = 8192
    t = np.arange(n)
    tone = np.cos(2 * np.pi * 200 * t / n)
    delayed = np.roll(tone, 7)  # circular delay of a whole-period tone: same envelope
    true, pred = np.stack([tone, tone]), np.stack([delayed, delayed])
    assert envelope_distance(pred, true) == pytest.approx(0.0, abs=1e-9)
    assert stft_distance(pred, true, FS) > 1.0
    assert stft_distance(pred, true, FS) == pytest.approx(_ref_code_stft_distance(pred, true), rel=1e-10)


def test_all_zero_signals_are_left_unnormalized():
    x = _noise(9)
    zero = np.zeros_like(x)
    assert all(v == 0.0 for v in binaural_scores(zero, zero, FS).values())
    # silence against x scores the power of the normalized x
    xn = x / np.max(np.abs(x))
    win, hop, n_fft = stft_params(FS, "code")
    expected = sum(np.mean(np.abs(_np_stft_code(xn[ch], win, hop, n_fft)) ** 2) / 2 for ch in range(2))
    assert stft_distance(zero, x, FS) == pytest.approx(expected, rel=1e-10)
    assert stft_distance(x, zero, FS) == pytest.approx(expected, rel=1e-10)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

def test_rejects_bad_inputs_naming_the_argument():
    x = _noise(10, 2000)
    with pytest.raises(ParameterError, match="'pred'.*shape"):
        stft_distance(x[0], x, FS)
    with pytest.raises(ParameterError, match="'true'.*shape"):
        envelope_distance(x, np.vstack([x, x]))
    with pytest.raises(ParameterError, match="'pred'.*1999"):
        binaural_scores(x[:, :-1], x, FS)
    bad = x.copy()
    bad[1, 5] = np.nan
    with pytest.raises(ParameterError, match="'true'.*NaN"):
        binaural_scores(x, bad, FS)
    with pytest.raises(ParameterError, match="'definition'"):
        stft_distance(x, x, FS, definition="librosa")
    with pytest.raises(ParameterError, match="'sample_rate'"):
        stft_distance(x, x, 0)
    with pytest.raises(ParameterError, match="more than 512"):
        stft_distance(x[:, :300], x[:, :300], FS)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

_signal = arrays(np.float64, (2, 700), elements=st.floats(-1, 1, allow_subnormal=False, width=64))
_scale = st.floats(1e-3, 1e3)


@settings(max_examples=25, deadline=None)
@given(a=_signal, b=_signal)
def test_symmetric_and_non_negative(a, b):
    ab, ba = binaural_scores(a, b, 16000), binaural_scores(b, a, 16000)
    for key, value in ab.items():
        assert value >= 0
        assert value == pytest.approx(ba[key], rel=1e-9, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(a=_signal, b=_signal, ca=_scale, cb=_scale)
def test_invariant_to_positive_scaling_of_either_signal(a, b, ca, cb):
    base, scaled = binaural_scores(a, b, 16000), binaural_scores(ca * a, cb * b, 16000)
    for key, value in base.items():
        assert scaled[key] == pytest.approx(value, rel=1e-7, abs=1e-9)


def test_binaural_scores_equal_the_single_metric_functions():
    pred, true = _noise(11, 3000), _noise(12, 3000)
    scores = binaural_scores(pred, true, 16000)
    assert scores == {
        "d_env": envelope_distance(pred, true, "code"),
        "d_stft": stft_distance(pred, true, 16000, "code"),
        "d_env_paper": envelope_distance(pred, true, "paper"),
        "d_stft_paper": stft_distance(pred, true, 16000, "paper"),
    }
