"""dvclive under `dvc exp run`: one training stage of a tiny DVC project, and what `dvc exp show` lists.

A copy of the project (its .gitignore included) in a fresh git + DVC repository; `dvc exp run` of
`train_p2s_rgb` runs the data half it needs, the vision pre-training and the variant. The experiment
must list the dvclive summaries (`results/tiny/train/<run>/metrics.json`) of both training stages,
and dvclive must have left no dvc.yaml or experiment of its own. About 70 s on 2 cores (the data half,
a pre-training and a training run): in the fast suite.
"""

from __future__ import annotations

import json

from project_copy import DVC, PROJECT_FILES, copy_project, run_tool

_run = run_tool  # the shared git/dvc runner (project_copy.py)


def _experiment(shown: list, name: str) -> dict:
    runs = [run for rev in shown for exp in (rev.get("experiments") or []) for run in exp.get("revs", [])]
    named = [run for run in runs if run.get("name") == name]
    assert named, json.dumps(shown)[:3000]
    return named[0]["data"]


def test_dvc_exp_show_lists_the_dvclive_summaries(tmp_path):
    work = copy_project(tmp_path / "p", "tiny", (*PROJECT_FILES, ".gitignore", ".dvcignore"))
    _run(["git", "init", "-q"], work)
    _run([DVC, "init", "-q"], work)
    _run(["git", "add", "-A"], work)
    _run(["git", "commit", "-q", "-m", "tiny project"], work)
    proc = _run([DVC, "exp", "run", "-n", "live", "train_p2s_rgb"], work)
    assert "Running stage 'train_p2s_rgb'" in proc.stdout and "Running stage 'pretrain_vision'" in proc.stdout
    data = _experiment(json.loads(_run([DVC, "exp", "show", "--json"], work).stdout), "live")
    metrics = data["metrics"]
    train = metrics["results/tiny/train/p2s_rgb/metrics.json"]["data"]
    iterations = data["params"]["params.yaml"]["data"]["profiles"]["tiny"]["train"]["iterations"]
    assert train["iterations"] == train["step"] == iterations
    assert {"best_val_loss", "best_iteration", "val_l1", "val_l1_rotated", "val_l1_mono_copy"} <= set(train)
    pre = metrics["results/tiny/train/pretrain_vision/metrics.json"]["data"]
    assert 0.0 <= pre["test_accuracy"] <= 1.0 and "best_val_loss" in pre
    # the history: dvclive's TSVs, declared as the stages' plots, no timestamps
    live = work / "results/tiny/train/p2s_rgb"
    tsvs = sorted((live / "plots/metrics").glob("*.tsv"))
    assert {p.stem for p in tsvs} >= {"train_loss", "val_loss", "val_l1"}
    for path in tsvs:
        header = path.read_text().splitlines()[0]
        assert header == f"step\t{path.stem}", header
    plots = _run([DVC, "plots", "show", "--json"], work).stdout
    assert "results/tiny/train/p2s_rgb/plots/metrics/val_loss.tsv" in plots, plots[:2000]
    # dvclive wrote its files only: no dvc.yaml of its own, no experiment of its own (the one run is DVC's)
    assert sorted(p.name for p in live.iterdir()) == ["metrics.json", "plots"]
    refs = [r for r in _run(["git", "for-each-ref", "refs/exps"], work).stdout.splitlines() if "/exec/" not in r]
    assert len(refs) == 1 and refs[0].endswith("/live"), refs
