"""Data-parallel training: torchrun with 2 gloo processes on CPU against one process.

The global batch (train.batch_size) is the same whatever the process count: one process
accumulates micro-batches, two processes each take their share (train/data.py BatchPlan).
After k optimizer steps the parameters (and Adam's moments) must agree within
floating-point tolerance, and a checkpoint written by rank 0 of a 2-process run must
resume in a 1-process run and end where an uninterrupted run ends.

Real runs of `python -m points2sound train` on the tiny profile's data (built here by
the CLI: audio, frames, splits, HRIR and its renders; about 25 s on 2 cores).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from points2sound.errors import ParameterError
from points2sound.train.data import BatchPlan

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
}
VARIANT = "p2s_rgb"
STEPS = 4  # optimizer steps; validation (and a checkpoint) every 2


def _run(cmd: list[str], cwd: Path, ok: tuple[int, ...] = (0,), timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode in ok, f"{' '.join(cmd)} -> {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """The tiny profile's training inputs and a parameter file with a global batch of 4 in micro-batches of 2."""
    work = tmp_path_factory.mktemp("dist")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["profile"] = "tiny"
    params["profiles"]["tiny"]["train"].update(
        batch_size=4,
        micro_batch_size=2,
        iterations=STEPS,
        val_every=2,
        log_every=1,
        pretrained_vision=False,
        device="cpu",
        workers=0,
    )
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    cli = [sys.executable, "-m", "points2sound"]
    d = "data/tiny"
    hrir = f"{d}/ir/{params['hrir']['name']}.sofa"
    for args in (
        ["embed-audio", "--out", f"{d}/audio"],
        ["embed-frames", "--out", f"{d}/frames"],
        ["split", "--dataset", d],
        ["make-hrir", "--out", hrir],
        [
            "render-split",
            "--dataset",
            d,
            "--ir",
            hrir,
            "--out",
            f"{d}/binaural/{params['hrir']['name']}",
            "--splits",
            "train,val,test",
        ],
    ):
        _run(cli + args[:1] + ["--params", "params.yaml"] + args[1:], work)
    return work


def _train(work: Path, name: str, processes: int, stop_after: int | None = None) -> subprocess.CompletedProcess:
    """One training call; `processes` > 1 launches it with torchrun (gloo on CPU)."""
    args = [
        "train",
        "--params",
        "params.yaml",
        "--variant",
        VARIANT,
        "--dataset",
        "data/tiny",
        "--out",
        f"{name}/model",
        "--live",
        f"{name}/live",
        "--checkpoints",
        f"{name}/checkpoints",
        "--threads",
        "1",
        "--log-file",
        f"logs/{name}.log",
    ]  # torchrun refuses --log
    if stop_after is not None:
        args += ["--stop-after", str(stop_after)]
    if processes == 1:
        cmd = [sys.executable, "-m", "points2sound", *args]
        ok = (3,) if stop_after is not None else (0,)
    else:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc-per-node={processes}",
            "-m",
            "points2sound",
            *args,
        ]
        # rank 0 exits 3 after a resumable stop; torchrun then reports a failed child (exit 1)
        ok = (1, 3) if stop_after is not None else (0,)
    return _run(cmd, work, ok=ok)


def _last(work: Path, name: str) -> dict:
    return torch.load(work / name / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)


