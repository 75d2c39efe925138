"""Both engines on the tiny profile: real Snakemake and real DVC runs in fresh folders.

The two runs must produce byte-identical artifacts (same params -> same data), a
rerun must have nothing to do, and a parameter edit must invalidate the right stages.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from project_copy import copy_project as _copy_project

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONHASHSEED": "0"}


def _run(cmd: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _digest_tree(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.startswith(".") and ".dvc" not in p.parts:
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def snakemake_run(tmp_path_factory) -> Path:
    work = _copy_project(tmp_path_factory.mktemp("snakemake"))
    _run([str(BIN / "snakemake"), "--cores", "2"], work)
    return work


@pytest.fixture(scope="module")
def dvc_run(tmp_path_factory) -> Path:
    work = _copy_project(tmp_path_factory.mktemp("dvc"))
    _run(["git", "init", "-q"], work)
    _run([str(BIN / "dvc"), "init", "-q"], work)
    # the data half, pre-training, one variant's training and its scores, and the separation pre-training
    # with its bss_eval scores (the Snakemake run does the rest)
    _run([str(BIN / "dvc"), "repro", "evaluate@p2s_rgb", "evaluate_separation"], work)
    return work


def test_snakemake_builds_the_data_half(snakemake_run):
    data = snakemake_run / "data" / "tiny"
    params = yaml.safe_load((snakemake_run / "params.yaml").read_text())
    tiny = params["profiles"]["tiny"]
    n_rec = tiny["embedded_audio"]["recordings_per_instrument"]
    assert len(list((data / "audio").rglob("*.wav"))) == 5 * n_rec
    assert len(list((data / "binaural" / "sphere_1m").rglob("*.wav"))) == 5 * n_rec * 8
    for room in ("calypso_sim", "spirit_sim"):
        assert (data / "ir" / f"{room}.sofa").is_file()
        test_recordings = pd.read_csv(data / "splits" / "test_audio.csv")
        assert len(list((data / "binaural" / room).rglob("*.wav"))) == len(test_recordings) * 5
    for irset in ("sphere_1m", "calypso_sim", "spirit_sim"):
        scenes = pd.read_csv(data / "scenes" / f"test_{irset}" / "scenes.csv")
        assert len(scenes) == tiny["scenes"]["test"]["count"]
    assert (snakemake_run / "logs" / "tiny" / "render_sphere_1m.log").read_text().strip()


def test_snakemake_runs_the_whole_pipeline_to_the_report(snakemake_run):
    results = snakemake_run / "results" / "tiny"
    params = yaml.safe_load((snakemake_run / "params.yaml").read_text())
    for variant in params["variants"]:
        assert (snakemake_run / "models" / "tiny" / variant / "model.pt").is_file()
        for irset in ("sphere_1m", "calypso_sim", "spirit_sim"):
            assert (results / "scores" / variant / f"{irset}.csv").is_file()
    page = (results / "README.md").read_text()
    assert "Table 1" in page and "Table 2" in page
    for name in ("table1", "table2", "separation_mono", "audiopt_vs_rgb", "audio_costs"):
        assert (results / "tables" / f"{name}.tex").is_file()
    assert "## Audio pre-training by separation" in page and "Verdict:" in page
    assert list((results / "figures").glob("*.pdf")) and list((results / "examples").glob("*.wav"))


def test_snakemake_rerun_has_nothing_to_do(snakemake_run):
    proc = _run([str(BIN / "snakemake"), "--cores", "2", "-n"], snakemake_run)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_dvc_repro_matches_snakemake_byte_for_byte(snakemake_run, dvc_run):
    # checkpoints and training summaries too: they hold no timing or machine facts (those are in the run record)
    for tree in ("data/tiny", "results/tiny/scores/p2s_rgb", "results/tiny/separation", "models/tiny/pretrain_vision",
                 "models/tiny/pretrain_separation", "models/tiny/p2s_rgb"):
        a = _digest_tree(snakemake_run / tree)
        b = _digest_tree(dvc_run / tree)
        assert a.keys() == b.keys(), tree
        differing = [k for k in a if a[k] != b[k]]
        assert not differing, f"engines disagree on {tree}/{differing[:5]}"
    summaries = [f"results/tiny/train/{run}.{ext}" for run in ("pretrain_vision", "pretrain_separation", "p2s_rgb")
                 for ext in ("json", "csv")]
    differing = [f for f in summaries if (snakemake_run / f).read_bytes() != (dvc_run / f).read_bytes()]
    assert not differing, f"engines disagree on {differing}"


def test_dvc_status_tracks_parameter_edits(dvc_run):
    status = [str(BIN / "dvc"), "status", "--with-deps", "evaluate@p2s_rgb"]
    proc = _run(status, dvc_run)
    assert "up to date" in proc.stdout
    params = dvc_run / "params.yaml"
    original = params.read_text()
    try:
        params.write_text(original.replace("  test: 0.10", "  test: 0.15").replace("  train: 0.75", "  train: 0.70"))
        proc = _run(status, dvc_run)
        assert "split:" in proc.stdout
        assert "embed_audio" not in proc.stdout  # audio does not depend on the splits
    finally:
        params.write_text(original)


def test_dvc_repro_single_stage(dvc_run):
    proc = _run([str(BIN / "dvc"), "repro", "make_hrir"], dvc_run)
    assert "didn't change" in proc.stdout or "is cached" in proc.stdout or "skipping" in proc.stdout.lower()


def test_interrupted_stage_leaves_no_output(tmp_path):
    work = _copy_project(tmp_path / "p")
    out = work / "data" / "tiny" / "audio"
    proc = subprocess.Popen(
        [sys.executable, "-m", "points2sound", "embed-audio", "--profile", "tiny", "--out", str(out)],
        cwd=work, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    # wait until the stage is writing (its temporary folder exists), then kill it hard
    deadline = time.time() + 120
    while time.time() < deadline and not any(out.parent.glob(".audio.*")):
        time.sleep(0.05)
    assert any(out.parent.glob(".audio.*")), "stage never started writing"
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    assert not out.exists(), "a killed stage left its output folder behind"


def test_cli_reports_bad_parameters_without_traceback(tmp_path):
    work = _copy_project(tmp_path / "p")
    params = work / "params.yaml"
    params.write_text(params.read_text().replace("voxel_size_m: 0.02", "voxel_size_m: -1", 1))  # the scenes section
    proc = subprocess.run([sys.executable, "-m", "points2sound", "params"], cwd=work, env=ENV,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "scenes.voxel_size_m" in proc.stderr
    assert "Traceback" not in proc.stderr
