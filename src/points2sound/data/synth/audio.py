"""Embedded mono recordings: real scores played by sampled instruments, offline.

The paper trains on YouTube solo recordings (MUSIC, Solos) that cannot be
shipped. This module stands in for them so that the whole pipeline runs offline
and deterministically: it takes real music from music21's bundled corpus (Bach
chorales, Haydn/Mozart string quartets, fiddle tunes), reduces one part to a
monophonic line, moves it into the instrument's playing range, and plays it
with the sampled timbres of the General MIDI SoundFont TimGM6mb.sf2 that ships
with pretty_midi, rendered in-process by tinysoundfont. Each recording then gets
its own tempo, dynamics, vibrato, gentle EQ, room, background noise and level,
so that recordings of one instrument differ the way real ones do.

Every random choice comes from a generator seeded by (seed, instrument,
recording index): the same arguments give bit-identical audio, and a recording
does not depend on which other instruments or how many recordings are asked for.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import numbers
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import signal
from tqdm import tqdm

from ...atomic import atomic_path
from ...audio_io import write_wav
from ...errors import InputFileError, ParameterError

# General MIDI programs, 0-based: 42 Cello, 43 Contrabass, 24 Acoustic Guitar
# (nylon), 66 Tenor Sax, 40 Violin. TimGM6mb's alto sax (65) carries a large DC
# offset, so the saxophone is the tenor.
INSTRUMENT_PROGRAMS: dict[str, int] = {
    "cello": 42,
    "doublebass": 43,
    "guitar": 24,
    "saxophone": 66,
    "violin": 40,
}

# Playing ranges as sounding MIDI pitches (inclusive): cello C2-A5, double bass
# E1-G3, guitar E2-B5, saxophone Db3-A5, violin G3-E7.
INSTRUMENT_RANGES: dict[str, tuple[int, int]] = {
    "cello": (36, 81),
    "doublebass": (28, 55),
    "guitar": (40, 83),
    "saxophone": (49, 81),
    "violin": (55, 100),
}

# Where the median pitch of a line is placed: the instrument's usual register,
# not the middle of its full range (violins rarely live around C6).
_REGISTER_CENTRE: dict[str, float] = {
    "cello": 52.0,  # E3
    "doublebass": 40.0,  # E2
    "guitar": 59.0,  # B3
    "saxophone": 63.0,  # Eb4
    "violin": 74.0,  # D5
}

# Which voices of a score an instrument tends to take: the lower or upper half.
_PART_REGISTER: dict[str, str] = {
    "cello": "low",
    "doublebass": "low",
    "guitar": "any",
    "saxophone": "high",
    "violin": "high",
}

# How often each kind of music is drawn, per instrument.
_FAMILY_WEIGHTS: dict[str, dict[str, float]] = {
    "cello": {"chorale": 0.4, "quartet": 0.6, "fiddle": 0.0},
    "doublebass": {"chorale": 0.6, "quartet": 0.4, "fiddle": 0.0},
    "guitar": {"chorale": 0.35, "quartet": 0.35, "fiddle": 0.3},
    "saxophone": {"chorale": 0.35, "quartet": 0.35, "fiddle": 0.3},
    "violin": {"chorale": 0.25, "quartet": 0.45, "fiddle": 0.3},
}

# Bowed strings and the saxophone get a player's vibrato; the guitar does not.
_VIBRATO_INSTRUMENTS = frozenset({"cello", "doublebass", "saxophone", "violin"})

_RENDER_SR = 44100  # render at full rate, then band-limit while resampling
_PITCH_BEND_CENTRE = 8192  # 14-bit pitch wheel, default range +-2 semitones
_VIBRATO_STEP_S = 0.005


@dataclass(frozen=True)
class _Piece:
    path: str  # music21 corpus path
    bpm: float  # quarter notes per minute before the recording's tempo factor
    family: str


def _pieces() -> tuple[_Piece, ...]:
    """The curated pool: small, fast-to-parse scores with playable lines."""
    chorales = [
        "bach/bwv66.6", "bach/bwv269", "bach/bwv113.8", "bach/bwv14.5", "bach/bwv153.9",
        "bach/bwv165.6", "bach/bwv178.7", "bach/bwv227.11", "bach/bwv244.37", "bach/bwv245.28",
        "bach/bwv261", "bach/bwv272", "bach/bwv281", "bach/bwv292", "bach/bwv302",
        "bach/bwv313", "bach/bwv324", "bach/bwv335", "bach/bwv347", "bach/bwv359",
        "bach/bwv379", "bach/bwv39.7", "bach/bwv40.3", "bach/bwv409", "bach/bwv430",
        "bach/bwv47.5", "bach/bwv64.2", "bach/bwv94.8",
    ]  # fmt: skip
    quartets = [  # (path, quarter-note tempo matching the movement's character)
        ("haydn/opus1no1/movement1", 150), ("haydn/opus1no1/movement2", 120),
        ("haydn/opus1no1/movement3", 50), ("haydn/opus1no1/movement4", 120),
        ("haydn/opus1no1/movement5", 160), ("haydn/opus74no1/movement1", 120),
        ("haydn/opus74no1/movement3", 132), ("mozart/k155/movement1", 132),
        ("mozart/k155/movement2", 76), ("mozart/k155/movement3", 152),
        ("mozart/k156/movement2", 56), ("mozart/k156/movement3", 120),
        ("mozart/k80/movement1", 60), ("mozart/k80/movement2", 132),
        ("mozart/k80/movement3", 120), ("mozart/k80/movement4", 140),
        ("corelli/opus3no1/1grave", 60),
    ]  # fmt: skip
    fiddle = [
        "ryansMammoth/AcrobatsHornpipe", "ryansMammoth/BobbingForEelsJig",
        "ryansMammoth/ColberthsHornpipe", "ryansMammoth/EmigrantsReel",
        "ryansMammoth/GoodForTheTongueHornpipe", "ryansMammoth/LastNightsFunReel",
        "ryansMammoth/MinstrelsFancyClog", "ryansMammoth/NightOfFunJigThe",
        "ryansMammoth/PeterStreetReel", "ryansMammoth/SalamancaReel",
        "ryansMammoth/TerryHeighJig",
    ]  # fmt: skip
    return (
        tuple(_Piece(p, 80.0, "chorale") for p in chorales)
        + tuple(_Piece(p, float(b), "quartet") for p, b in quartets)
        + tuple(_Piece(p, 150.0, "fiddle") for p in fiddle)
    )


PIECES: tuple[_Piece, ...] = _pieces()

# Per-recording variation: (low, high) ranges are drawn uniformly per recording.
DEFAULT_VARIATION: dict[str, Any] = {
    "tempo_factor": (0.85, 1.15),  # multiplies the piece's tempo
    "velocity_scale": (0.8, 1.1),  # overall dynamics
    "velocity_jitter": 6.0,  # per-note std, MIDI velocity units
    "timing_jitter_s": 0.008,  # per-note onset std
    "articulation": (0.8, 0.98),  # fraction of the written length that sounds
    "transpose_semitones": (-2, 2),  # key change per piece, before octave fitting
    "vibrato_cents": (8.0, 25.0),  # depth (half peak-to-peak)
    "vibrato_hz": (4.5, 6.5),
    "eq_db": 3.0,  # max boost/cut of the random EQ curve
    "room_probability": 0.5,  # chance of a short room response
    "room_rt60_s": (0.15, 0.4),
    "room_wet_db": (-18.0, -10.0),  # reverberant energy relative to the direct sound
    "noise_db": (-50.0, -40.0),  # pink background noise relative to the signal RMS
    "peak": 0.5,  # peak after normalisation, headroom for binaural rendering
    "gain_db": (-6.0, 0.0),  # level below that peak
}

MANIFEST_COLUMNS = [
    "recording",
    "instrument",
    "path",
    "duration_s",
    "sample_rate",
    "source",
    "program",
    "tempo_factor",
    "gain_db",
    "seed",
]

_RANGE_KEYS = {k for k, v in DEFAULT_VARIATION.items() if isinstance(v, tuple)}


# --------------------------------------------------------------------------- parameters


def resolve_variation(variation: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with `variation`, validated; names the offending key."""
    if variation is None:
        variation = {}
    if not isinstance(variation, Mapping):
        raise ParameterError("variation", f"must be a mapping, got {type(variation).__name__}")
    unknown = sorted(set(variation) - set(DEFAULT_VARIATION))
    if unknown:
        raise ParameterError("variation", f"unknown key(s) {unknown}; known: {sorted(DEFAULT_VARIATION)}")
    out = dict(DEFAULT_VARIATION)
    for key, value in variation.items():
        name = f"variation.{key}"
        if key in _RANGE_KEYS:
            try:
                lo, hi = (float(v) for v in value)
            except (TypeError, ValueError):
                raise ParameterError(name, f"must be a [low, high] pair of numbers, got {value!r}") from None
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
                raise ParameterError(name, f"must be finite with low <= high, got {value!r}")
            out[key] = (lo, hi)
        else:
            try:
                out[key] = float(value)
            except (TypeError, ValueError):
                raise ParameterError(name, f"must be a number, got {value!r}") from None
            if not math.isfinite(out[key]):
                raise ParameterError(name, f"must be finite, got {value!r}")
    checks = [
        ("tempo_factor", out["tempo_factor"][0] > 0, "must be > 0"),
        ("velocity_scale", out["velocity_scale"][0] > 0, "must be > 0"),
        ("articulation", 0 < out["articulation"][0] and out["articulation"][1] <= 1, "must lie in (0, 1]"),
        ("vibrato_cents", out["vibrato_cents"][0] >= 0, "must be >= 0"),
        ("vibrato_hz", out["vibrato_hz"][0] > 0, "must be > 0"),
        ("room_rt60_s", out["room_rt60_s"][0] > 0 and out["room_rt60_s"][1] <= 5, "must lie in (0, 5] s"),
        ("velocity_jitter", out["velocity_jitter"] >= 0, "must be >= 0"),
        ("timing_jitter_s", 0 <= out["timing_jitter_s"] <= 0.1, "must lie in [0, 0.1] s"),
        ("eq_db", 0 <= out["eq_db"] <= 24, "must lie in [0, 24] dB"),
        ("room_probability", 0 <= out["room_probability"] <= 1, "must lie in [0, 1]"),
        ("peak", 0 < out["peak"] <= 1, "must lie in (0, 1]"),
        ("gain_db", out["peak"] * 10 ** (out["gain_db"][1] / 20) <= 1, "peak * 10^(gain_db/20) must stay <= 1"),
        ("transpose_semitones", all(float(v).is_integer() for v in out["transpose_semitones"]), "must be whole"),
    ]
    for key, ok, problem in checks:
        if not ok:
            raise ParameterError(f"variation.{key}", f"{problem}, got {out[key]!r}")
    return out


