"""Render layer: rigid-sphere physics, FFT rendering, SOFA I/O, room decay, resampling.

Every check compares against an independent computation: closed-form limits and
Woodworth's geometry for the sphere, scipy's direct special functions for the series,
scipy.signal.fftconvolve for the renderer, Schroeder integration for the rooms.
"""

from __future__ import annotations

import time
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import scipy.signal
import sofar
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import eval_legendre, spherical_jn, spherical_yn

from points2sound.audio_io import read_wav, write_wav
from points2sound.config import load_params
from points2sound.errors import InputFileError, ParameterError
from points2sound.render.binaural import render_binaural, render_recordings
from points2sound.render.room import ROOM_PRESETS, horizontal_azimuth, simulate_brirs
from points2sound.render.sofa_io import IRSet, read_ir_set, resample_ir_set, write_brir_sofa, write_hrir_sofa
from points2sound.render.sphere_head import sphere_hrirs as _sphere_hrirs
from points2sound.render.sphere_head import sphere_transfer_function

HRIR = load_params(Path(__file__).resolve().parents[1] / "params.yaml")["hrir"]


def sphere_hrirs(azimuths_deg, sample_rate: int, **overrides):
    """The rigid-sphere HRIRs with params.yaml's head (`hrir:`), some keys overridden."""
    head = {k: HRIR[k] for k in ("head_radius_m", "ear_angle_deg", "distance_m", "taps", "speed_of_sound")}
    return _sphere_hrirs(azimuths_deg, sample_rate, **{**head, **overrides})


A, C = 0.0875, 343.0  # head radius (m), speed of sound (m/s)


def xcorr_itd(left: np.ndarray, right: np.ndarray, fs: int) -> float:
    """Interaural time difference (s, > 0 when the left ear leads) by cross-correlation."""
    xc = scipy.signal.correlate(right.astype(float), left.astype(float), mode="full")
    return (np.argmax(xc) - (len(left) - 1)) / fs


def band_level_db(x: np.ndarray, fs: int, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x, 8192)) ** 2
    f = np.fft.rfftfreq(8192, 1 / fs)
    return 10 * np.log10(spec[(f >= lo) & (f < hi)].mean())


def schroeder_rt(x: np.ndarray, fs: int, lo_db: float, hi_db: float) -> float:
    """Reverberation time from the backward-integrated energy, fitted between two levels."""
    edc = np.cumsum(x[::-1].astype(float) ** 2)[::-1]
    edc_db = 10 * np.log10(edc / edc[0])
    i0, i1 = np.argmax(edc_db <= lo_db), np.argmax(edc_db <= hi_db)
    slope = np.polyfit(np.arange(i0, i1) / fs, edc_db[i0:i1], 1)[0]
    return -60.0 / slope


# ---------------------------------------------------------------- rigid sphere


def test_sphere_series_matches_scipy_special_functions():
    """Duda & Martens' formula evaluated with scipy's j_n, y_n (no recurrences) agrees."""
    r = 1.0
    rho = r / A
    cos = np.cos(np.deg2rad([0, 10, 60, 100, 150, 180]))
    for f in (80.0, 700.0, 3000.0, 11000.0, 20000.0):
        mu = 2 * np.pi * f * A / C
        n = np.arange(0, int(mu) + 40)
        h = spherical_jn(n, mu * rho) + 1j * spherical_yn(n, mu * rho)
        dh = spherical_jn(n, mu, derivative=True) + 1j * spherical_yn(n, mu, derivative=True)
        series = np.sum(((2 * n + 1) * h / dh)[:, None] * eval_legendre(n[:, None], cos[None]), axis=0)
        relative = -(rho / mu) * np.exp(-1j * mu * rho) * series  # p(ear) / p_free(centre)
        expected = np.conj(relative * np.exp(1j * mu * rho) / r)  # numpy's sign convention, with 1/r and delay
        got = sphere_transfer_function([f], cos, A, r, C)[0]
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_sphere_low_frequency_limit_is_free_field():
    """At 0 Hz the rigid sphere is potential flow: (1/r) sum (2n+1)/(n+1) (a/r)^n P_n; ~1/r."""
    cos = np.cos(np.deg2rad(np.arange(0, 181, 15)))
    for r in (1.0, 2.0, 10.0):
        n = np.arange(60)
        laplace = ((2 * n + 1) / (n + 1) * (A / r) ** n) @ eval_legendre(n[:, None], cos[None]) / r
        got = sphere_transfer_function([0.0, 1.0], cos, A, r, C)
        np.testing.assert_allclose(got[0].real, laplace, rtol=1e-9)
        np.testing.assert_allclose(np.abs(got[1]), laplace, rtol=1e-4)  # 1 Hz: the same limit
        # the free-field amplitude 1/r, up to the sphere's near-field terms 1.5 a/r cos + O((a/r)^2)
        assert np.all(np.abs(np.abs(got[1]) * r - 1.0) <= 1.5 * A / r + 2 * (A / r) ** 2)


