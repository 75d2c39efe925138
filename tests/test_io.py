"""Atomic outputs, WAV and PLY validation, and split index files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from points2sound.atomic import atomic_dir, atomic_path
from points2sound.audio_io import read_wav, write_wav
from points2sound.data.splits import make_splits, split_counts
from points2sound.errors import InputFileError, ParameterError
from points2sound.geometry.pointcloud import PointCloud, read_ply, write_ply


def test_interrupted_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.wav"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_directory_keeps_the_old_one(tmp_path):
    out = tmp_path / "stage"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("v1")
    with pytest.raises(KeyboardInterrupt):
        with atomic_dir(out) as tmp:
            (tmp / "a.txt").write_text("v2-partial")
            raise KeyboardInterrupt
    assert (out / "a.txt").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stage"]


def test_wav_roundtrip_and_errors(tmp_path):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 1000)).astype(np.float32)
    write_wav(tmp_path / "a.wav", x, 8000)
    y, sr = read_wav(tmp_path / "a.wav", expected_sr=8000, channels=2)
    assert sr == 8000 and np.array_equal(x, y)
    seg, _ = read_wav(tmp_path / "a.wav", frames=(100, 200))
    assert np.array_equal(seg, x[:, 100:200])
    with pytest.raises(InputFileError, match="16000 Hz"):
        read_wav(tmp_path / "a.wav", expected_sr=16000)
    with pytest.raises(InputFileError, match="channel"):
        read_wav(tmp_path / "a.wav", channels=1)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage")
    with pytest.raises(InputFileError, match="corrupt.wav"):
        read_wav(tmp_path / "corrupt.wav")
    with pytest.raises(InputFileError, match="not found"):
        read_wav(tmp_path / "missing.wav")
    nan = np.zeros((1, 10), np.float32)
    nan[0, 3] = np.nan
    sf.write(tmp_path / "nan.wav", nan.T, 8000, subtype="FLOAT")
    with pytest.raises(InputFileError, match="NaN"):
        read_wav(tmp_path / "nan.wav")


def test_ply_roundtrip_and_errors(tmp_path):
    rng = np.random.default_rng(1)
    cloud = PointCloud(rng.normal(size=(50, 3)), rng.uniform(size=(50, 3)))
    write_ply(tmp_path / "c.ply", cloud)
    back = read_ply(tmp_path / "c.ply")
    assert np.array_equal(back.xyz, cloud.xyz)
    assert np.allclose(back.rgb, cloud.rgb, atol=1 / 255)
    write_ply(tmp_path / "empty.ply", PointCloud(np.zeros((0, 3)), np.zeros((0, 3))))
    with pytest.raises(InputFileError, match="no points"):
        read_ply(tmp_path / "empty.ply")
    (tmp_path / "bad.ply").write_text("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nend_header\n1\n")
    with pytest.raises(InputFileError, match="bad.ply"):
        read_ply(tmp_path / "bad.ply")


def _fake_dataset(root, instruments, n_rec=8, n_perf=6, sr=8000):
    for inst in instruments:
        for k in range(n_rec):
            write_wav(root / "audio" / inst / f"{inst}_{k:02d}.wav", np.zeros(800, np.float32), sr)
        for p in range(n_perf):
            for f in range(2):
                write_ply(
                    root / "frames" / inst / f"{inst}_p{p:02d}" / f"{f:05d}.ply",
                    PointCloud(np.zeros((3, 3)), np.zeros((3, 3))),
                )


def test_splits_are_disjoint_complete_and_seeded(tmp_path):
    inst = ["cello", "violin"]
    _fake_dataset(tmp_path, inst)
    fr = {"train": 0.75, "val": 0.15, "test": 0.10}
    tables = make_splits(tmp_path, inst, 8000, fr, seed=3)
    audio = pd.concat([tables[f"{s}_audio"] for s in ("train", "val", "test")])
    assert sorted(audio.recording) == sorted(f"{i}_{k:02d}" for i in inst for k in range(8))
    perf_sets = [set(tables[f"{s}_performers"].performer) for s in ("train", "val", "test")]
    assert not (perf_sets[0] & perf_sets[1] or perf_sets[0] & perf_sets[2] or perf_sets[1] & perf_sets[2])
    for s in ("train", "val", "test"):  # every split holds every instrument
        assert set(tables[f"{s}_audio"].instrument) == set(inst)
    again = make_splits(tmp_path, inst, 8000, fr, seed=3, out_dir=tmp_path / "again")
    assert all(again[k].equals(tables[k]) for k in tables)
    written = pd.read_csv(tmp_path / "splits" / "test_performers.csv")
    assert list(written.columns) == ["performer", "instrument", "n_frames", "frames_dir"]


def test_split_counts_follow_the_paper():
    assert split_counts(72, {"train": 0.75, "val": 0.15, "test": 0.10}) == {"train": 54, "val": 11, "test": 7}
    assert split_counts(12, {"train": 0.75, "val": 0.15, "test": 0.10}) == {"train": 9, "val": 2, "test": 1}
    with pytest.raises(ParameterError):
        split_counts(2, {"train": 0.75, "val": 0.15, "test": 0.10})


def test_split_rejects_wrong_sample_rate(tmp_path):
    _fake_dataset(tmp_path, ["cello"], sr=16000)
    with pytest.raises(InputFileError, match="16000 Hz"):
        make_splits(tmp_path, ["cello"], 8000, {"train": 0.75, "val": 0.15, "test": 0.10}, seed=0)
