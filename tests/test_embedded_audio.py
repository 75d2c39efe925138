"""Embedded mono recordings: files, determinism, ranges, timbres, parameter errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from points2sound.data.synth.audio import (
    INSTRUMENT_PROGRAMS,
    INSTRUMENT_RANGES,
    MANIFEST_COLUMNS,
    generate_recordings,
    monophonic,
    soundfont_path,
    transpose_into_range,
)
from points2sound.errors import ParameterError

INSTRUMENTS = ["cello", "doublebass", "guitar", "saxophone", "violin"]
SR = 8000
DURATION = 2.5
PER_INSTRUMENT = 2
SEED = 7


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("embedded")
    generate_recordings(out, INSTRUMENTS, PER_INSTRUMENT, DURATION, SR, SEED)
    return out


def _audio(root: Path, recording: str) -> np.ndarray:
    instrument = recording.rsplit("_", 1)[0]
    data, sr = sf.read(root / instrument / f"{recording}.wav", dtype="float32", always_2d=True)
    assert sr == SR
    return data[:, 0]


def _yin_f0(x: np.ndarray, sr: int, fmin: float = 30.0, fmax: float = 1500.0) -> np.ndarray:
    """Frame-wise f0 by YIN's cumulative-mean-normalised difference (de Cheveigne 2002)."""
    n = int(0.1 * sr)
    tau_max, tau_min = int(sr / fmin), int(sr / fmax)
    width = n - tau_max
    level = np.sqrt(np.mean(x**2))
    f0 = []
    for start in range(0, x.size - n, n // 2):
        frame = x[start : start + n].astype(np.float64)
        if np.sqrt(np.mean(frame**2)) < 0.3 * level:
            continue  # rests and room tails
        d = np.array([np.sum((frame[:width] - frame[t : t + width]) ** 2) for t in range(tau_max)])
        cmnd = d[1:] * np.arange(1, tau_max) / np.maximum(np.cumsum(d[1:]), 1e-20)
        below = np.nonzero(cmnd[tau_min - 1 :] < 0.15)[0]
        if below.size:
            t = below[0] + tau_min - 1
            while t + 1 < cmnd.size and cmnd[t + 1] < cmnd[t]:
                t += 1  # walk down to the dip's minimum
            f0.append(sr / (t + 1))
    return np.array(f0)


def _wav_bytes(path: Path) -> bytes:
    """File bytes with the timestamp of a PEAK chunk (libsndfile adds one to float WAVs) zeroed."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PEAK", 12, 200)
    if at >= 0:
        data[at + 12 : at + 16] = bytes(4)  # chunk id, size, version, then the time of writing
    return bytes(data)


def _centroid(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x))
    freq = np.fft.rfftfreq(x.size, 1 / sr)
    return float(np.sum(spectrum * freq) / np.sum(spectrum))


# --------------------------------------------------------------------------- files and manifest


def test_files_are_mono_at_the_rate_and_length_non_silent(corpus_dir: Path) -> None:
    for instrument in INSTRUMENTS:
        for k in range(PER_INSTRUMENT):
            info = sf.info(str(corpus_dir / instrument / f"{instrument}_{k:02d}.wav"))
            assert (info.channels, info.samplerate, info.frames) == (1, SR, round(DURATION * SR))
            assert info.subtype == "FLOAT"
            x = _audio(corpus_dir, f"{instrument}_{k:02d}")
            peak = np.max(np.abs(x))
            assert np.all(np.isfinite(x))
            assert 0.5 * 10 ** (-6 / 20) - 1e-6 <= peak <= 0.5 + 1e-6  # default peak 0.5, gain -6..0 dB
            # Music, not a noise floor (background noise sits 40-50 dB below the signal).
            frames = x[: x.size // 800 * 800].reshape(-1, 800)
            assert np.sqrt(np.mean(x**2)) > 0.01 and np.sqrt(np.mean(frames**2, axis=1)).max() > 0.03


def test_manifest_lists_every_recording(corpus_dir: Path) -> None:
    manifest = pd.read_csv(corpus_dir / "manifest.csv")
    assert list(manifest.columns) == MANIFEST_COLUMNS
    assert len(manifest) == len(INSTRUMENTS) * PER_INSTRUMENT
    assert set(manifest.recording) == {f"{i}_{k:02d}" for i in INSTRUMENTS for k in range(PER_INSTRUMENT)}
    for row in manifest.itertuples():
        assert (corpus_dir / row.path).is_file()
        assert row.path == f"{row.instrument}/{row.recording}.wav"
        assert row.program == INSTRUMENT_PROGRAMS[row.instrument]
        assert row.source.startswith("music21:")
        assert 0.85 <= row.tempo_factor <= 1.15 and -6 <= row.gain_db <= 0
        assert row.sample_rate == SR and row.seed == SEED and row.duration_s == pytest.approx(DURATION)


def test_soundfont_programs_are_the_named_instruments() -> None:
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=SR)
    sfid = synth.sfload(str(soundfont_path()))
    expected = {
        "cello": "cello",
        "doublebass": "contrabass",
        "guitar": "guitar",
        "saxophone": "sax",
        "violin": "violin",
    }
    for instrument, word in expected.items():
        assert word in synth.sfpreset_name(sfid, 0, INSTRUMENT_PROGRAMS[instrument]).lower()


# --------------------------------------------------------------------------- determinism and variety


def test_same_arguments_give_identical_files(corpus_dir: Path, tmp_path: Path) -> None:
    again = generate_recordings(tmp_path, INSTRUMENTS, PER_INSTRUMENT, DURATION, SR, SEED)
    pd.testing.assert_frame_equal(again, pd.read_csv(corpus_dir / "manifest.csv"), check_dtype=False)
    for row in again.itertuples():
        assert _wav_bytes(tmp_path / row.path) == _wav_bytes(corpus_dir / row.path)


def test_recording_does_not_depend_on_the_other_recordings_asked_for(corpus_dir: Path, tmp_path: Path) -> None:
    generate_recordings(tmp_path, ["violin"], 1, DURATION, SR, SEED)
    assert _wav_bytes(tmp_path / "violin/violin_00.wav") == _wav_bytes(corpus_dir / "violin/violin_00.wav")


def test_recordings_of_one_instrument_differ(corpus_dir: Path, tmp_path: Path) -> None:
    def max_xcorr(a: np.ndarray, b: np.ndarray) -> float:
        c = np.fft.irfft(np.fft.rfft(a, 2 * a.size) * np.conj(np.fft.rfft(b, 2 * a.size)))
        return float(np.max(np.abs(c)) / (np.linalg.norm(a) * np.linalg.norm(b)))

    for instrument in INSTRUMENTS:
        a, b = _audio(corpus_dir, f"{instrument}_00"), _audio(corpus_dir, f"{instrument}_01")
        assert max_xcorr(a, b) < 0.8, instrument
    generate_recordings(tmp_path, ["cello"], 1, DURATION, SR, SEED + 1)
    other_seed, _ = sf.read(tmp_path / "cello/cello_00.wav", dtype="float32")
    assert max_xcorr(other_seed, _audio(corpus_dir, "cello_00")) < 0.8


# --------------------------------------------------------------------------- timbre and pitch


def test_pitch_sits_in_each_instruments_range(corpus_dir: Path) -> None:
    medians = {}
    for instrument in INSTRUMENTS:
        recordings = [_audio(corpus_dir, f"{instrument}_{k:02d}") for k in range(PER_INSTRUMENT)]
        f0 = np.concatenate([_yin_f0(x, SR) for x in recordings])
        assert f0.size >= 10, instrument
        midi = 69 + 12 * np.log2(np.median(f0) / 440)
        low, high = INSTRUMENT_RANGES[instrument]
        assert low - 1 <= midi <= high + 1, (instrument, midi)
        medians[instrument] = np.median(f0)
    assert medians["doublebass"] < medians["cello"] < medians["violin"]
    assert medians["doublebass"] < 150 and medians["violin"] > 330  # below D3, above E4


def test_violin_is_brighter_than_doublebass(corpus_dir: Path) -> None:
    centroid = {
        i: np.mean([_centroid(_audio(corpus_dir, f"{i}_{k:02d}"), SR) for k in range(PER_INSTRUMENT)])
        for i in INSTRUMENTS
    }
    assert centroid["violin"] > 1.5 * centroid["doublebass"]
    assert centroid["cello"] > centroid["doublebass"]


def test_variation_sets_the_peak_level(tmp_path: Path) -> None:
    variation = {"peak": 0.3, "gain_db": (0.0, 0.0), "room_probability": 0.0, "eq_db": 0.0}
    generate_recordings(tmp_path, ["guitar"], 1, 1.0, 16000, 3, variation)
    x, sr = sf.read(tmp_path / "guitar/guitar_00.wav", dtype="float32")
    assert sr == 16000 and x.size == 16000
    assert np.max(np.abs(x)) == pytest.approx(0.3, rel=1e-5)


# --------------------------------------------------------------------------- note handling


@settings(max_examples=200, deadline=None)
@given(
    pitches=st.lists(st.integers(0, 127), min_size=1, max_size=60),
    low=st.integers(20, 80),
    width=st.integers(11, 48),
)
def test_transposition_lands_in_range_by_octaves(pitches: list[int], low: int, width: int) -> None:
    high = low + width
    out = transpose_into_range(np.array(pitches), low, high)
    assert np.all((out >= low) & (out <= high))
    assert np.all((out - np.array(pitches)) % 12 == 0)  # pitch classes kept


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.integers(-5, 5), min_size=1, max_size=40),
    start=st.integers(30, 100),
    instrument=st.sampled_from(INSTRUMENTS),
)
def test_transposition_keeps_a_fitting_melody_intact(steps: list[int], start: int, instrument: str) -> None:
    low, high = INSTRUMENT_RANGES[instrument]
    melody = start + np.cumsum([0, *steps])
    # A span up to (range - 11) semitones always fits the range at some octave.
    assume(np.ptp(melody) <= high - low - 11)
    out = transpose_into_range(melody, low, high, centre=(low + high) / 2)
    assert np.all((out >= low) & (out <= high))
    shift = out - melody
    assert np.all(shift == shift[0]) and shift[0] % 12 == 0  # one octave shift for the whole line


def test_transposition_rejects_a_range_narrower_than_an_octave() -> None:
    with pytest.raises(ParameterError, match="range"):
        transpose_into_range(np.array([60]), 60, 65)


def test_monophonic_keeps_top_notes_and_cuts_overlaps() -> None:
    # A chord C-E-G at 0 (2 beats), a note D at 1 (1 beat), a rest, F at 4.
    onset = np.array([0.0, 0.0, 0.0, 1.0, 4.0])
    duration = np.array([2.0, 2.0, 2.0, 1.0, 1.0])
    pitch = np.array([60, 64, 67, 62, 65])
    on, dur, p = monophonic(onset, duration, pitch)
    np.testing.assert_array_equal(on, [0.0, 1.0, 4.0])
    np.testing.assert_array_equal(p, [67, 62, 65])
    np.testing.assert_array_equal(dur, [1.0, 1.0, 1.0])  # cut at the next onset; the rest stays


# --------------------------------------------------------------------------- parameter errors


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"instruments": ["cello", "kazoo"]}, "instruments"),
        ({"instruments": []}, "instruments"),
        ({"instruments": ["cello", "cello"]}, "instruments"),
        ({"recordings_per_instrument": 0}, "recordings_per_instrument"),
        ({"duration_s": 0.0}, "duration_s"),
        ({"duration_s": float("nan")}, "duration_s"),
        ({"sample_rate": 100}, "sample_rate"),
        ({"seed": -1}, "seed"),
        ({"variation": {"reverb": 1}}, "variation"),
        ({"variation": {"tempo_factor": (1.2, 0.9)}}, "variation.tempo_factor"),
        ({"variation": {"peak": 1.5}}, "variation.peak"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(tmp_path: Path, overrides: dict, name: str) -> None:
    args = {
        "out_dir": tmp_path,
        "instruments": ["cello"],
        "recordings_per_instrument": 1,
        "duration_s": 1.0,
        "sample_rate": SR,
        "seed": 0,
        "variation": None,
    }
    args.update(overrides)
    with pytest.raises(ParameterError) as info:
        generate_recordings(**args)
    assert info.value.name == name
    assert not any(tmp_path.iterdir())  # nothing written