def test_sphere_high_frequency_pressure_doubling():
    """Facing the source at high frequency the rigid surface doubles the incident pressure."""
    r = 1.0
    got = np.abs(sphere_transfer_function([16000.0, 20000.0], [1.0], A, r, C))[:, 0]
    np.testing.assert_allclose(got * (r - A), 2.0, rtol=0.01)


def test_itd_of_a_source_on_the_left_matches_woodworth():
    fs = 44100
    left, right = sphere_hrirs([90.0], fs)[0]
    itd = xcorr_itd(left, right, fs)
    assert itd > 0, "the left ear must lead for a source on the left"
    assert 0.6e-3 <= itd <= 0.7e-3
    # Woodworth with the 100 deg ears and the 1 m source: straight to the near ear
    # (10 deg off the source), tangent + arc around the head to the far ear (170 deg off)
    r = 1.0
    near = np.sqrt(r**2 + A**2 - 2 * r * A * np.cos(np.deg2rad(10)))
    far = np.sqrt(r**2 - A**2) + A * (np.deg2rad(170) - np.arccos(A / r))
    woodworth = (far - near) / C
    plane_wave = A / C * (np.cos(np.deg2rad(10)) + np.deg2rad(80))  # r/c (theta + sin theta), 100 deg ears
    assert abs(itd - woodworth) / woodworth < 0.08
    assert abs(itd - plane_wave) / plane_wave < 0.1


def test_ild_grows_with_frequency():
    fs = 44100
    for az in (45.0, 90.0, 135.0):
        left, right = sphere_hrirs([az], fs)[0]
        ild_500 = band_level_db(left, fs, 400, 630) - band_level_db(right, fs, 400, 630)
        ild_4k = band_level_db(left, fs, 3500, 4500) - band_level_db(right, fs, 3500, 4500)
        assert 0 < ild_500 < ild_4k, (az, ild_500, ild_4k)
        assert ild_4k > 6.0


def test_sphere_symmetries():
    az = np.arange(0, 360, 5.0)
    irs = sphere_hrirs(az, 44100)
    for front_back in (0, 36):  # 0 and 180 deg: both ears identical
        np.testing.assert_allclose(irs[front_back, 0], irs[front_back, 1], atol=1e-7)
    mirror = sphere_hrirs(np.mod(360.0 - az, 360.0), 44100)
    np.testing.assert_allclose(irs[:, 0], mirror[:, 1], atol=1e-7)  # az and 360 - az swap ears
    np.testing.assert_allclose(irs[:, 1], mirror[:, 0], atol=1e-7)


def test_sphere_hrir_onset_is_the_propagation_delay():
    fs, r = 48000, 1.5
    irs = sphere_hrirs([100.0], fs, distance_m=r, taps=512)  # source in line with the left ear
    peak = np.argmax(np.abs(irs[0, 0]))
    expected = (r - A) / C * fs + 0.5e-3 * fs  # to the surface, plus the constant onset
    assert abs(peak - expected) <= 2


def test_sphere_360_directions_are_fast():
    t0 = time.perf_counter()
    irs = sphere_hrirs(np.arange(360.0), 44100)
    assert irs.shape == (360, 2, 512) and irs.dtype == np.float32 and np.all(np.isfinite(irs))
    assert time.perf_counter() - t0 < 5.0


