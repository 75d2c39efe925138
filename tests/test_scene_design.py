"""The balanced test-set design (data/scenes/design.py): balance, same-side share, errors, determinism."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points2sound.data.scenes import same_side
from points2sound.data.scenes.design import balanced_azimuths, required_multiple, side_of
from points2sound.errors import ParameterError

HRIR = (0, 45, 90, 135, 180, 225, 270, 315)
ROOM = (0, 45, 90, 270, 315)  # a room's head rotations -90..90 deg


def _check(tuples, n, count, azimuths):
    assert len(tuples) == count
    assert all(len(t) == n and len(set(t)) == n and set(t) <= set(azimuths) for t in tuples)
    uses = Counter(a for t in tuples for a in t)
    assert {uses[a] for a in azimuths} == ({n * count // len(azimuths)} if count else {0})


@settings(max_examples=60, deadline=None)
@given(
    azimuths=st.sampled_from([HRIR, ROOM, (0, 90, 180, 270), (0, 60, 120, 180, 240, 300)]),
    n=st.integers(1, 3),
    blocks=st.integers(0, 6),
    seed=st.integers(0, 2**31 - 1),
)
def test_every_azimuth_equally_often_for_any_count_that_is_a_multiple(azimuths, n, blocks, seed):
    count = blocks * required_multiple(n, len(azimuths))
    tuples = balanced_azimuths(n, count, azimuths, np.random.default_rng(seed), 0.0)
    _check(tuples, n, count, azimuths)


@settings(max_examples=60, deadline=None)
@given(
    azimuths=st.sampled_from([HRIR, ROOM]),
    blocks=st.integers(1, 8),
    share=st.floats(0, 0.5),
    seed=st.integers(0, 2**31 - 1),
)
def test_same_side_share_at_n2_is_exact_and_balance_holds(azimuths, blocks, share, seed):
    count = blocks * 2 * required_multiple(2, len(azimuths))
    tuples = balanced_azimuths(2, count, azimuths, np.random.default_rng(seed), share)
    _check(tuples, 2, count, azimuths)
    n_same = sum(same_side(t) for t in tuples)
    assert n_same == math.floor(share * count + 0.5)
    sides = Counter(side_of(t[0]) for t in tuples if same_side(t))
    assert abs(sides["left"] - sides["right"]) <= 1  # split evenly between the sides


@settings(max_examples=40, deadline=None)
@given(azimuths=st.sampled_from([HRIR, ROOM]), n=st.integers(1, 3), count=st.integers(1, 200))
def test_counts_that_cannot_be_balanced_are_refused(azimuths, n, count):
    if (n * count) % len(azimuths) == 0:
        _check(balanced_azimuths(n, count, azimuths, np.random.default_rng(0)), n, count, azimuths)
    else:
        with pytest.raises(ParameterError, match=f"multiple of {required_multiple(n, len(azimuths))} scenes"):
            balanced_azimuths(n, count, azimuths, np.random.default_rng(0))


def test_infeasible_same_side_shares_are_refused():
    with pytest.raises(ParameterError, match="same_side_share_n2"):
        balanced_azimuths(2, 40, HRIR, np.random.default_rng(0), 0.9)  # the medial azimuths need partners
    with pytest.raises(ParameterError, match="same_side_share_n2"):
        balanced_azimuths(2, 40, ROOM, np.random.default_rng(0), 1.0)
    with pytest.raises(ParameterError, match="no two on one side"):
        balanced_azimuths(2, 4, (0, 90, 180, 270), np.random.default_rng(0), 0.5)
    with pytest.raises(ParameterError, match="right side"):  # 2 left and 4 right azimuths: some must pair up
        balanced_azimuths(2, 3, (30, 60, 200, 250, 300, 330), np.random.default_rng(0), 0.0)
    with pytest.raises(ParameterError, match="must lie in"):
        balanced_azimuths(2, 8, HRIR, np.random.default_rng(0), 1.5)


def test_the_design_is_seeded():
    a = balanced_azimuths(3, 40, HRIR, np.random.default_rng([5, 3]))
    assert a == balanced_azimuths(3, 40, HRIR, np.random.default_rng([5, 3]))
    assert a != balanced_azimuths(3, 40, HRIR, np.random.default_rng([6, 3]))
