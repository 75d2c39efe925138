"""The tiny profile through a real SLURM cluster: `snakemake --profile workflow/profiles/slurm`.

Needs a running cluster (`tools/slurm/start.sh`: a one-node slurm-wlm + munge cluster on
this host; .ci/run starts it and runs `pytest -m cluster`). Checks that every job went
through SLURM (a job id per job in Snakemake's log, each known to squeue as COMPLETED,
each with its SLURM log), that the outputs equal a local run's, and that a broken
submission (an unknown partition) fails the run.

Without slurmdbd there is no accounting, so the executor reads job states with squeue
(MinJobAge in tools/slurm/start.sh keeps finished jobs visible).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from points2sound.config import load_params
from project_copy import copy_project as _copy_project

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONHASHSEED": "0"}
PROFILE = ROOT / "workflow" / "profiles" / "slurm"
# the executor's options for a cluster without accounting, and quick status checks for short jobs
SLURM_ARGS = [
    "--slurm-status-command",
    "squeue",
    "--slurm-no-account",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--seconds-between-status-checks",
    "2",
]


# the data half, the pre-training and one variant
TARGETS = ["data_half", "models/tiny/pretrain_vision", "models/tiny/p2s_rgb"]


def _cluster_up() -> bool:
    if not shutil.which("sinfo"):
        return False
    proc = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    return proc.returncode == 0 and any(s.startswith(("idle", "mix", "alloc")) for s in proc.stdout.split())


if not _cluster_up():
    # Justified: these tests need real SLURM daemons (root to install and start them). CI starts a cluster
    # (.ci/run: tools/slurm/start.sh) and sets P2S_REQUIRE_CLUSTER=1: there a missing cluster is a failure,
    # not a skip, so the skip only applies to `make test` on a machine without one.
    if os.environ.get("P2S_REQUIRE_CLUSTER") == "1":
        raise RuntimeError("no SLURM cluster answers although P2S_REQUIRE_CLUSTER=1 (tools/slurm/start.sh failed?)")
    pytest.skip("no SLURM cluster answers (start one with tools/slurm/start.sh)", allow_module_level=True)


def _run(cmd: list[str], cwd: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)


def _digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory):
    work = _copy_project(tmp_path_factory.mktemp("slurm"))
    proc = _run([str(BIN / "snakemake"), "--profile", str(PROFILE), *SLURM_ARGS, *TARGETS], work)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"snakemake on SLURM failed:\n{log[-5000:]}"
    return work, log


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    work = _copy_project(tmp_path_factory.mktemp("local"))
    proc = _run(
        [str(BIN / "snakemake"), "--profile", str(ROOT / "workflow" / "profiles" / "local"), "--cores", "2", *TARGETS],
        work,
    )
    assert proc.returncode == 0, f"local snakemake failed:\n{(proc.stdout + proc.stderr)[-5000:]}"
    return work


SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")


def test_every_job_went_through_slurm(slurm_run):
    work, log = slurm_run
    submitted = SUBMITTED.findall(log)
    jobs = re.findall(r"^rule (\w+):", log, flags=re.M)  # jobs run elsewhere ("localrule" runs here)
    assert submitted, f"no SLURM job ids in the log:\n{log[-3000:]}"
    assert len(submitted) == len(jobs), f"{len(jobs)} jobs but {len(submitted)} SLURM submissions"
    assert {"embed_audio", "render_hrir", "test_scenes_hrir"} <= set(jobs)
    ids = {int(j) for _, j, _ in submitted}
    assert len(ids) == len(submitted), "a SLURM job id was reported twice"
    # every job id is a real, completed SLURM job of this run, and its log exists
    q = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%T"], capture_output=True, text=True)
    states = dict(line.split("|") for line in q.stdout.split())
    for _, job, path in submitted:
        assert states.get(job) == "COMPLETED", f"SLURM job {job}: {states.get(job)}"
        assert Path(path).is_file(), f"missing SLURM log {path}"
    embed = [p for _, _, p in submitted if "rule_embed_audio" in p]
    assert embed and "embed-audio" in Path(embed[0]).read_text()


def test_training_jobs_get_their_requests_from_params(slurm_run):
    work, log = slurm_run
    logs = sorted((work / ".snakemake" / "slurm_logs").glob("rule_train_*/**/*.log"))
    assert logs, "the training rule was not a SLURM job"
    job = logs[0].stem
    info = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
    if info:  # still known to slurmctld (MinJobAge): the request matches params' resources.train (tiny)
        cpus = load_params(ROOT / "params.yaml", "tiny")["resources"]["train"]["cpus"]
        assert f"NumCPUs={cpus}" in info or f"MinCPUsNode={cpus}" in info
        assert "TimeLimit=00:30:00" in info


def test_slurm_results_equal_a_local_run(slurm_run, local_run):
    work, _ = slurm_run
    a = _digest_tree(work / "data" / "tiny")
    b = _digest_tree(local_run / "data" / "tiny")
    assert a.keys() == b.keys()
    differing = [k for k in a if a[k] != b[k]]
    assert not differing, f"SLURM and local runs disagree on {differing[:5]}"


def test_slurm_models_equal_a_local_run(slurm_run, local_run):
    work, _ = slurm_run
    models = sorted((work / "models" / "tiny").glob("*/model.pt"))
    assert models, "the training rules did not run"
    for model in models:
        other = local_run / model.relative_to(work)
        x = torch.load(model, map_location="cpu", weights_only=True)["model"]
        y = torch.load(other, map_location="cpu", weights_only=True)["model"]
        assert x.keys() == y.keys()
        for k in x:
            assert torch.allclose(x[k].double(), y[k].double(), atol=1e-6), f"{model.parent.name}: {k}"


def test_rerun_on_slurm_has_nothing_to_do(slurm_run):
    work, _ = slurm_run
    proc = _run([str(BIN / "snakemake"), "--profile", str(PROFILE), *SLURM_ARGS, "-n", *TARGETS], work)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_a_broken_submission_fails(tmp_path):
    """An unknown partition: sbatch refuses the job and the run fails, naming SLURM's reason."""
    work = _copy_project(tmp_path / "p")
    proc = _run(
        [
            str(BIN / "snakemake"),
            "--profile",
            str(PROFILE),
            *SLURM_ARGS,
            "--default-resources",
            "slurm_partition=no_such_partition",
            "mem_mb=1000",
            "runtime=5",
            "cpus_per_task=1",
            "--",
            "data/tiny/ir/sphere_1m.sofa",
        ],
        work,
        timeout=300,
    )
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "partition" in out.lower(), out[-3000:]
    assert not (work / "data" / "tiny" / "ir" / "sphere_1m.sofa").exists()