def test_sphere_rejects_bad_parameters():
    with pytest.raises(ParameterError, match="distance_m"):
        sphere_hrirs([0.0], 44100, distance_m=0.05)
    with pytest.raises(ParameterError, match="taps"):
        sphere_hrirs([0.0], 44100, distance_m=5.0, taps=512)  # 14 ms of delay in 11.6 ms


# ---------------------------------------------------------------- convolution


@settings(max_examples=25, deadline=None)
@given(
    k=st.integers(1, 4),
    n=st.integers(1, 300),
    t=st.integers(1, 2000),
    block=st.sampled_from([None, 1, 7, 256]),
    seed=st.integers(0, 2**31 - 1),
)
def test_render_binaural_equals_fftconvolve(k, n, t, block, seed):
    rng = np.random.default_rng(seed)
    mono = rng.standard_normal(t)
    irs = rng.standard_normal((k, 2, n))
    out = render_binaural(mono, irs, block=block)
    assert out.shape == (k, 2, t) and out.dtype == np.float64
    expected = scipy.signal.fftconvolve(mono[None, None], irs, axes=-1)[..., :t]
    np.testing.assert_allclose(out, expected, atol=1e-9 * max(1.0, np.abs(expected).max()))


def test_render_binaural_is_causal_np_convolve_float32():
    rng = np.random.default_rng(1)
    mono = rng.standard_normal(5000).astype(np.float32)
    irs = rng.standard_normal((3, 2, 700)).astype(np.float32)
    out = render_binaural(mono, irs)
    assert out.dtype == np.float32
    for kk in range(3):
        for ear in range(2):
            ref = np.convolve(mono.astype(float), irs[kk, ear].astype(float))[:5000]
            np.testing.assert_allclose(out[kk, ear], ref, atol=2e-4 * np.abs(ref).max())


def test_render_binaural_long_input_in_blocks():
    """Over 2^20 samples the renderer works block by block; the result must not change."""
    rng = np.random.default_rng(2)
    t = (1 << 20) + 12345
    mono = rng.standard_normal(t).astype(np.float32)
    irs = rng.standard_normal((1, 2, 600)).astype(np.float32)
    out = render_binaural(mono, irs)
    ref = scipy.signal.oaconvolve(mono[None, None].astype(float), irs.astype(float), axes=-1)[..., :t]
    np.testing.assert_allclose(out, ref, atol=1e-3)


# ---------------------------------------------------------------- SOFA


def test_hrir_sofa_round_trip(tmp_path):
    az = np.arange(0, 360, 30.0)
    irs = sphere_hrirs(az, 16000, taps=128)
    path = tmp_path / "sphere.sofa"
    write_hrir_sofa(path, irs, 16000, az, 1.0, name="sphere", comment="test")
    s = sofar.read_sofa(str(path))  # sofar's own verification of the convention
    assert s.GLOBAL_SOFAConventions == "SimpleFreeFieldHRIR"
    got = read_ir_set(path)
    assert got.kind == "hrir" and got.sample_rate == 16000 and got.name == "sphere"
    np.testing.assert_allclose(got.azimuths_deg, az, atol=1e-9)
    np.testing.assert_allclose(got.distances_m, 1.0)
    np.testing.assert_array_equal(got.irs, irs)
    np.testing.assert_array_equal(got.ir(90.2), irs[3])
    np.testing.assert_array_equal(got.ir(359.8), irs[0])  # circular distance
    with pytest.raises(ParameterError, match=r"sphere.*45"):
        got.ir(45.0)


def test_brir_sofa_reads_back_relative_azimuths(tmp_path):
    rng = np.random.default_rng(0)
    irs = rng.standard_normal((5, 2, 64))
    for kwargs in ({}, {"room_dims_m": (5.2, 4.5, 3.55), "listener_pos_m": (1.6, 2.0, 1.2)}):
        path = tmp_path / f"room{len(kwargs)}.sofa"
        write_brir_sofa(
            path, irs, 44100, [-90, -45, 0, 45, 90], 0.0, 2.0, name="room", room_description="test room", **kwargs
        )
        s = sofar.read_sofa(str(path))
        assert s.GLOBAL_SOFAConventions == "SingleRoomSRIR"
        got = read_ir_set(path)
        assert got.kind == "brir"
        np.testing.assert_allclose(got.azimuths_deg, [90, 45, 0, 315, 270], atol=1e-9)
        np.testing.assert_allclose(got.distances_m, 2.0)
        np.testing.assert_allclose(got.irs, irs.astype(np.float32))


