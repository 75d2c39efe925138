"""The run record (`<log>.run.json`, written by cli.main) and the machine facts it holds.

The training facts (timing, device, process count, a resumed run) are checked on a real
training run in test_train.py; here the record of any command, its lifecycle and the
machine-facts helpers.
"""

from __future__ import annotations

import json
import logging
import os
import platform
from pathlib import Path

import pytest

from points2sound import cli
from points2sound.machine import CPU_FLAGS_OF_NOTE, cpu_facts, git_state, machine_facts
from points2sound.runrecord import RUN, RunRecord, record_path


@pytest.fixture
def restore_logging():
    """cli.main reconfigures the root logger; put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for h in root.handlers:
        if h not in handlers:
            h.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_record_path_sits_beside_the_log():
    assert record_path(Path("logs/demo/train_p2s_rgb.log")) == Path("logs/demo/train_p2s_rgb.run.json")
    assert record_path("logs/x") == Path("logs/x.run.json")


def test_a_command_with_log_writes_its_record(repo_root, tmp_path, restore_logging):
    log_file = tmp_path / "logs" / "params.log"
    argv = [
        "params",
        "--params",
        str(repo_root / "params.yaml"),
        "--profile",
        "tiny",
        "--key",
        "seed",
        "--log",
        str(log_file),
    ]
    assert cli.main(argv) == 0
    rec = json.loads(record_path(log_file).read_text())
    assert rec["command"] == "params" and rec["argv"] == argv and rec["profile"] == "tiny"
    for key in ("wall_seconds", "cpu_seconds", "peak_rss_mb", "peak_rss_children_mb"):
        assert isinstance(rec[key], float) and rec[key] >= 0, key
    assert rec["peak_rss_mb"] > 1
    assert "train_seconds" not in rec, "a record from an earlier command in this process leaked in"
    m = rec["machine"]
    assert m["cpu_count"] == os.cpu_count() and m["versions"]["python"] == platform.python_version()
    assert {"cpu_model", "cpu_flags", "torch_threads", "thread_env", "platform"} <= set(m)
    assert sorted(p.name for p in log_file.parent.iterdir()) == ["params.log", "params.run.json"], (
        "written atomically: no temporary file left"
    )


def test_a_failed_command_leaves_no_record(repo_root, tmp_path, restore_logging):
    log_file = tmp_path / "cmd.log"
    record_path(log_file).write_text("{}")  # the record of an earlier success
    assert cli.main(["params", "--params", str(tmp_path / "missing.yaml"), "--log", str(log_file)]) == 2
    assert not record_path(log_file).exists()


def test_without_log_no_record(repo_root, tmp_path, restore_logging, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["params", "--params", str(repo_root / "params.yaml"), "--key", "seed"]) == 0
    assert list(tmp_path.iterdir()) == []


def test_stage_facts_go_into_the_record(tmp_path):
    rec = RunRecord()
    rec.start("train", ["train", "--variant", "x"])
    rec.update(train_seconds=1.5, device="cpu")
    out = rec.as_dict(machine=False)
    assert out["train_seconds"] == 1.5 and out["device"] == "cpu" and out["command"] == "train"
    rec.start("evaluate", [])
    assert "train_seconds" not in rec.as_dict(machine=False)
    assert isinstance(RUN, RunRecord)


def test_cpu_facts_read_model_and_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: Example CPU @ 2.0GHz\nflags\t\t: fpu sse4_2 avx avx2 fma "
        "avx512f avx512_vnni amx_tile amx_bf16\n\nprocessor\t: 1\nmodel name\t: Example CPU @ 2.0GHz\n"
    )
    facts = cpu_facts(info)
    assert facts["cpu_model"] == "Example CPU @ 2.0GHz"
    assert facts["cpu_flags"] == ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "amx_tile", "amx_bf16"]
    assert cpu_facts(tmp_path / "absent")["cpu_flags"] == []


def test_machine_facts_of_this_machine(repo_root):
    facts = machine_facts(cwd=repo_root)
    json.dumps(facts)  # JSON-able
    assert set(facts["cpu_flags"]) <= set(CPU_FLAGS_OF_NOTE)
    assert facts["torch_threads"] >= 1 and facts["torch_cpu_capability"]
    assert facts["versions"]["numpy"] and facts["versions"]["torch"]
    if (repo_root / ".git").exists():
        assert len(facts["git_commit"]) == 40 and isinstance(facts["git_dirty"], bool)


def test_git_state_outside_a_checkout(tmp_path):
    assert git_state(tmp_path) == {}
