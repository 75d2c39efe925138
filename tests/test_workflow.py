"""Both engines on the tiny profile: real Snakemake and real DVC runs in fresh folders.

The two runs (started together: Snakemake's whole pipeline, and the DVC half as a `dvc exp run`)
must produce byte-identical artifacts (same params -> same data), a rerun must have nothing to do,
a parameter edit must invalidate the right stages, and the experiment must list the dvclive
summaries of its training stages.
The tiny profile of these copies also overlays keys that DVC's own templating would miss
(the HRIR set's name, the splits rendered in rooms), and the Snakemake run is hermetic:
every job runs in a shadow folder holding only its declared inputs, from an empty data/.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from project_copy import PROJECT_FILES, TOOL_ENV, set_profile
from project_copy import copy_project as _copy_project

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONHASHSEED": "0"}
GIT_IDENTITY = {k: v for k, v in TOOL_ENV.items() if k.startswith("GIT_")}


def _run(cmd: list[str], cwd: Path, timeout: int = 1500, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env or ENV, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _digest_tree(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.startswith(".") and ".dvc" not in p.parts:
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


HRIR = "sphere_tiny"  # overlaid by the copies' tiny profile
ROOM_SPLITS = ["val", "test"]


def _project(dest: Path, files: tuple[str, ...] = PROJECT_FILES) -> Path:
    """A tiny copy whose profile overlays the HRIR set's name, the splits rendered in rooms and the
    scene pretext's iterations."""
    work = _copy_project(dest, "tiny", files)
    params = work / "params.yaml"
    text = params.read_text()
    tiny_hrir, tiny_pretrain = "    hrir: {taps: 256}\n", "    pretrain: {batch_size: 4, iterations: 4, val_every: 2}\n"
    assert tiny_hrir in text and tiny_pretrain in text
    text = text.replace(
        tiny_hrir,
        f"    hrir: {{taps: 256, name: {HRIR}}}\n    render: {{room_splits: [{', '.join(ROOM_SPLITS)}]}}\n",
        1,
    )
    # the scene pretext too (the demo runs it): it reads the performers, and only them
    params.write_text(
        text.replace(tiny_pretrain, tiny_pretrain.replace("}", ", scene_iterations: 2, scene_val_scenes: 4}"), 1)
    )
    set_profile(work, "tiny")
    return work