def test_read_general_fir_with_spherical_view_offset_listener_and_swapped_ears(tmp_path):
    """A file in another layout: cartesian sources, listener off the origin, spherical
    ListenerView per measurement, receivers stored right-then-left, a Data.Delay."""
    sofa = sofar.Sofa("GeneralFIR")
    m = 3
    data = np.zeros((m, 2, 16))
    data[:, 0, 0] = 1.0  # receiver 0 (the right ear here)
    data[:, 1, 1] = 2.0  # receiver 1 (the left ear)
    sofa.Data_IR = data
    sofa.Data_SamplingRate = 48000.0
    sofa.Data_Delay = np.array([[3.0, 3.0]])
    sofa.ListenerPosition = np.array([[1.0, 2.0, 0.0]])
    sofa.SourcePosition_Type, sofa.SourcePosition_Units = "cartesian", "metre"
    sofa.SourcePosition = np.array([[3.0, 2.0, 0.0]] * m)  # 2 m along +x from the listener
    sofa.ListenerView_Type, sofa.ListenerView_Units = "spherical", "degree, degree, metre"
    sofa.ListenerView = np.array([[0.0, 0.0, 1.0], [30.0, 0.0, 1.0], [-120.0, 0.0, 1.0]])
    sofa.ReceiverPosition = np.array([[0.0, -0.09, 0.0], [0.0, 0.09, 0.0]])
    sofa.GLOBAL_RoomType = "reverberant"
    sofa.add_attribute("GLOBAL_RoomDescription", "test")
    path = tmp_path / "general.sofa"
    sofar.write_sofa(str(path), sofa)
    got = read_ir_set(path)
    np.testing.assert_allclose(got.azimuths_deg, [0.0, 330.0, 120.0], atol=1e-9)
    assert got.kind == "brir"
    assert got.irs.shape == (3, 2, 19)
    assert np.all(got.irs[:, 0, 4] == 2.0) and np.all(got.irs[:, 1, 3] == 1.0)  # left first, delayed by 3


def _valid_hrir(path: Path, **override) -> None:
    sofa = sofar.Sofa(override.pop("convention", "SimpleFreeFieldHRIR"))
    for key, value in override.items():
        setattr(sofa, key, value)
    for key in [k for k in vars(sofa) if not k.startswith("_")]:
        value = getattr(sofa, key)
        if isinstance(value, np.ndarray) and value.dtype.kind in "USO":
            sofa.delete(key)  # optional string variables, which sofar cannot write with this netCDF4
    sofar.write_sofa(str(path), sofa)


