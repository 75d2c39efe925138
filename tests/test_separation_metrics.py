"""bss_eval wrapper and per-N summaries, against answers derived by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from points2sound.errors import ParameterError
from points2sound.evaluate.separation_metrics import bss_eval, per_n_summary

T = 24_000  # 3 s at 8 kHz
FILTER_TAPS = 512  # bss_eval's distortion filter length (mir_eval's default)


def _noise(n: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, T))


@pytest.mark.parametrize("g", [0.1, 0.3])
def test_sir_of_a_known_leak(g):
    """estimate_1 = ref_1 + g ref_2 with independent white-noise references.

    Why noise and not sinusoids: bss_eval projects the estimate onto 512 delayed copies of
    each reference; delayed copies of a sinusoid span little more than that sinusoid, but
    with edge effects of the finite window they can still pick up part of another tone, and
    harmonics are exactly representable. Independent white noise is the case one can count:
    the projection of ref_2 onto the 512-dimensional span of delayed ref_1 keeps, on average,
    a fraction L / T of its energy (a random vector projected on an L-dim subspace of R^T).
    So s_target = ref_1 + g P ref_2, e_interf = g (I - P) ref_2, e_artif = 0 (the estimate
    lies in the span of the references) and

        SIR = 20 log10(|ref_1| / (g |ref_2|)) - 10 log10(1 - L / T)     (+0.094 dB here).

    What is left is random: the projected fraction varies by sqrt(2 L) / T (0.006 dB) and
    the cross term 2 g <ref_1, ref_2> / |ref_1|^2 by about 2 g / sqrt(T) (0.004-0.011 dB),
    so 0.05 dB is a 4-sigma tolerance; without the L / T term the formula is off by 0.09 dB.
    """
    refs = _noise()
    est = refs.copy()
    est[0] = refs[0] + g * refs[1]
    est[1] = refs[1] + 0.5 * np.random.default_rng(1).standard_normal(T)
    scores = bss_eval(refs, est)
    naive = 20 * math.log10(np.linalg.norm(refs[0]) / (g * np.linalg.norm(refs[1])))
    expected = naive - 10 * math.log10(1 - FILTER_TAPS / T)
    assert scores["sir"][0] == pytest.approx(expected, abs=0.05)
    assert abs(scores["sir"][0] - naive) > 0.05  # the correction is real, not within the tolerance
    assert scores["sdr"][0] == pytest.approx(scores["sir"][0], abs=1e-3)  # no artifacts: SDR = SIR
    assert scores["sar"][0] > 100
    assert set(scores) == {"sdr", "sir", "sar"} and all(v.shape == (2,) for v in scores.values())


def test_perfect_estimate_and_order_kept():
    refs = _noise(3, seed=2)
    scores = bss_eval(refs, refs.copy())
    assert (scores["sdr"] > 100).all() and (scores["sir"] > 100).all()
    swapped = bss_eval(refs, refs[[1, 0, 2]])  # no permutation search: a swap scores badly
    assert (swapped["sdr"][:2] < 0).all() and swapped["sdr"][2] > 100


def test_one_source_gives_infinite_sir():
    refs = _noise(2, seed=3)
    scores = bss_eval(refs[:1], refs[:1] + 0.1 * refs[1:])
    assert math.isinf(scores["sir"][0]) and scores["sir"][0] > 0
    assert scores["sdr"][0] == pytest.approx(20.0, abs=0.2)  # the additive noise is an artifact here


@pytest.mark.parametrize(
    "refs, est, message",
    [
        (np.ones(10), np.ones(10), "2-D"),
        (np.ones((2, 10)), np.ones((3, 10)), "differs"),
        (np.ones((0, 10)), np.ones((0, 10)), "at least one source"),
        (np.array([[1.0, np.nan], [1.0, 2.0]]), np.ones((2, 2)), "NaN"),
        (np.ones((2, 10)), np.array([[1.0] * 10, [0.0] * 10]), r"source\(s\) \[1\] are all zeros"),
        (np.zeros((2, 10)), np.ones((2, 10)), "references"),
    ],
)
def test_bad_inputs_are_named(refs, est, message):
    with pytest.raises(ParameterError, match=message):
        bss_eval(refs, est)


def test_per_n_summary_means_medians_counts():
    df = pd.DataFrame(
        {
            "n_sources": [2, 2, 2, 3, 3],
            "ear": ["left", "left", "right", "left", "left"],
            "sdr": [1.0, 2.0, 6.0, -1.0, 3.0],
            "sir": [10.0, 20.0, 30.0, 5.0, 7.0],
            "sar": [0.0, 0.0, 3.0, 1.0, 1.0],
        }
    )
    out = per_n_summary(df)
    assert list(out.columns) == [
        "n_sources",
        "sdr_mean",
        "sdr_median",
        "sir_mean",
        "sir_median",
        "sar_mean",
        "sar_median",
        "count",
    ]
    assert out["n_sources"].tolist() == [2, 3]
    assert out["sdr_mean"].tolist() == [3.0, 1.0]
    assert out["sdr_median"].tolist() == [2.0, 1.0]
    assert out["sir_mean"].tolist() == [20.0, 6.0]
    assert out["sar_median"].tolist() == [0.0, 1.0]
    assert out["count"].tolist() == [3, 2]
    by_ear = per_n_summary(df, metrics=("sdr",), by=("n_sources", "ear"))
    assert by_ear[["n_sources", "ear"]].values.tolist() == [[2, "left"], [2, "right"], [3, "left"]]
    assert by_ear["sdr_mean"].tolist() == [1.5, 6.0, 1.0]
    assert by_ear["count"].tolist() == [2, 1, 2]
    assert per_n_summary(df.iloc[:0]).empty
    with pytest.raises(ParameterError, match="ear"):
        per_n_summary(df.drop(columns="ear"), by=("n_sources", "ear"))
