"""Energy maps of ambiX fields and the circular earth mover's distance, against a linear-programming solution."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from points2sound.errors import ParameterError
from points2sound.evaluate.foa_metrics import circle_directions, circular_emd, energy_map, foa_emd
from points2sound.foa.ambisonics import encode_foa, rotate_foa


def _emd_by_linear_programming(p: np.ndarray, q: np.ndarray) -> float:
    """The optimal transport cost with the angle between grid directions as ground distance, solved directly."""
    n = p.size
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    steps = np.minimum(np.abs(i - j), n - np.abs(i - j))
    cost = (2 * np.pi / n * steps).ravel()
    rows = np.kron(np.eye(n), np.ones(n))  # sum_j f_ij = p_i
    cols = np.kron(np.ones(n), np.eye(n))  # sum_i f_ij = q_j
    res = linprog(cost, A_eq=np.vstack([rows, cols]), b_eq=np.concatenate([p, q]), bounds=(0, None), method="highs")
    assert res.status == 0
    return float(res.fun)


distributions = st.integers(4, 12).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n), st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)
    )
)


@settings(max_examples=60, deadline=None)
@given(distributions)
def test_circular_emd_equals_the_linear_programming_solution(pair):
    p, q = (np.asarray(x) + 1e-3 for x in pair)
    p, q = p / p.sum(), q / q.sum()
    assert circular_emd(p, q) == pytest.approx(_emd_by_linear_programming(p, q), abs=1e-7)


def test_emd_of_point_masses_is_their_angle():
    n = 36
    p, q = np.zeros(n), np.zeros(n)
    p[0], q[9] = 1.0, 1.0  # 90 degrees apart
    assert circular_emd(p, q) == pytest.approx(np.pi / 2)
    q[:] = 0
    q[27] = 1.0  # 270 degrees one way is 90 the other
    assert circular_emd(p, q) == pytest.approx(np.pi / 2)
    assert circular_emd(p, p) == 0.0


def test_energy_map_peaks_at_the_source_and_turns_with_the_head():
    x = np.random.default_rng(0).standard_normal(2000)
    n = 72
    field = encode_foa(x[None], np.array([60.0]))
    m = energy_map(field, n)
    assert m.sum() == pytest.approx(1.0) and np.all(m >= 0)
    assert circle_directions(n)[np.argmax(m)] == pytest.approx(60.0)
    # turning the head 60 degrees to the left brings the source straight ahead
    assert circle_directions(n)[np.argmax(energy_map(rotate_foa(field, 60.0), n))] == pytest.approx(0.0)
    # the further a predicted source is from the true one, the larger the distance
    far = [foa_emd(encode_foa(x[None], np.array([60.0 + d])), field, n) for d in (0, 30, 90, 180)]
    assert far[0] == pytest.approx(0.0, abs=1e-12) and far[1] < far[2] < far[3]


def test_silence_and_bad_maps():
    assert np.allclose(energy_map(np.zeros((4, 100)), 8), 1 / 8)
    with pytest.raises(ParameterError, match="same grid"):
        circular_emd(np.full(4, 0.25), np.full(8, 0.125))
    with pytest.raises(ParameterError, match="distributions"):
        circular_emd(np.array([0.5, 0.5, 0.5, -0.5]), np.full(4, 0.25))
    with pytest.raises(ParameterError, match="directions"):
        energy_map(np.zeros((4, 10)), 2)


def test_field_distances_share_the_true_w_scale():
    from points2sound.evaluate.foa_metrics import field_distances
    from points2sound.foa.ambisonics import encode_foa

    rng = np.random.default_rng(2)
    s = rng.standard_normal((1, 3000))
    true, pred = encode_foa(s, np.array([60.0])), encode_foa(s, np.array([100.0]))
    assert field_distances(true, true, 16000) == {"stft": 0.0, "env": 0.0}
    d = field_distances(pred, true, 16000)
    assert d["env"] > 0 and d["stft"] > 0
    scaled = field_distances(3 * pred, 3 * true, 16000)  # one factor for both: the distances do not move
    assert scaled["env"] == pytest.approx(d["env"]) and scaled["stft"] == pytest.approx(d["stft"])
    with pytest.raises(ParameterError, match="ambiX"):
        field_distances(pred[:2], true[:2], 16000)