def test_bad_sofa_files_are_rejected_naming_the_file(tmp_path):
    missing = tmp_path / "missing.sofa"
    with pytest.raises(InputFileError, match="missing.sofa.*not found"):
        read_ir_set(missing)

    text = tmp_path / "text.sofa"
    text.write_text("this is not a SOFA file\n")
    with pytest.raises(InputFileError, match="text.sofa.*not a SOFA"):
        read_ir_set(text)

    plain = tmp_path / "plain.sofa"
    with netCDF4.Dataset(plain, "w", format="NETCDF4") as nc:
        nc.createDimension("x", 3)
        nc.createVariable("v", "f8", ("x",))[:] = [1, 2, 3]
    with pytest.raises(InputFileError, match="plain.sofa.*not a SOFA file"):
        read_ir_set(plain)

    headphone = tmp_path / "headphone.sofa"
    _valid_hrir(headphone, convention="SimpleHeadphoneIR", Data_IR=np.ones((1, 2, 8)))
    with pytest.raises(InputFileError, match="headphone.sofa.*SimpleHeadphoneIR"):
        read_ir_set(headphone)

    tf = tmp_path / "tf.sofa"
    _valid_hrir(
        tf,
        convention="SimpleFreeFieldHRTF",
        Data_Real=np.ones((1, 2, 5)),
        Data_Imag=np.zeros((1, 2, 5)),
        N=np.arange(5.0),
    )
    with pytest.raises(InputFileError, match="tf.sofa.*DataType is 'TF'"):
        read_ir_set(tf)

    three = tmp_path / "three.sofa"
    _valid_hrir(
        three,
        convention="GeneralFIR",
        Data_IR=np.ones((2, 3, 8)),
        SourcePosition=np.array([[0, 0, 1.0]] * 2),
        ReceiverPosition=np.zeros((3, 3)),
        Data_Delay=np.zeros((1, 3)),
    )
    with pytest.raises(InputFileError, match="three.sofa.*3 receivers"):
        read_ir_set(three)

    nan = tmp_path / "nan.sofa"
    _valid_hrir(nan, Data_IR=np.ones((1, 2, 8)))
    with netCDF4.Dataset(nan, "a") as nc:
        nc["Data.IR"][0, 0, 3] = np.nan
    with pytest.raises(InputFileError, match="nan.sofa.*NaN"):
        read_ir_set(nan)


def test_resampling_keeps_itd_and_gain():
    az = np.array([0.0, 60.0, 90.0])
    src = IRSet("sphere", az, sphere_hrirs(az, 48000, taps=512), 48000)
    dst = resample_ir_set(src, 44100)
    assert dst.sample_rate == 44100 and dst.irs.shape[2] == int(np.ceil(512 * 44100 / 48000))
    for i in range(3):
        itd_src = xcorr_itd(*src.irs[i], 48000)
        itd_dst = xcorr_itd(*dst.irs[i], 44100)
        assert abs(itd_src - itd_dst) <= 1.0 / 44100
        # the DC gain (sum of the taps) is a property of the filter, not of the rate
        np.testing.assert_allclose(dst.irs[i].sum(axis=-1), src.irs[i].sum(axis=-1), rtol=0.02)
    up = resample_ir_set(src, 96000)
    np.testing.assert_allclose(up.irs.sum(axis=-1), src.irs.sum(axis=-1), rtol=0.02)


# ---------------------------------------------------------------- rooms


@pytest.fixture(scope="module")
def coarse_hrirs() -> IRSet:
    az = np.arange(0, 360, 5.0)
    return IRSet("sphere5", az, sphere_hrirs(az, 16000, taps=128), 16000, distances_m=np.ones(az.size))


@given(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1))
def test_horizontal_azimuth_keeps_the_lateral_angle(x, y, z):
    d = np.array([[x, y, z]])
    if np.linalg.norm(d) < 1e-3:
        return
    az = np.deg2rad(horizontal_azimuth(d)[0])
    assert np.isclose(np.sin(az), y / np.linalg.norm(d), atol=1e-9)  # sin(az') = sin(az) cos(el)
    if abs(x) > 1e-9:
        assert np.sign(np.cos(az)) == np.sign(x)  # front stays front, back stays back


@pytest.mark.parametrize("preset", ["calypso", "spirit"])
def test_brir_decay_matches_rt60(coarse_hrirs, preset):
    fs = coarse_hrirs.sample_rate
    cfg = ROOM_PRESETS[preset]
    irs, rotations = simulate_brirs(coarse_hrirs, cfg["dims_m"], cfg["rt60_s"], head_rotations_deg=(-90, 0, 90))
    assert irs.shape[:2] == (3, 2) and irs.dtype == np.float32
    assert irs.shape[2] >= 1.2 * cfg["rt60_s"] * fs
    for m in range(3):
        for ear in range(2):
            for lo, hi in ((-5, -25), (-5, -35)):  # T20, T30
                rt = schroeder_rt(irs[m, ear], fs, lo, hi)
                assert abs(rt - cfg["rt60_s"]) <= 0.2 * cfg["rt60_s"], (preset, m, ear, lo, hi, rt)
    # an interrupted noise rendered through the BRIR decays the same way after it stops
    rng = np.random.default_rng(0)
    n_burst = int(0.3 * fs)
    signal = np.concatenate([rng.standard_normal(n_burst), np.zeros(irs.shape[2])]).astype(np.float32)
    out = render_binaural(signal, irs[1:2])[0]
    for ear in range(2):
        tail = out[ear, n_burst:]
        rt = schroeder_rt(tail, fs, -5, -25)
        assert abs(rt - cfg["rt60_s"]) <= 0.2 * cfg["rt60_s"], (preset, ear, rt)


