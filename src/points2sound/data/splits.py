"""Split index files: recordings and performers divided 75/15/10 per instrument.

The split stage scans the data contract (not a source's manifest), so data placed
by hand, downloaded or generated are indexed the same way. Performers are split
by identity, so no performer appears in two splits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..audio_io import wav_info
from ..errors import InputFileError, ParameterError

SPLITS = ("train", "val", "test")


def split_counts(n: int, fractions: Mapping[str, float]) -> dict[str, int]:
    """Items per split; val and test get at least one each when n >= 3."""
    if n < 3:
        raise ParameterError("splits", f"need at least 3 items per instrument to split, got {n}")
    test = max(1, int(round(n * fractions["test"])))
    val = max(1, int(round(n * fractions["val"])))
    train = n - val - test
    if train < 1:
        raise ParameterError("splits", f"{n} items leave none for training with fractions {dict(fractions)}")
    return {"train": train, "val": val, "test": test}


def assign_splits(names: Sequence[str], fractions: Mapping[str, float], rng: np.random.Generator) -> dict[str, str]:
    """Map each name to a split after a seeded shuffle of the sorted names."""
    ordered = sorted(names)
    perm = rng.permutation(len(ordered))
    counts = split_counts(len(ordered), fractions)
    out: dict[str, str] = {}
    start = 0
    for split in SPLITS:
        for i in perm[start : start + counts[split]]:
            out[ordered[i]] = split
        start += counts[split]
    return out


def _check_one_subtype(files: Sequence[tuple[Path, str]]) -> None:
    """Every recording of a dataset comes from one writer with one WAV subtype: a file that differs
    was most likely replaced by hand (a PCM_16 export among FLOAT files) and is named."""
    counts: dict[str, int] = {}
    for _, subtype in files:
        counts[subtype] = counts.get(subtype, 0) + 1
    if len(counts) < 2:
        return
    common = max(counts, key=lambda k: counts[k])
    path, subtype = next((p, t) for p, t in files if t != common)
    raise InputFileError(
        path,
        f"is {subtype} while the other recordings are {common}",
        "the data stages write one subtype: was it replaced by hand? regenerate or convert it",
    )


def scan_audio(dataset_root: Path, instruments: Sequence[str], sample_rate: int) -> pd.DataFrame:
    """Index audio/<instrument>/<recording>.wav, checking every header (truncation and subtype included)."""
    rows, subtypes = [], []
    for inst in instruments:
        folder = dataset_root / "audio" / inst
        files = sorted(folder.glob("*.wav"))
        if not files:
            raise InputFileError(folder, f"no recordings for instrument {inst!r}", "generate or fetch the audio first")
        for f in files:
            info = wav_info(f)
            if info.samplerate != sample_rate:
                raise InputFileError(f, f"sample rate is {info.samplerate} Hz, expected {sample_rate} Hz")
            if info.channels != 1:
                raise InputFileError(f, f"has {info.channels} channels, expected mono")
            subtypes.append((f, info.subtype))
            rows.append(
                dict(
                    recording=f.stem,
                    instrument=inst,
                    path=str(f.relative_to(dataset_root)),
                    duration_s=info.frames / info.samplerate,
                    sample_rate=info.samplerate,
                )
            )
    _check_one_subtype(subtypes)
    return pd.DataFrame(rows)


def scan_performers(dataset_root: Path, instruments: Sequence[str]) -> pd.DataFrame:
    """Index frames/<instrument>/<performer>/<frame>.ply."""
    rows = []
    for inst in instruments:
        folder = dataset_root / "frames" / inst
        performers = sorted(p for p in folder.glob("*") if p.is_dir()) if folder.is_dir() else []
        if not performers:
            raise InputFileError(
                folder, f"no performers for instrument {inst!r}", "generate or fetch the point clouds first"
            )
        for p in performers:
            frames = sorted(p.glob("*.ply"))
            if not frames:
                raise InputFileError(p, "performer folder holds no PLY frames")
            expected = [f"{i:05d}.ply" for i in range(len(frames))]
            if [f.name for f in frames] != expected:
                raise InputFileError(p, "frames must be numbered 00000.ply, 00001.ply, ... without gaps")
            rows.append(
                dict(
                    performer=p.name, instrument=inst, n_frames=len(frames), frames_dir=str(p.relative_to(dataset_root))
                )
            )
    return pd.DataFrame(rows)


def make_splits(
    dataset_root: Path,
    instruments: Sequence[str],
    sample_rate: int,
    fractions: Mapping[str, float],
    seed: int,
    out_dir: Path | None = None,
) -> dict[str, pd.DataFrame]:
    """Write splits/<split>_audio.csv and splits/<split>_performers.csv.

    Recordings and performers are split per instrument so every split holds every
    instrument (a scene needs distinct instruments).
    """
    out_dir = out_dir or dataset_root / "splits"
    audio = scan_audio(dataset_root, instruments, sample_rate)
    perf = scan_performers(dataset_root, instruments)
    rng = np.random.default_rng(seed)
    tables: dict[str, pd.DataFrame] = {}
    for kind, table, key in (("audio", audio, "recording"), ("performers", perf, "performer")):
        assignment: dict[str, str] = {}
        for inst in instruments:
            assignment.update(assign_splits(table.loc[table.instrument == inst, key].tolist(), fractions, rng))
        table = table.assign(split=table[key].map(assignment))
        for split in SPLITS:
            part = table[table.split == split].drop(columns="split").reset_index(drop=True)
            tables[f"{split}_{kind}"] = part
            with atomic_path(out_dir / f"{split}_{kind}.csv") as tmp:
                part.to_csv(tmp, index=False)
    return tables