def _check_instrument(name: object) -> str:
    if not isinstance(name, str) or name not in INSTRUMENT_PROGRAMS:
        raise ParameterError("instruments", f"unknown instrument {name!r}; known: {sorted(INSTRUMENT_PROGRAMS)}")
    return name


def _check_common(duration_s: float, sample_rate: int, seed: int) -> None:
    if isinstance(duration_s, bool) or not isinstance(duration_s, numbers.Real) or not math.isfinite(duration_s):
        raise ParameterError("duration_s", f"must be a finite number, got {duration_s!r}")
    if not 0 < duration_s <= 3600:
        raise ParameterError("duration_s", f"must lie in (0, 3600] s, got {duration_s}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Integral):
        raise ParameterError("sample_rate", f"must be an integer, got {sample_rate!r}")
    if not 4000 <= sample_rate <= 192000:
        raise ParameterError("sample_rate", f"must lie in [4000, 192000] Hz, got {sample_rate}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ParameterError("seed", f"must be a non-negative integer, got {seed!r}")


# --------------------------------------------------------------------------- scores


@dataclass(frozen=True)
class _Line:
    """A monophonic line in score time (quarter lengths)."""

    name: str
    onset: np.ndarray  # float64, sorted, strictly increasing
    duration: np.ndarray  # float64, never longer than the gap to the next onset
    pitch: np.ndarray  # int64, MIDI


def monophonic(onset: np.ndarray, duration: np.ndarray, pitch: np.ndarray) -> tuple[np.ndarray, ...]:
    """Reduce notes to one line: the top note at each onset, cut at the next onset.

    Chords and divided voices become their highest note (the melody a solo
    player would keep); rests stay as gaps between notes.
    """
    onset = np.asarray(onset, dtype=np.float64)
    duration = np.asarray(duration, dtype=np.float64)
    pitch = np.asarray(pitch, dtype=np.int64)
    order = np.lexsort((-pitch, onset))
    onset, duration, pitch = onset[order], duration[order], pitch[order]
    first = np.r_[True, np.diff(onset) > 1e-9]
    onset, duration, pitch = onset[first], duration[first], pitch[first]
    gap = np.r_[np.diff(onset), np.inf]
    return onset, np.minimum(duration, gap), pitch


@functools.cache
def _score_lines(path: str) -> tuple[_Line, ...]:
    """Parse a corpus score once per process and keep its parts as lines."""
    from music21 import corpus  # slow import, only when a score is needed

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # music21 warns about overfull measures etc.
        try:
            score = corpus.parse(path, forceSource=True)  # no pickle cache outside the repo
        except Exception as exc:  # noqa: BLE001 - music21 raises many kinds
            raise InputFileError(
                f"music21-corpus:{path}", f"cannot parse score ({exc})", hint="is music21 installed with its corpus?"
            ) from exc
    lines = []
    for index, part in enumerate(score.parts):
        onsets: list[float] = []
        durations: list[float] = []
        pitches: list[int] = []
        for el in part.flatten().notes:
            if el.quarterLength <= 0 or not el.pitches:  # grace notes, unpitched
                continue
            onset, length, top = float(el.offset), float(el.quarterLength), max(p.midi for p in el.pitches)
            if el.tie is not None and el.tie.type in ("stop", "continue"):
                # A tied note continues the same pitch ending here (music21's
                # stripTies does the same but deep-copies the score, 10x slower).
                match = [
                    i
                    for i in range(len(onsets) - 1, max(len(onsets) - 5, -1), -1)
                    if pitches[i] == top and abs(onsets[i] + durations[i] - onset) < 1e-6
                ]
                if match:
                    durations[match[0]] += length
                    continue
            onsets.append(onset)
            durations.append(length)
            pitches.append(top)  # chord -> top note
        if len(onsets) >= 8:
            name = part.partName or f"part {index + 1}"
            lines.append(_Line(name, *monophonic(np.array(onsets), np.array(durations), np.array(pitches))))
    if not lines:
        raise InputFileError(f"music21-corpus:{path}", "score has no playable part")
    return tuple(lines)


def transpose_into_range(pitches: np.ndarray, low: int, high: int, centre: float | None = None) -> np.ndarray:
    """Move a line by octaves into [low, high] (MIDI), as a player would re-voice it.

    The whole line moves by one octave shift: among the shifts that fit it
    entirely, the one putting its median nearest `centre` (default: the range's
    middle); if none fits, the one best balancing the fraction of notes outside
    against the median's distance from `centre` (half weight per octave). Notes
    still outside are folded in by single octaves. Pitch classes never change,
    and a line that fits the range at some octave keeps all its intervals.
    """
    if high - low < 11:
        raise ParameterError("range", f"needs at least an octave to fold into, got [{low}, {high}]")
    p = np.asarray(pitches, dtype=np.int64)
    if p.size == 0:
        return p.copy()
    centre = (low + high) / 2 if centre is None else centre
    median = float(np.median(p))

    def cost(k: int) -> tuple[bool, float]:
        outside = float(np.mean((p + 12 * k < low) | (p + 12 * k > high)))
        distance = abs(median + 12 * k - centre) / 12
        return (outside > 0, outside + 0.5 * distance)

    best = min(range(-11, 12), key=cost)
    p = p + 12 * best
    p = np.where(p < low, p + 12 * ((low - p + 11) // 12), p)
    p = np.where(p > high, p - 12 * ((p - high + 11) // 12), p)
    return p


# --------------------------------------------------------------------------- performance


@dataclass
class Performance:
    """What a recording plays, in seconds: notes, their velocities and the sources."""

    onset: np.ndarray
    duration: np.ndarray  # sounding length
    pitch: np.ndarray
    velocity: np.ndarray
    sources: list[str]
    tempo_factor: float


def _draw_piece(instrument: str, rng: np.random.Generator) -> _Piece:
    weights = _FAMILY_WEIGHTS[instrument]
    families = sorted(f for f, w in weights.items() if w > 0)
    w = np.array([weights[f] for f in families])
    family = families[rng.choice(len(families), p=w / w.sum())]
    pool = [p for p in PIECES if p.family == family]
    return pool[rng.integers(len(pool))]


def _draw_part(instrument: str, n_parts: int, rng: np.random.Generator) -> int:
    register = _PART_REGISTER[instrument]
    if n_parts == 1 or register == "any":
        return int(rng.integers(n_parts))
    half = n_parts // 2
    if register == "low":
        return int(rng.integers(half, n_parts))
    return int(rng.integers(0, n_parts - half))


def compose(instrument: str, duration_s: float, rng: np.random.Generator, variation: Mapping[str, Any]) -> Performance:
    """Chain corpus lines, in the instrument's range, until `duration_s` is filled.

    The first piece starts at a random note (so recordings enter mid-piece, as
    excerpts do); later pieces start from their beginning after a short pause.
    """
    low, high = INSTRUMENT_RANGES[instrument]
    tempo_factor = float(rng.uniform(*variation["tempo_factor"]))
    t = float(rng.uniform(0.0, min(0.3, 0.1 * duration_s)))  # lead-in before the first note
    chunks: list[tuple[np.ndarray, ...]] = []
    sources: list[str] = []
    while t < duration_s:  # runs at least once: the lead-in is shorter than the duration
        piece = _draw_piece(instrument, rng)
        lines = _score_lines(piece.path)
        part = _draw_part(instrument, len(lines), rng)
        line = lines[part]
        start = 0.0
        if not chunks:
            candidates = line.onset[line.onset <= 0.6 * line.onset[-1]]
            start = float(candidates[rng.integers(len(candidates))])
        keep = line.onset >= start
        sec_per_ql = 60.0 / (piece.bpm * tempo_factor)
        onset = t + (line.onset[keep] - start) * sec_per_ql
        duration = line.duration[keep] * sec_per_ql
        lo_shift, hi_shift = (int(v) for v in variation["transpose_semitones"])
        shift = int(rng.integers(lo_shift, hi_shift + 1))
        pitch = transpose_into_range(line.pitch[keep] + shift, low, high, _REGISTER_CENTRE[instrument])
        on_beat = np.isclose(line.onset[keep] % 1.0, 0.0)
        chunks.append((onset, duration, pitch, on_beat))
        sources.append(f"music21:{piece.path} part {part + 1} ({line.name}) from {start:g} ql")
        t = float(onset[-1] + duration[-1]) + float(rng.uniform(0.4, 1.5))
    onset, duration, pitch, on_beat = (np.concatenate(c) for c in zip(*chunks))
    keep = onset < duration_s
    onset, duration, pitch, on_beat = onset[keep], duration[keep], pitch[keep], on_beat[keep]

    # Human timing: small onset jitter that never reorders notes.
    n = onset.size
    jitter = variation["timing_jitter_s"]
    if jitter > 0:
        onset = onset + np.clip(rng.normal(0.0, jitter, n), -3 * jitter, 3 * jitter)
        onset = np.maximum.accumulate(np.maximum(onset, 0.0))
    gap = np.r_[np.diff(onset), np.inf]
    articulation = rng.uniform(*variation["articulation"])
    sounding = np.maximum(np.minimum(duration, gap) * articulation, np.minimum(0.03, gap))

    # Dynamics: level x slow phrase swells + metric accents + per-note jitter.
    scale = rng.uniform(*variation["velocity_scale"])
    periods = rng.uniform(4.0, 20.0, 3)
    phases = rng.uniform(0.0, 2 * np.pi, 3)
    swell = 4.0 * np.sin(2 * np.pi * onset[:, None] / periods + phases).sum(axis=1)
    velocity = 88.0 * scale + swell + 5.0 * on_beat + rng.normal(0.0, variation["velocity_jitter"], n)
    velocity = np.clip(np.round(velocity), 15, 127).astype(np.int64)
    return Performance(onset, sounding, pitch, velocity, sources, tempo_factor)


# --------------------------------------------------------------------------- synthesis


def soundfont_path() -> Path:
    """TimGM6mb.sf2 inside the installed pretty_midi package."""
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or spec.origin is None:
        raise InputFileError("pretty_midi/TimGM6mb.sf2", "pretty_midi is not installed", hint="pip install pretty_midi")
    path = Path(spec.origin).parent / "TimGM6mb.sf2"
    if not path.is_file():
        raise InputFileError(path, "General MIDI SoundFont not found", hint="reinstall pretty_midi")
    return path


@functools.lru_cache(maxsize=1)
def _soundfont_bytes() -> bytes:
    return soundfont_path().read_bytes()


def _events(perf: Performance, sr: int, vibrato: tuple[float, float] | None) -> tuple[np.ndarray, ...]:
    """MIDI events (sample, kind, key, value) sorted in time; kind 0 off, 1 bend, 2 on.

    Note-offs come before note-ons at the same sample, so repeated pitches re-attack.
    """
    start = np.round(perf.onset * sr).astype(np.int64)
    stop = np.maximum(np.round((perf.onset + perf.duration) * sr).astype(np.int64), start + 1)
    n = start.size
    samples = [stop, start, start]
    kinds = [np.zeros(n, np.int64), np.ones(n, np.int64), np.full(n, 2, np.int64)]
    keys = [perf.pitch, perf.pitch, perf.pitch]
    values = [np.zeros(n, np.int64), np.full(n, _PITCH_BEND_CENTRE, np.int64), perf.velocity]
    if vibrato is not None:
        cents, rate = vibrato
        for on, length in zip(perf.onset, perf.duration):
            if length < 0.25:
                continue  # short notes are played straight
            tau = np.arange(0.0, length - 0.12, _VIBRATO_STEP_S)  # vibrato starts 120 ms in
            depth = cents * np.minimum(tau / 0.2, 1.0)  # and fades in over 200 ms
            bend = _PITCH_BEND_CENTRE + np.round(depth / 200.0 * 8191 * np.sin(2 * np.pi * rate * tau))
            samples.append(np.round((on + 0.12 + tau) * sr).astype(np.int64))
            kinds.append(np.ones(tau.size, np.int64))
            keys.append(np.zeros(tau.size, np.int64))
            values.append(np.clip(bend, 0, 16383).astype(np.int64))
    sample, kind, key, value = (np.concatenate(a) for a in (samples, kinds, keys, values))
    order = np.lexsort((kind, sample))
    return sample[order], kind[order], key[order], value[order]


def render_notes(
    perf: Performance, program: int, n_samples: int, vibrato: tuple[float, float] | None = None
) -> np.ndarray:
    """Play a performance on one GM program at 44.1 kHz; mono float32 of n_samples."""
    import tinysoundfont  # compiled extension; playback (pyaudio) is never touched

    synth = tinysoundfont.Synth(samplerate=_RENDER_SR)
    sfid = synth.sfload(_soundfont_bytes())
    synth.program_select(0, sfid, 0, program)
    out = np.zeros((n_samples, 2), dtype=np.float32)  # the synth writes interleaved stereo
    pos = 0
    for sample, kind, key, value in zip(*(a.tolist() for a in _events(perf, _RENDER_SR, vibrato))):
        sample = min(sample, n_samples)
        if sample > pos:
            synth.generate_simple(sample - pos, buffer=memoryview(out[pos:sample]))
            pos = sample
        if kind == 0:
            synth.noteoff(0, key)
        elif kind == 1:
            synth.pitchbend(0, value)
        else:
            synth.noteon(0, key, value)
    if pos < n_samples:
        synth.generate_simple(n_samples - pos, buffer=memoryview(out[pos:]))
    return out.mean(axis=1)


# --------------------------------------------------------------------------- recording chain


def _random_eq(x: np.ndarray, sr: int, max_db: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random EQ curve (+-max_db at a few log-spaced bands), linear phase."""
    nyq = sr / 2
    bands = [f for f in (80.0, 250.0, 800.0, 2500.0, 6000.0) if f < 0.9 * nyq]
    gains_db = rng.uniform(-max_db, max_db, len(bands))
    freq = [0.0, *bands, nyq]
    gain = 10 ** (np.r_[gains_db[0], gains_db, gains_db[-1]] / 20)
    numtaps = 2 * int(0.01 * sr) + 1  # 20 ms: enough resolution for the lowest band
    taps = signal.firwin2(numtaps, freq, gain, fs=sr)
    delay = (numtaps - 1) // 2
    return signal.oaconvolve(x, taps)[delay : delay + x.size]


def _room(x: np.ndarray, sr: int, rt60: float, wet_db: float, rng: np.random.Generator) -> np.ndarray:
    """Direct sound plus an exponentially decaying noise tail (a small room)."""
    length = int(1.2 * rt60 * sr)
    t = np.arange(length) / sr
    tail = rng.standard_normal(length) * np.exp(-6.9078 * t / rt60)  # -60 dB at rt60
    tail[: int(0.005 * sr)] = 0.0  # 5 ms before the first reflections
    tail *= math.sqrt(10 ** (wet_db / 10) / max(float(np.sum(tail**2)), 1e-20))
    tail[0] = 1.0
    return signal.oaconvolve(x, tail)[: x.size]


def _pink_noise(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Noise with a 1/f power spectrum (room tone, preamp hiss), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    spectrum[1:] /= np.sqrt(np.maximum(f[1:], 20.0))
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n)
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-20)


def recording_rng(seed: int, instrument: str, index: int) -> np.random.Generator:
    """The generator of one recording: independent of the other recordings asked for."""
    key = zlib.crc32(instrument.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(key, int(index))))


def render_recording(
    instrument: str,
    index: int,
    duration_s: float,
    sample_rate: int,
    seed: int,
    variation: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One mono recording (float32, round(duration_s * sample_rate) samples) and its facts."""
    _check_instrument(instrument)
    _check_common(duration_s, sample_rate, seed)
    var = resolve_variation(variation)
    rng = recording_rng(seed, instrument, index)
    n_out = int(round(duration_s * sample_rate))

    perf = compose(instrument, duration_s, rng, var)
    vibrato = None
    if instrument in _VIBRATO_INSTRUMENTS:
        vibrato = (float(rng.uniform(*var["vibrato_cents"])), float(rng.uniform(*var["vibrato_hz"])))
    n_render = int(math.ceil(duration_s * _RENDER_SR)) + 64
    x = render_notes(perf, INSTRUMENT_PROGRAMS[instrument], n_render, vibrato).astype(np.float64)
    x = signal.sosfilt(signal.butter(2, 20.0, "highpass", fs=_RENDER_SR, output="sos"), x)  # sample DC
    if sample_rate != _RENDER_SR:
        g = math.gcd(sample_rate, _RENDER_SR)
        x = signal.resample_poly(x, sample_rate // g, _RENDER_SR // g)
    x = np.pad(x, (0, max(0, n_out - x.size)))[:n_out]

    # The recording chain: microphone/room colour, room, background noise, level.
    if var["eq_db"] > 0:
        x = _random_eq(x, sample_rate, var["eq_db"], rng)
    if rng.uniform() < var["room_probability"]:
        x = _room(x, sample_rate, rng.uniform(*var["room_rt60_s"]), rng.uniform(*var["room_wet_db"]), rng)
    rms = float(np.sqrt(np.mean(x**2)))
    if not rms > 1e-6:
        raise RuntimeError(f"{instrument} recording {index} rendered silent; SoundFont or score problem")
    x = x + _pink_noise(n_out, sample_rate, rng) * rms * 10 ** (rng.uniform(*var["noise_db"]) / 20)
    gain_db = float(rng.uniform(*var["gain_db"]))
    x = x * (var["peak"] * 10 ** (gain_db / 20) / np.max(np.abs(x)))
    info = {
        "source": " + ".join(perf.sources),
        "program": INSTRUMENT_PROGRAMS[instrument],
        "tempo_factor": round(perf.tempo_factor, 6),
        "gain_db": round(gain_db, 4),
        "n_notes": int(perf.onset.size),
    }
    return x.astype(np.float32), info


def generate_recordings(
    out_dir: Path,
    instruments: Sequence[str],
    recordings_per_instrument: int,
    duration_s: float,
    sample_rate: int,
    seed: int,
    variation: dict | None = None,
) -> pd.DataFrame:
    """Write out_dir/<instrument>/<instrument>_<k:02d>.wav and out_dir/manifest.csv.

    Returns the manifest (one row per recording; paths relative to out_dir).
    Same arguments -> bit-identical audio samples and manifest.
    """
    out_dir = Path(out_dir)
    if isinstance(instruments, str) or not isinstance(instruments, Sequence) or not instruments:
        raise ParameterError("instruments", f"must be a non-empty list of names, got {instruments!r}")
    for name in instruments:
        _check_instrument(name)
    if len(set(instruments)) != len(instruments):
        raise ParameterError("instruments", f"lists an instrument twice: {list(instruments)}")
    if (
        isinstance(recordings_per_instrument, bool)
        or not isinstance(recordings_per_instrument, numbers.Integral)
        or not 1 <= recordings_per_instrument <= 99
    ):
        raise ParameterError(
            "recordings_per_instrument", f"must be an integer in [1, 99], got {recordings_per_instrument!r}"
        )
    _check_common(duration_s, sample_rate, seed)
    var = resolve_variation(variation)
    soundfont_path()  # fail early with a clear message

    rows = []
    jobs = [(name, k) for name in instruments for k in range(recordings_per_instrument)]
    for name, k in tqdm(jobs, desc="embedded recordings", unit="rec", disable=None):
        audio, info = render_recording(name, k, duration_s, sample_rate, seed, var)
        recording = f"{name}_{k:02d}"
        rel = Path(name) / f"{recording}.wav"
        write_wav(out_dir / rel, audio, sample_rate)
        rows.append(
            {
                "recording": recording,
                "instrument": name,
                "path": rel.as_posix(),
                "duration_s": audio.size / sample_rate,
                "sample_rate": sample_rate,
                "source": info["source"],
                "program": info["program"],
                "tempo_factor": info["tempo_factor"],
                "gain_db": info["gain_db"],
                "seed": seed,
            }
        )
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    with atomic_path(out_dir / "manifest.csv") as tmp:
        manifest.to_csv(tmp, index=False)
    return manifest
