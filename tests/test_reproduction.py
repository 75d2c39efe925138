"""The report's comparison with a reference run: hashes, table cells, verdicts by CPU kind."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from points2sound.report.reproduction import compare_tables, record, section, tree_sha256

AVX2 = {"cpu_model": "AMD EPYC", "torch_cpu_capability": "AVX2", "torch_threads": 1, "versions": {"torch": "2.13"}}
AVX512 = {**AVX2, "torch_cpu_capability": "AVX512"}


def _run(root: Path, name: str, d_env: float, model_bytes: bytes, machine: dict) -> Path:
    out = root / name
    (out / "tables").mkdir(parents=True)
    pd.DataFrame({"method": ["Mono-Mono", "Points2Sound"], "d_env": [0.195, d_env], "scenes": [90, 90]}).to_csv(
        out / "tables" / "table1.csv", index=False
    )
    data, model = root / name / "data", root / name / "models" / "demo"
    data.mkdir()
    (data / "audio.wav").write_bytes(b"audio")
    model.mkdir(parents=True)
    (model / "model.pt").write_bytes(model_bytes)
    rec = record([data, model], out / "tables", machine, "abc1234", "demo")
    # artifact paths as the pipeline names them (relative to the project)
    rec["artifacts"] = {
        "data/demo/audio": rec["artifacts"][data.as_posix()],
        "models/demo/p2s_rgb": rec["artifacts"][model.as_posix()],
    }
    (out / "reproduction.json").write_text(json.dumps(rec))
    return out


def _section(ours: Path, reference: Path) -> str:
    return "\n".join(section(json.loads((ours / "reproduction.json").read_text()), ours / "tables", reference, 0.15))


def test_folder_hash_depends_on_names_and_contents(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_bytes(b"1")
    first = tree_sha256(tmp_path / "a")
    (tmp_path / "a" / "x").rename(tmp_path / "a" / "y")
    assert tree_sha256(tmp_path / "a") != first
    (tmp_path / "a" / "y").rename(tmp_path / "a" / "x")
    assert tree_sha256(tmp_path / "a") == first


def test_identical_runs_reproduce_bit_for_bit(tmp_path):
    ref, ours = _run(tmp_path, "ref", 0.11, b"w", AVX2), _run(tmp_path, "ours", 0.11, b"w", AVX2)
    text = _section(ours, ref)
    assert "same CPU kind" in text and "2 of 2 have the reference's sha256" in text
    assert "reproduced bit for bit" in text


def test_a_changed_model_on_the_same_kind_is_not_reproduced(tmp_path):
    ref, ours = _run(tmp_path, "ref", 0.11, b"w", AVX2), _run(tmp_path, "ours", 0.12, b"v", AVX2)
    text = _section(ours, ref)
    assert "NOT reproduced: same CPU kind" in text and "`models/demo/p2s_rgb`" in text


def test_another_kind_passes_within_the_tolerance_only(tmp_path):
    ref = _run(tmp_path, "ref", 0.110, b"w", AVX2)
    close = _run(tmp_path, "close", 0.121, b"v", AVX512)  # +10 %
    assert "reproduced within tolerance on another CPU kind" in _section(close, ref)
    far = _run(tmp_path, "far", 0.150, b"v", AVX512)  # +36 %
    text = _section(far, ref)
    assert "NOT within tolerance: 1 cells" in text and "| table1 | Points2Sound | d_env | 0.15 | 0.11 |" in text


def test_compare_tables_names_missing_tables(tmp_path):
    ref = _run(tmp_path, "ref", 0.11, b"w", AVX2)
    (tmp_path / "empty").mkdir()
    compared, identical, diffs, problems = compare_tables(tmp_path / "empty", ref / "tables")
    assert compared == 0 and problems == ["`table1.csv`: not written by this run"]


def test_compare_tables_names_the_columns_that_differ(tmp_path):
    ref = _run(tmp_path, "ref", 0.11, b"w", AVX2)
    ours = _run(tmp_path, "ours", 0.11, b"w", AVX2)
    table = pd.read_csv(ours / "tables" / "table1.csv").rename(columns={"d_env": "d_env_published"})
    table.to_csv(ours / "tables" / "table1.csv", index=False)
    _, _, _, problems = compare_tables(ours / "tables", ref / "tables")
    assert problems == [
        "`table1.csv`: columns differ (only here: d_env_published; only in the reference: d_env; else the order)"
    ]
