"""Artifact versioning with a DVC remote: push after a run, pull into a fresh clone, nothing to redo.

A real round trip on the tiny profile's data half: `dvc repro` in a git repository with a
local-folder default remote, `dvc push`, `git clone` into a new folder, `dvc pull` there:
the artifacts come back byte for byte, `dvc status` is clean and `dvc repro` runs nothing;
a parameter edit then shows in `dvc status`. (The project's own remote is set in .dvc/config;
see docs/cluster.md.)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from project_copy import DVC, PROJECT_FILES, copy_project, run_tool

# the whole tiny pipeline under DVC (about 5 min on 2 cores with training): run with -m slow
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
_run = run_tool  # the shared git/dvc runner (project_copy.py)


def _digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    base = tmp_path_factory.mktemp("dvcremote")
    work, remote = base / "work", base / "remote"
    copy_project(work, "tiny", (*PROJECT_FILES, ".gitignore", ".dvcignore"))
    _run(["git", "init", "-q"], work)
    _run([DVC, "init", "-q"], work)
    _run([DVC, "remote", "add", "-d", "store", str(remote)], work)
    _run([DVC, "repro"], work)
    _run(["git", "add", "-A"], work)
    # outputs DVC does not cache (metrics, scores, the report) belong in git, as for results/demo/
    _run(["git", "add", "-f", "results/tiny"], work)
    _run(["git", "commit", "-q", "-m", "tiny run"], work)
    proc = _run([DVC, "push"], work)
    assert remote.is_dir() and any(remote.rglob("*")), proc.stdout
    return work, remote


@pytest.fixture(scope="module")
def pulled(pushed, tmp_path_factory):
    work, _ = pushed
    clone = tmp_path_factory.mktemp("clone") / "c"
    _run(["git", "clone", "-q", str(work), str(clone)], clone.parent)
    assert not (clone / "data").exists()
    _run([DVC, "pull"], clone)
    return clone


def test_pull_restores_every_artifact(pushed, pulled):
    work, _ = pushed
    for tracked in ("data",):
        a, b = _digest_tree(work / tracked), _digest_tree(pulled / tracked)
        assert a and a.keys() == b.keys()
        assert [k for k in a if a[k] != b[k]] == []


def test_nothing_to_redo_after_pull(pulled):
    proc = _run([DVC, "status"], pulled)
    assert "up to date" in proc.stdout, proc.stdout
    proc = _run([DVC, "repro"], pulled)
    out = proc.stdout
    assert "Running stage" not in out, out[-3000:]


def test_status_shows_a_parameter_edit(pulled):
    params = pulled / "params.yaml"
    original = params.read_text()
    try:
        params.write_text(original.replace("  taps: 512", "  taps: 384", 1))
        proc = _run([DVC, "status"], pulled)
        assert "make_hrir" in proc.stdout
        assert "embed_audio" not in proc.stdout
    finally:
        params.write_text(original)


def test_ablation_as_a_dvc_experiment(pulled):
    """`dvc exp run -S` reruns only what the edit touches; `dvc exp show` lists the metrics side by side."""
    import json

    proc = _run([DVC, "exp", "run", "-n", "lr2x", "-S", "++overrides.train.lr=0.0002", "train_p2s_rgb"], pulled)
    ran = [line for line in proc.stdout.splitlines() if line.startswith("Running stage")]
    assert ran == ["Running stage 'train_p2s_rgb':"], proc.stdout[-3000:]
    shown = json.loads(_run([DVC, "exp", "show", "--json"], pulled).stdout)
    runs = [run for rev in shown for exp in (rev.get("experiments") or []) for run in exp.get("revs", [])]
    named = [run for run in runs if run.get("name") == "lr2x"]
    assert named, json.dumps(shown)[:3000]
    data = named[0]["data"]
    assert data["params"]["params.yaml"]["data"]["overrides"]["train"]["lr"] == 0.0002
    metrics = data["metrics"]["results/tiny/train/p2s_rgb/metrics.json"]["data"]  # dvclive's summary
    assert metrics["iterations"] > 0 and "val_l1" in metrics
