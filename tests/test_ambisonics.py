"""First-order ambisonics: ambiX encoding, head rotation, and the binaural decoder through a real HRIR set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from points2sound.config import load_params
from points2sound.errors import ParameterError
from points2sound.foa.ambisonics import (
    binaural_decoder,
    decode_binaural,
    encode_foa,
    foa_gains,
    rotate_foa,
    yaw_matrix,
)
from points2sound.render import IRSet, render_binaural
from points2sound.render import sphere_hrirs as _sphere_hrirs

HRIR = load_params(Path(__file__).resolve().parents[1] / "params.yaml")["hrir"]


def sphere_hrirs(azimuths_deg, sample_rate: int, **overrides):
    """The rigid-sphere HRIRs with params.yaml's head (`hrir:`), some keys overridden."""
    head = {k: HRIR[k] for k in ("head_radius_m", "ear_angle_deg", "distance_m", "taps", "speed_of_sound")}
    return _sphere_hrirs(azimuths_deg, sample_rate, **{**head, **overrides})


FS = 16000
angles = st.floats(-720.0, 720.0, allow_nan=False)


def test_gains_follow_the_ambix_axes():
    np.testing.assert_allclose(foa_gains(0.0), [1, 0, 0, 1], atol=1e-12)  # front: X
    np.testing.assert_allclose(foa_gains(90.0), [1, 1, 0, 0], atol=1e-12)  # left: Y
    np.testing.assert_allclose(foa_gains(0.0, 90.0), [1, 0, 1, 0], atol=1e-12)  # up: Z
    # SN3D: the first-order channels of a plane wave have unit norm, as W has
    az = np.linspace(0, 360, 13)
    np.testing.assert_allclose(np.linalg.norm(foa_gains(az, 20.0)[:, 1:], axis=1), 1.0)


def test_encoding_sums_the_sources():
    rng = np.random.default_rng(1)
    sources = rng.standard_normal((3, 200))
    az = np.array([30.0, 150.0, 270.0])
    foa = encode_foa(sources, az)
    np.testing.assert_allclose(foa[0], sources.sum(0))
    np.testing.assert_allclose(foa, sum(encode_foa(sources[i], az[i : i + 1]) for i in range(3)))
    assert not foa[2].any()  # horizontal sources: no Z
    with pytest.raises(ParameterError, match="azimuths_deg"):
        encode_foa(sources, az[:2])


@settings(max_examples=50, deadline=None)
@given(az=angles, el=st.floats(-80.0, 80.0), yaw=angles)
def test_a_rotated_encoding_is_the_encoding_at_the_rotated_azimuth(az, el, yaw):
    signal = np.array([[1.0, -0.5, 0.25]])
    turned = rotate_foa(encode_foa(signal, np.array([az]), el), yaw)
    np.testing.assert_allclose(turned, encode_foa(signal, np.array([az - yaw]), el), atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(a=angles, b=angles)
def test_yaw_rotations_compose_and_invert(a, b):
    np.testing.assert_allclose(yaw_matrix(a) @ yaw_matrix(b), yaw_matrix(a + b), atol=1e-9)
    np.testing.assert_allclose(yaw_matrix(a).T, yaw_matrix(-a), atol=1e-12)


@pytest.fixture(scope="module")
def hrirs() -> IRSet:
    az = np.arange(0.0, 360.0, 2.0)
    return IRSet("sphere", az, sphere_hrirs(az, FS, taps=256), FS)


def _itd_us(left: np.ndarray, right: np.ndarray) -> float:
    """Interaural delay by cross-correlation, 8x upsampled; negative: the left ear leads."""
    up = 8
    u, v = scipy.signal.resample(left, left.size * up), scipy.signal.resample(right, right.size * up)
    lag = np.argmax(scipy.signal.correlate(u, v, "full")) - (u.size - 1)
    return lag / up / FS * 1e6


def _ild_db(left: np.ndarray, right: np.ndarray) -> float:
    return 10 * np.log10(np.sum(left**2) / np.sum(right**2))


@pytest.mark.parametrize("azimuth", [30.0, 60.0, 90.0, 136.0, 224.0, 270.0, 330.0])
def test_a_decoded_source_is_heard_on_its_side(hrirs, azimuth):
    decoder = binaural_decoder(hrirs)
    assert decoder.shape == (2, 4, 256) and not decoder[:, 2].any()  # a horizontal set fits no Z
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(FS // 2)
    low = scipy.signal.sosfilt(scipy.signal.butter(6, 500, fs=FS, output="sos"), noise)
    ears = decode_binaural(encode_foa(noise[None], np.array([azimuth])), decoder)
    low_ears = decode_binaural(encode_foa(low[None], np.array([azimuth])), decoder)[:, 1000:5000]
    direct = render_binaural(low, hrirs.ir(azimuth)[None])[0, :, 1000:5000]
    side = 1.0 if azimuth < 180 else -1.0  # left: the left ear is louder and leads
    assert side * _ild_db(*ears) > 3.0
    assert -side * _itd_us(*low_ears) > 100.0
    # where the decoder is least squares (low frequencies) its delay is the direct render's within 25 %
    assert abs(_itd_us(*low_ears) - _itd_us(*direct)) < 0.25 * abs(_itd_us(*direct))


def test_front_and_back_decode_to_equal_ears(hrirs):
    decoder = binaural_decoder(hrirs)
    x = np.random.default_rng(2).standard_normal(4000)
    for azimuth in (0.0, 180.0):
        ears = decode_binaural(encode_foa(x[None], np.array([azimuth])), decoder)
        np.testing.assert_allclose(ears[0], ears[1], atol=1e-5 * np.abs(ears).max())


def test_decoder_refuses_a_room_set_and_bad_shapes(hrirs):
    room = IRSet("room", hrirs.azimuths_deg, hrirs.irs, FS, kind="brir")
    with pytest.raises(ParameterError, match="anechoic"):
        binaural_decoder(room)
    with pytest.raises(ParameterError, match="ambiX"):
        decode_binaural(np.zeros((2, 10)), binaural_decoder(hrirs))
    with pytest.raises(ParameterError, match="ambiX"):
        rotate_foa(np.zeros((3, 10)), 10.0)
