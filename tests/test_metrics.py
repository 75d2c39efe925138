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
from points2sound.evaluate.metrics import ILD_BANDS_HZ, PAPER_METRICS, SCORE_KEYS, gcc_phat_itd, ild_db, normalize_peak

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
    window[left : left + win] = _hann_periodic(win)
    padded = np.pad(x, n_fft // 2, mode="reflect")
    frames = np.stack([padded[k * hop : k * hop + n_fft] for k in range(len(x) // hop + 1)])
    return np.fft.rfft(frames * window, axis=1)


def _np_stft_paper(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    """Frames of one window length centred on k * hop, zeros outside the signal."""
    half = win // 2
    padded = np.concatenate([np.zeros(half), x, np.zeros(win)])
    frames = np.stack([padded[k * hop : k * hop + win] for k in range(len(x) // hop + 1)])
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
    return sum(
        float(np.linalg.norm(_np_stft_paper(_peak(pred)[ch], win, hop) - _np_stft_paper(_peak(true)[ch], win, hop)))
        for ch in range(2)
    )


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
    scores = binaural_scores(x, x.copy(), FS)
    assert all(v == 0.0 for k, v in scores.items() if k != "snr_db")
    assert scores["snr_db"] == pytest.approx(10 * math.log10(0.5e12), abs=1e-6)  # floor: 1e-12 of both energies


def test_gain_change_scores_zero():
    x = _noise(6)
    scores = binaural_scores(3.7 * x, x, FS)
    assert all(abs(v) < 1e-9 for k, v in scores.items() if k != "snr_db"), scores
    assert scores["snr_db"] > 100


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
    assert envelope_distance(pred, true) == pytest.approx((1 - gain) * np.sqrt(np.mean(env**2)), rel=1e-10)
    assert envelope_distance(pred, true, "paper") == pytest.approx((1 - gain) * np.linalg.norm(env), rel=1e-10)
    win, hop, n_fft = stft_params(FS, "code")
    spec = _np_stft_code(xn, win, hop, n_fft)
    one_channel = np.mean(spec.real**2 + spec.imag**2) / 2
    assert stft_distance(pred, true, FS) == pytest.approx((1 - gain) ** 2 * one_channel, rel=1e-10)
    spec_p = _np_stft_paper(xn, *stft_params(FS, "paper")[:2])
    assert stft_distance(pred, true, FS, "paper") == pytest.approx((1 - gain) * np.linalg.norm(spec_p), rel=1e-10)


def test_orthogonal_sinusoids_envelopes():
    # 64 whole periods of 64 samples: sin reaches exactly 1 and Hilbert envelopes are exact constants
    n = 4096
    t = np.arange(n)
    c, s = np.cos(2 * np.pi * 64 * t / n), np.sin(2 * np.pi * 64 * t / n)
    true = np.stack([c, 0.5 * c])  # normalized envelopes 1 and 0.5
    pred = np.stack([s, s])  # normalized envelopes 1 and 1
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
        if key == "snr_db":  # relative to the true signal's energy: neither symmetric nor >= 0
            continue
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
    assert tuple(scores) == SCORE_KEYS
    assert {k: scores[k] for k in PAPER_METRICS} == {
        "d_env": envelope_distance(pred, true, "code"),
        "d_stft": stft_distance(pred, true, 16000, "code"),
        "d_env_paper": envelope_distance(pred, true, "paper"),
        "d_stft_paper": stft_distance(pred, true, 16000, "paper"),
    }


# ---------------------------------------------------------------------------
# The field's wider metric set, against direct loops and known delays / gains
# ---------------------------------------------------------------------------


def _code_specs(x: np.ndarray, fs: int) -> list[np.ndarray]:
    win, hop, n_fft = stft_params(fs, "code")
    return [_np_stft_code(ch, win, hop, n_fft) for ch in x]  # (frames, bins) per channel


@pytest.mark.parametrize("fs", [16000, 8000])
def test_magnitude_phase_snr_and_mse_match_direct_loops(fs):
    pred, true = _noise(21, 4000), _noise(22, 4000) + 0.5 * _noise(21, 4000)
    scores = binaural_scores(pred, true, fs)
    p, g = _peak(pred), _peak(true)
    sp, sg = _code_specs(p, fs), _code_specs(g, fs)
    mag = 0.0
    for c in range(2):
        total, count = 0.0, 0
        for frame in range(sp[c].shape[0]):
            for k in range(sp[c].shape[1]):
                total += (abs(sp[c][frame, k]) - abs(sg[c][frame, k])) ** 2
                count += 1
        mag += total / count
    assert scores["d_mag"] == pytest.approx(mag, rel=1e-9)
    # phase of the STFT of the L - R signal itself (not via linearity)
    win, hop, n_fft = stft_params(fs, "code")
    dp, dg = _np_stft_code(p[0] - p[1], win, hop, n_fft), _np_stft_code(g[0] - g[1], win, hop, n_fft)
    total = 0.0
    for a, b in zip(dp.ravel(), dg.ravel()):
        d = abs(math.atan2(a.imag, a.real) - math.atan2(b.imag, b.real))
        total += min(d, 2 * math.pi - d)
    assert scores["d_phase"] == pytest.approx(total / dp.size, rel=1e-9)
    err = sum((p[c, t] - g[c, t]) ** 2 for c in range(2) for t in range(p.shape[1]))
    energy = sum(g[c, t] ** 2 for c in range(2) for t in range(p.shape[1]))
    assert scores["wave_mse"] == pytest.approx(err / p.size, rel=1e-9)
    assert scores["snr_db"] == pytest.approx(10 * math.log10(energy / err), rel=1e-6)


def test_identical_signals_have_zero_errors_and_a_bounded_snr():
    x = _noise(23, 4000)
    scores = binaural_scores(x, x, 16000)
    assert all(scores[k] == pytest.approx(0, abs=1e-9) for k in SCORE_KEYS if k != "snr_db")
    assert 100 < scores["snr_db"] <= 121


def _delayed(s: np.ndarray, delay: float, gain: float = 1.0) -> np.ndarray:
    """s delayed by `delay` samples (fractional: a linear phase, circular) and scaled."""
    spec = np.fft.rfft(s)
    k = np.arange(len(spec))
    return gain * np.fft.irfft(spec * np.exp(-2j * np.pi * k * delay / len(s)), len(s))


@pytest.mark.parametrize("delay", [0.0, 3.0, -5.0, 2.4, -7.7, 12.0])
def test_gcc_phat_recovers_a_known_delay(delay):
    fs = 16000
    s = np.random.default_rng(24).standard_normal(8000)
    x = np.stack([s, _delayed(s, delay, 0.4)])  # the right ear hears it later: the left leads
    assert gcc_phat_itd(x, fs) * fs == pytest.approx(delay, abs=0.15)
    assert gcc_phat_itd(x[::-1], fs) * fs == pytest.approx(-delay, abs=0.15)


def test_itd_is_searched_within_one_millisecond():
    fs = 16000
    s = np.random.default_rng(25).standard_normal(8000)
    x = np.stack([s, _delayed(s, 40.0)])  # 2.5 ms: outside the search range
    assert abs(gcc_phat_itd(x, fs)) <= 1e-3 + 1e-9
    assert gcc_phat_itd(np.stack([s, np.zeros_like(s)]), fs) == 0.0


@pytest.mark.parametrize("scale", [1.0, 1e-3, 7.0])
def test_an_integer_delay_outside_the_range_gives_zero_at_every_scale(scale):
    # two clicks 20 samples apart: the PHAT correlation is a delta at lag 20, outside +-16, so the
    # window holds rounding noise only, whose arg max used to move with the signal's scale
    x = np.zeros((2, 700))
    x[0, 0], x[1, 20] = -0.6875 * scale, 0.09375 * scale
    assert gcc_phat_itd(x, 16000) == 0.0


@pytest.mark.parametrize("gains", [(1.0, 0.5), (0.2, 1.0), (1.0, 1.0)])
def test_ild_and_itd_errors_of_a_known_delay_gain_pair(gains):
    fs = 16000
    s = np.random.default_rng(26).standard_normal(8000)
    true = np.stack([gains[0] * s, _delayed(s, 4.0, gains[1])])
    mono = np.stack([s, s])  # Mono-Mono: ITD 0, ILD 0
    scores = binaural_scores(mono, true, fs)
    ild = 20 * math.log10(gains[0] / gains[1])
    assert ild_db(true) == pytest.approx(ild, abs=1e-5)  # the 1e-8 energy floor moves it by < 1e-5 dB
    assert scores["ild_err_db"] == pytest.approx(abs(ild), abs=1e-5)
    assert scores["itd_err_us"] == pytest.approx(4.0 / fs * 1e6, abs=0.15 / fs * 1e6)
    for band in ILD_BANDS_HZ:  # white noise: the same gain in every band (up to the framing at the ends)
        assert scores[f"ild_err_db_{band}"] == pytest.approx(abs(ild), abs=0.25)


def test_band_ild_of_tones_with_a_known_gain_per_band():
    fs, n = 16000, 16000
    t = np.arange(n) / fs
    gains_db = {"500hz": 6.0, "1khz": -3.0, "2khz": 12.0, "4khz": 0.5}
    left = np.zeros(n)
    right = np.zeros(n)
    for band, g in gains_db.items():
        tone = np.sin(2 * np.pi * ILD_BANDS_HZ[band] * t)
        left += tone
        right += tone * 10 ** (-g / 20)  # the left is louder by g dB in that band
    pred = np.stack([left, left])
    scores = binaural_scores(pred, np.stack([left, right]), fs)
    for band, g in gains_db.items():
        assert scores[f"ild_err_db_{band}"] == pytest.approx(abs(g), abs=0.05), band
    e_l, e_r = np.sum(left**2), np.sum(right**2)
    assert scores["ild_err_db"] == pytest.approx(abs(10 * math.log10(e_l / e_r)), abs=1e-6)


def test_silent_prediction_scores_finite_numbers():
    true = _noise(27, 3000)
    scores = binaural_scores(np.zeros_like(true), true, 16000)
    assert all(math.isfinite(v) for v in scores.values())
    assert scores["snr_db"] == pytest.approx(0.0, abs=1e-6)
    assert normalize_peak(np.zeros(3)).tolist() == [0, 0, 0]


def test_d_stft_grows_with_the_sample_rate_and_d_env_does_not():
    """What the report says: the same pairs resampled 16 -> 44.1 kHz score about 2.7 times the d_STFT."""
    from scipy.signal import lfilter, resample_poly

    rng = np.random.default_rng(28)
    s = lfilter([1], [1, -0.95], rng.standard_normal(16000))
    true = np.stack([s, 0.6 * np.roll(s, 5)])
    pred = np.stack([s, s]) + 0.05 * rng.standard_normal((2, len(s)))
    low = binaural_scores(pred, true, 16000)
    high = binaural_scores(resample_poly(pred, 441, 160, axis=1), resample_poly(true, 441, 160, axis=1), 44100)
    assert 2.5 < high["d_stft"] / low["d_stft"] < 3.0
    assert 2.5 < high["d_mag"] / low["d_mag"] < 3.0
    for key in ("d_env", "d_phase", "ild_err_db"):
        assert high[key] / low[key] == pytest.approx(1.0, abs=0.05), key


def test_channel_distances_of_a_normalized_pair_are_the_binaural_distances():
    from points2sound.evaluate.metrics import channel_distances, envelope_distance, normalize_peak, stft_distance

    rng = np.random.default_rng(4)
    pred, true = rng.standard_normal((2, 2, 4000))
    d = channel_distances(normalize_peak(pred), normalize_peak(true), 16000)
    assert d["stft"] == pytest.approx(stft_distance(pred, true, 16000))
    assert d["env"] == pytest.approx(envelope_distance(pred, true))
    three = channel_distances(np.vstack([pred, pred[:1]]), np.vstack([true, true[:1]]), 16000)
    assert three["env"] > channel_distances(pred, true, 16000)["env"]  # any number of channels, summed