def _is_bn_buffer(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked")


def _max_param_difference(a: dict, b: dict) -> tuple[float, str]:
    assert a.keys() == b.keys()
    worst, where = 0.0, ""
    for key in a:
        if _is_bn_buffer(key):
            continue
        d = (a[key].double() - b[key].double()).abs().max().item() if a[key].numel() else 0.0
        if d > worst:
            worst, where = d, key
    return worst, where


@pytest.fixture(scope="module")
def one_process(work) -> dict:
    _train(work, "one", 1)
    return _last(work, "one")


@pytest.fixture(scope="module")
def two_processes(work) -> dict:
    proc = _train(work, "two", 2)
    assert "process 2 of 2" in proc.stderr + proc.stdout, "torchrun did not start a second rank"
    return _last(work, "two")


def test_batch_plan_shards_the_global_batch():
    """Each rank gets different scenes; together they are exactly the one-process batch."""
    one = BatchPlan(40, 10, 1)
    for world, micro in ((2, 10), (4, 10), (2, 20), (4, 5)):
        plan = BatchPlan(40, micro, world)
        assert plan.accumulation * micro * world == 40
        for it in (0, 7):
            shards = [sorted(i for mb in plan.indices(it, r) for i in mb) for r in range(world)]
            flat = sorted(i for s in shards for i in s)
            assert flat == sorted(i for mb in one.indices(it) for i in mb)
            assert len(set(flat)) == 40
    with pytest.raises(ParameterError):
        BatchPlan(40, 12, 2)


def test_two_gloo_processes_equal_one_process(one_process, two_processes):
    assert one_process["iteration"] == two_processes["iteration"] == STEPS
    worst, where = _max_param_difference(one_process["model"], two_processes["model"])
    assert worst < 1e-5, f"parameters differ by {worst:.3g} at {where}"
    # the optimizer state (Adam moments, step counts) agrees as well
    sa, sb = one_process["optimizer"]["state"], two_processes["optimizer"]["state"]
    assert sa.keys() == sb.keys()
    for k in sa:
        for name in ("exp_avg", "exp_avg_sq"):
            assert torch.allclose(sa[k][name], sb[k][name], rtol=1e-4, atol=1e-9), f"Adam {name} of param {k}"


@pytest.mark.xfail(
    strict=True,
    reason="BatchNorm running statistics depend on the process count: with DDP each "
    "rank updates them from its own micro-batches and the ranks average them after each step; one "
    "process updates them from every micro-batch in turn. See docs/cluster.md.",
)
def test_batchnorm_statistics_equal_one_process(one_process, two_processes):
    a, b = one_process["model"], two_processes["model"]
    for key in a:
        if _is_bn_buffer(key) and a[key].is_floating_point():
            assert torch.allclose(a[key], b[key], atol=1e-5), key


def test_rank0_checkpoint_resumes_on_one_process(work, one_process):
    """2 processes stop after 2 steps (rank 0 checkpoints); 1 process resumes and ends like the straight run."""
    _train(work, "resumed", 2, stop_after=2)
    blob = _last(work, "resumed")
    assert blob["iteration"] == 2
    assert not (work / "resumed" / "model").exists(), "a stopped run wrote its final model"
    proc = _train(work, "resumed", 1)
    assert "resuming" in proc.stderr + proc.stdout
    final = _last(work, "resumed")
    assert final["iteration"] == STEPS
    worst, where = _max_param_difference(one_process["model"], final["model"])
    assert worst < 1e-5, f"resumed run differs by {worst:.3g} at {where}"
    moved, _ = _max_param_difference(blob["model"], final["model"])
    assert moved > 1e-6, "the resumed steps did not change the parameters"
    assert (work / "resumed" / "model" / "model.pt").is_file()
    record = json.loads((work / "logs" / "resumed.run.json").read_text())  # run facts: not in the summary
    assert record["world_size"] == 1 and record["resumed_from"] == 2


def test_only_rank0_writes(work, two_processes):
    """One set of outputs, and the run record (not the summary) records the process count."""
    record = json.loads((work / "logs" / "two.run.json").read_text())
    assert record["world_size"] == 2
    assert "world_size" not in json.loads((work / "two" / "live" / "metrics.json").read_text())
    assert sorted(p.name for p in (work / "two").iterdir()) == ["checkpoints", "live", "model"]
    assert sorted(p.name for p in (work / "two" / "checkpoints").iterdir() if not p.name.startswith(".")) == [
        "best.pt",
        "last.pt",
    ]
    shutil.rmtree(work / "two" / "model")  # keep the tmp folder small