# the data half, pre-training, one variant's training and its scores, and the separation pre-training with
# its bss_eval scores, as a DVC experiment (the Snakemake run does the rest)
DVC_TARGETS = [
    *(f"evaluate_p2s_rgb_{s}" for s in (HRIR, "calypso_sim", "spirit_sim")),
    "evaluate_separation",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> tuple[Path, Path]:
    """The Snakemake run (hermetic, from an empty data/) and the DVC experiment, run at the same time."""
    dvc = _project(tmp_path_factory.mktemp("dvc"), (*PROJECT_FILES, ".gitignore", ".dvcignore"))
    for cmd in (["git", "init", "-q"], [str(BIN / "dvc"), "init", "-q"], ["git", "add", "-A"]):
        _run(cmd, dvc)
    _run(["git", "commit", "-q", "-m", "tiny project"], dvc, env={**ENV, **GIT_IDENTITY})
    log = (dvc.parent / "dvc_exp_run.log").open("w")
    exp = subprocess.Popen(
        [str(BIN / "dvc"), "exp", "run", "-n", "live", *DVC_TARGETS], cwd=dvc, env=ENV, stdout=log, stderr=log
    )
    try:
        snakemake = _project(tmp_path_factory.mktemp("snakemake"))
        assert not (snakemake / "data").exists()
        _run([str(BIN / "snakemake"), "--cores", "2"], snakemake, env={**ENV, "P2S_HERMETIC": "1"})
    finally:
        code = exp.wait(timeout=1500)
        log.close()
    assert code == 0, (dvc.parent / "dvc_exp_run.log").read_text()[-3000:]
    return snakemake, dvc


@pytest.fixture(scope="module")
def snakemake_run(engines) -> Path:
    return engines[0]


@pytest.fixture(scope="module")
def dvc_run(engines) -> Path:
    return engines[1]


def test_snakemake_builds_the_data_half(snakemake_run):
    data = snakemake_run / "data" / "tiny"
    params = yaml.safe_load((snakemake_run / "params.yaml").read_text())
    tiny = params["profiles"]["tiny"]
    n_rec = tiny["embedded_audio"]["recordings_per_instrument"]
    assert len(list((data / "audio").rglob("*.wav"))) == 5 * n_rec
    assert len(list((data / "binaural" / HRIR).rglob("*.wav"))) == 5 * n_rec * 8
    for room in ("calypso_sim", "spirit_sim"):
        assert (data / "ir" / f"{room}.sofa").is_file()
        recordings = sum(len(pd.read_csv(data / "splits" / f"{s}_audio.csv")) for s in ROOM_SPLITS)
        assert len(list((data / "binaural" / room).rglob("*.wav"))) == recordings * 5
    for irset in (HRIR, "calypso_sim", "spirit_sim"):
        scenes = pd.read_csv(data / "scenes" / f"test_{irset}" / "scenes.csv")
        assert len(scenes) == tiny["scenes"]["test"]["count"]
    assert (snakemake_run / "logs" / "tiny" / "render_hrir.log").read_text().strip()


def test_snakemake_runs_the_whole_pipeline_to_the_report(snakemake_run):
    results = snakemake_run / "results" / "tiny"
    params = yaml.safe_load((snakemake_run / "params.yaml").read_text())
    for variant, spec in params["variants"].items():
        assert (snakemake_run / "models" / "tiny" / variant / "model.pt").is_file()
        if spec["model"] == "points2sound_foa":  # scored as a field, anechoic only
            assert (results / "scores" / "foa" / variant / "scores.csv").is_file()
            continue
        for irset in (HRIR, "calypso_sim", "spirit_sim"):
            assert (results / "scores" / variant / f"{irset}.csv").is_file()
    page = (results / "README.md").read_text()
    assert "## Beyond the paper: first-order ambisonics" in page
    assert "Table 1" in page and "Table 2" in page
    for name in ("table1", "table2", "separation_mono", "audiopt_vs_rgb", "audio_costs"):
        assert (results / "tables" / f"{name}.tex").is_file()
    assert "## Audio pre-training by separation" in page and "Verdict:" in page
    assert list((results / "figures").glob("*.pdf")) and list((results / "examples").glob("*.wav"))
    # `dvc metrics show`: every metric of the field over all scenes, the paper's distances per N too
    metrics = json.loads((results / "metrics.json").read_text())
    headline = metrics[f"{HRIR}/points2sound/p2s_rgb"]
    for key in ("d_env_all", "d_stft_all", "d_mag_all", "d_phase_all", "snr_db_all", "itd_err_us_all", "d_env_n1"):
        assert math.isfinite(headline[key]), key


def test_snakemake_rerun_has_nothing_to_do(snakemake_run):
    proc = _run([str(BIN / "snakemake"), "--cores", "2", "-n"], snakemake_run)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_dvc_repro_matches_snakemake_byte_for_byte(snakemake_run, dvc_run):
    # checkpoints and training summaries too: they hold no timing or machine facts (those are in the run record)
    for tree in (
        "data/tiny",
        "results/tiny/scores/p2s_rgb",
        "results/tiny/separation",
        "models/tiny/pretrain_vision",
        "models/tiny/pretrain_separation",
        "models/tiny/p2s_rgb",
    ):
        a = _digest_tree(snakemake_run / tree)
        b = _digest_tree(dvc_run / tree)
        assert a.keys() == b.keys(), tree
        differing = [k for k in a if a[k] != b[k]]
        assert not differing, f"engines disagree on {tree}/{differing[:5]}"
    # the training runs' dvclive folders: summary (metrics.json) and history (plots/metrics/*.tsv)
    for run in ("pretrain_vision", "pretrain_separation", "p2s_rgb"):
        a, b = (
            _digest_tree(snakemake_run / "results/tiny/train" / run),
            _digest_tree(dvc_run / "results/tiny/train" / run),
        )
        assert "metrics.json" in a and any(k.endswith(".tsv") for k in a), run
        assert a == b, f"engines disagree on the dvclive folder of {run}"


def _experiment(shown: list, name: str) -> dict:
    runs = [run for rev in shown for exp in (rev.get("experiments") or []) for run in exp.get("revs", [])]
    named = [run for run in runs if run.get("name") == name]
    assert named, json.dumps(shown)[:3000]
    return named[0]["data"]


def test_dvc_exp_show_lists_the_dvclive_summaries(dvc_run):
    """dvclive under `dvc exp run`: the experiment lists the training stages' summaries
    (`results/tiny/train/<run>/metrics.json`), and dvclive left no dvc.yaml or experiment of its own."""
    data = _experiment(json.loads(_run([str(BIN / "dvc"), "exp", "show", "--json"], dvc_run).stdout), "live")
    metrics = data["metrics"]
    train = metrics["results/tiny/train/p2s_rgb/metrics.json"]["data"]
    iterations = data["params"]["params.yaml"]["data"]["profiles"]["tiny"]["train"]["iterations"]
    assert train["iterations"] == train["step"] == iterations
    assert {"best_val_loss", "best_iteration", "val_l1", "val_l1_rotated", "val_l1_mono_copy"} <= set(train)
    pre = metrics["results/tiny/train/pretrain_vision/metrics.json"]["data"]
    assert 0.0 <= pre["test_accuracy"] <= 1.0 and "best_val_loss" in pre
    # the history: dvclive's TSVs, declared as the stages' plots, no timestamps
    live = dvc_run / "results/tiny/train/p2s_rgb"
    tsvs = sorted((live / "plots/metrics").glob("*.tsv"))
    assert {p.stem for p in tsvs} >= {"train_loss", "val_loss", "val_l1"}
    for path in tsvs:
        header = path.read_text().splitlines()[0]
        assert header == f"step\t{path.stem}", header
    plots = _run([str(BIN / "dvc"), "plots", "show", "--json"], dvc_run).stdout
    assert "results/tiny/train/p2s_rgb/plots/metrics/val_loss.tsv" in plots, plots[:2000]
    assert sorted(p.name for p in live.iterdir()) == ["metrics.json", "plots"]
    refs = [r for r in _run(["git", "for-each-ref", "refs/exps"], dvc_run).stdout.splitlines() if "/exec/" not in r]
    assert len(refs) == 1 and refs[0].endswith("/live"), refs


def test_dvc_status_tracks_parameter_edits(dvc_run):
    status = [str(BIN / "dvc"), "status", "--with-deps", f"evaluate_p2s_rgb_{HRIR}"]
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
        cwd=work,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
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
    proc = subprocess.run(
        [sys.executable, "-m", "points2sound", "params"], cwd=work, env=ENV, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "scenes.voxel_size_m" in proc.stderr
    assert "Traceback" not in proc.stderr


def _planned(project: Path, *args: str) -> set[str]:
    """The jobs a Snakemake dry run would run now."""
    proc = _run([str(BIN / "snakemake"), "-n", "--cores", "2", *args], project)
    return set(re.findall(r"^(?:local)?rule (\w+):$", proc.stdout, flags=re.M))


def _dvc_changed(project: Path, *targets: str) -> str:
    return _run([str(BIN / "dvc"), "status", *targets], project).stdout


def test_both_engines_rerun_a_stage_whose_code_changed(snakemake_run, dvc_run):
    for project in (snakemake_run, dvc_run):
        code = project / "src" / "points2sound" / "data" / "synth" / "shapes.py"
        original, stat = code.read_text(), code.stat()
        try:
            code.write_text(original + "\n# an edit\n")
            if project == snakemake_run:
                planned = _planned(project)
                assert {"embed_shapes", "pretrain_vision"} <= planned
                assert not planned & {"embed_audio", "embed_frames", "make_hrir", "split"}
            else:
                status = _dvc_changed(project)
                assert "embed_shapes:" in status and "embed_audio:" not in status and "embed_frames:" not in status
        finally:
            code.write_text(original)
            os.utime(code, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_user_override_wins_over_the_profile_in_both_engines(snakemake_run, dvc_run):
    from points2sound.config import load_params

    # Snakemake: --config of a key the tiny profile sets (train.iterations: 4), typed, nested floats accepted
    before = set((snakemake_run / "logs" / "tiny" / "params").glob("*.yaml"))
    planned = _planned(snakemake_run, "--config", 'train={"iterations": 7, "lr": 0.002}')
    assert "train_p2s_rgb" in planned and "embed_audio" not in planned
    frozen = set((snakemake_run / "logs" / "tiny" / "params").glob("*.yaml")) - before
    assert len(frozen) == 1
    train = load_params(frozen.pop())["train"]
    assert train["iterations"] == 7 and train["lr"] == 0.002
    # DVC: the same override in params.yaml's `overrides:` (what `dvc exp run -S ++overrides.train...` writes)
    params = dvc_run / "params.yaml"
    original = params.read_text()
    try:
        params.write_text(original.replace("  train: {}\n", "  train: {iterations: 7, lr: 0.002}\n"))
        assert load_params(params)["train"]["iterations"] == 7
        status = _dvc_changed(dvc_run)
        assert "train_p2s_rgb:" in status and "embed_audio:" not in status
    finally:
        params.write_text(original)


def test_a_dry_run_leaves_the_running_pipelines_parameters_alone(snakemake_run):
    folder = snakemake_run / "logs" / "tiny" / "params"
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.glob("*.yaml")}
    _run([str(BIN / "snakemake"), "-n", "--cores", "2", "--config", "seed=5"], snakemake_run)
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.glob("*.yaml")}
    assert all(after[p] == v for p, v in before.items()), "a dry run rewrote a frozen parameter file"
    assert len(after) == len(before) + 1  # its own, under another content hash


def test_report_compares_with_a_committed_reference(snakemake_run):
    """A reference made from this very run: every artifact and table cell must come out identical."""
    import shutil

    results = snakemake_run / "results" / "tiny"
    assert "No reference run is committed" in (results / "README.md").read_text()
    reference = snakemake_run / "results" / "reference" / "tiny"
    shutil.copytree(results, reference)
    # the reference is a new input of the report only (stage_costs reads the report's benchmark file)
    assert _planned(snakemake_run) == {"report", "stage_costs", "all"}
    _run([str(BIN / "snakemake"), "--cores", "2"], snakemake_run)
    page = (results / "README.md").read_text()
    section = page[page.index("## Reproduction") :]
    assert "same CPU kind" in section and "reproduced bit for bit" in section
    record = json.loads((results / "reproduction.json").read_text())
    assert f"**Artifacts**: {len(record['artifacts'])} of {len(record['artifacts'])}" in section
    assert any(p.startswith("models/tiny/") for p in record["artifacts"])


def test_every_rule_writes_a_benchmark_and_the_stage_costs_table_reads_them(snakemake_run):
    from points2sound.config import load_params
    from points2sound.pipeline.graph import stage_graph

    stages = stage_graph(load_params(snakemake_run / "params.yaml"), snakemake_run)
    for stage in stages:
        header = (snakemake_run / stage.benchmark).read_text().splitlines()[0].split("\t")
        assert header[0] == "s" and "max_rss" in header and "cpu_time" in header, stage.name
    table = (snakemake_run / "results" / "tiny" / "stage_costs.md").read_text()
    assert all(f"| {s.name} |" in table for s in stages)
    assert f"| all {len(stages)} stages (sum) |" in table
    # timing stays out of the results page and the reproduction record
    for name in ("README.md", "reproduction.json", "metrics.json"):
        assert "stage_costs" not in (snakemake_run / "results" / "tiny" / name).read_text()


def _browser_or_skip():
    """Chromium and its driver, or a skip where they cannot be installed.

    Justified: Chromium comes from Debian's packages, which only root can install (`make setup` runs
    tools/browser.sh). CI runs as root and sets P2S_REQUIRE_BROWSER=1, so there a missing browser is a
    failure, not a skip. selenium is a test dependency: without it the import fails the test.
    """
    sys.path.insert(0, str(ROOT / "tools"))
    import selenium  # noqa: F401
    from report_browser import find_browser

    browser, driver = find_browser()
    if browser is None or driver is None:
        if os.environ.get("P2S_REQUIRE_BROWSER") == "1":
            raise RuntimeError("no chromium/chromedriver although P2S_REQUIRE_BROWSER=1 (tools/browser.sh failed?)")
        pytest.skip("no chromium/chromedriver: `make setup` installs them from Debian when run as root")


def _non_blank(png: Path) -> tuple[float, int]:
    """Spread of the grey levels and the number of distinct colours of a screenshot."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("RGB"), dtype=float)
    return float(pixels.mean(axis=2).std()), len(np.unique(pixels.reshape(-1, 3), axis=0))


def test_snakemake_report_opens_in_a_browser_with_figures_tables_and_players(snakemake_run, tmp_path):
    """`snakemake --report` of the tiny run, opened in headless Chromium: every figure and scene picture
    loads, every listening page plays mono, prediction and truth, and the screenshot is not blank."""
    _browser_or_skip()
    page = snakemake_run / "results" / "tiny" / "report.html"
    _run([str(BIN / "snakemake"), "--report", str(page)], snakemake_run)
    from report_browser import inspect_report

    shot = tmp_path / "report.png"
    summary = inspect_report(page, shot)
    assert not summary["problems"], summary["problems"]
    assert summary["categories"] == ["benchmarks", "data", "listening", "scores", "training"]
    results = snakemake_run / "results" / "tiny"
    examples = sorted(p.stem for p in (results / "examples").glob("*.html"))
    assert examples and sorted(p["name"].removesuffix(".html") for p in summary["listening_pages"]) == examples
    for p in summary["listening_pages"]:
        assert p["players"] == ["mono", "prediction", "truth"] and all(d > 0 for d in p["durations_s"])
    figures = {p.name for p in (results / "figures").glob("*.png")}
    scenes = {p.name for p in (results / "scene_pictures").glob("*.png")}
    shown = {i["name"] for i in summary["images"] if i["size"]}
    # the paper's three, the learning curves and one energy-map figure per FOA variant (p2s_foa, foa_unet)
    assert figures | scenes <= shown and len(figures) == 6 and len(scenes) == len(examples)
    tables = len(list((results / "tables").glob("*.md")))
    assert summary["table_pages"] == tables + 1  # and the stage-cost table
    spread, colours = _non_blank(shot)
    assert spread > 10 and colours > 50, (
        f"the screenshot looks blank (grey-level spread {spread:.1f}, {colours} colours)"
    )


def test_a_signal_mid_training_resumes_from_the_checkpoint_to_the_same_weights(snakemake_run, tmp_path):
    """SIGTERM (a SLURM time limit) to snakemake's process group while a training stage runs: no model is
    kept, the checkpoint survives, and the rerun resumes from it to the bytes of an uninterrupted run."""
    import shutil
    import signal

    project = tmp_path / "p"
    shutil.copytree(snakemake_run, project, symlinks=True)
    target, ckpt = project / "models/tiny/p2s_rgb", project / "checkpoints/tiny/p2s_rgb"
    # targets before --config: it takes every word after it as a key=value pair
    cmd = [str(BIN / "snakemake"), "--cores", "1", "models/tiny/p2s_rgb"]
    cmd += ["--config", 'train={"iterations": 24, "val_every": 2}']
    _run(cmd, project)  # uninterrupted, at the override
    reference = hashlib.sha256((target / "model.pt").read_bytes()).hexdigest()
    shutil.rmtree(target)
    shutil.rmtree(ckpt)
    proc = subprocess.Popen(
        cmd, cwd=project, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not list(ckpt.rglob("last.pt")):
        time.sleep(0.05)
    assert list(ckpt.rglob("last.pt")), "the training never wrote a checkpoint"
    os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    if target.exists():  # the signal came after the stage's rename: then the model is whole
        assert hashlib.sha256((target / "model.pt").read_bytes()).hexdigest() == reference, out[-2000:]
        pytest.skip("the training finished before the signal landed")
    assert proc.returncode != 0, out[-2000:]
    _run(cmd, project)
    assert hashlib.sha256((target / "model.pt").read_bytes()).hexdigest() == reference
    log = (project / "logs/tiny/train_p2s_rgb.log").read_text()
    assert re.search(r"resuming .* at iteration [1-9]\d* of 24", log), log[-2000:]