def test_brir_direct_sound_is_the_hrir_at_the_relative_azimuth(coarse_hrirs):
    fs = coarse_hrirs.sample_rate
    dims = ROOM_PRESETS["calypso"]["dims_m"]
    listener = np.array([1.6, 2.0, 1.2])
    irs, rotations = simulate_brirs(
        coarse_hrirs, dims, 0.17, source_distance_m=2.0, head_rotations_deg=(-90, -45, 0, 45, 90), listener_pos=listener
    )
    np.testing.assert_array_equal(rotations, [-90, -45, 0, 45, 90])
    # first reflection: the floor (height 1.2 m), path sqrt(2^2 + 2.4^2)
    first = int(round((np.hypot(2.0, 2 * 1.2) - 2.0) / C * fs))
    d0 = int(round((2.0 - 1.0) / C * fs))  # HRIRs at 1 m, source at 2 m
    for m, rel in enumerate([90, 45, 0, 315, 270]):
        expected = 0.5 * coarse_hrirs.ir(rel)[:, :first]  # 1/r: 1 m -> 2 m
        np.testing.assert_allclose(irs[m, :, d0 : d0 + first], expected, atol=1e-5)
    left, right = irs[0, :, : d0 + first]  # rotation -90: source on the left
    assert xcorr_itd(left, right, fs) > 0
    left, right = irs[4, :, : d0 + first]  # rotation +90: source on the right
    assert xcorr_itd(left, right, fs) < 0


def test_room_rejects_bad_geometry(coarse_hrirs):
    with pytest.raises(ParameterError, match="source_distance_m"):
        simulate_brirs(coarse_hrirs, (3.0, 3.0, 3.0), 0.3, source_distance_m=4.0)
    with pytest.raises(ParameterError, match="room_dims_m"):
        simulate_brirs(coarse_hrirs, (3.0, -3.0, 3.0), 0.3)


# ---------------------------------------------------------------- recordings


def test_render_recordings_writes_every_azimuth(tmp_path):
    fs = 16000
    rng = np.random.default_rng(3)
    wavs = []
    for instrument, rec in (("cello", "cello_03"), ("violin", "violin_01")):
        path = tmp_path / "audio" / instrument / f"{rec}.wav"
        write_wav(path, 0.1 * rng.standard_normal(fs // 2), fs)
        wavs.append(path)
    az = np.arange(0, 360, 45.0)
    irset = IRSet("sphere", az, sphere_hrirs(az, 32000, taps=256), 32000)  # other rate: resampled first
    out = render_recordings(wavs, tmp_path / "bin", irset, [0, 45, 270], fs)
    assert {p.relative_to(tmp_path / "bin").as_posix() for p in out} == {
        f"{i}/{r}_{a}.wav" for i, r in (("cello", "cello_03"), ("violin", "violin_01")) for a in (0, 45, 270)
    }
    mono, _ = read_wav(wavs[0], expected_sr=fs, channels=1)
    ref = scipy.signal.fftconvolve(mono[0][None], resample_ir_set(irset, fs).ir(270), axes=-1)[:, : fs // 2]
    got, sr = read_wav(tmp_path / "bin" / "cello" / "cello_03_270.wav")
    assert sr == fs
    np.testing.assert_allclose(got, ref, atol=1e-5)
    with pytest.raises(ParameterError, match="sphere.*10"):
        render_recordings(wavs, tmp_path / "bin2", irset, [10], fs)
    with pytest.raises(InputFileError, match="cello_03.wav.*sample rate"):
        render_recordings(wavs, tmp_path / "bin3", irset, [0], 22050)
