"""Interrupts and a second run at once, through the engines themselves, on the tiny profile.

SIGINT (Ctrl-C) and SIGTERM (what SLURM sends at a time limit) reach the process group of `snakemake`
or `dvc repro` (the engine and the stage's command, as a terminal and SLURM deliver them) while a stage
writes its folder: nothing half-written is kept or taken as done (the folder is absent, or whole when
the signal came after the stage's rename, which a loaded machine makes possible), and the rerun
completes with the bytes of an uninterrupted run (removing the killed run's temporaries). A second run started in the same folder while one
runs is refused by the engine's lock, and the first completes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from project_copy import DVC, PROJECT_FILES, TOOL_ENV, copy_project, run_tool

BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")
STAGE, FOLDER = "embed_audio", "data/tiny/audio"  # a multi-file stage that runs for a few seconds


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _writing(project: Path) -> bool:
    """The stage's temporary folder exists: it is in the middle of writing."""
    return any((project / FOLDER).parent.glob(".audio.*.tmp"))


def _start(cmd: list[str], project: Path) -> subprocess.Popen:
    """The engine in a session of its own: a signal to its group reaches the stage's command too."""
    return subprocess.Popen(
        cmd,
        cwd=project,
        env=TOOL_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait_writing(proc: subprocess.Popen, project: Path) -> None:
    deadline = time.time() + 180
    while time.time() < deadline and not _writing(project) and proc.poll() is None:
        time.sleep(0.05)
    assert _writing(project), "the stage never started writing"


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, str]:
    """The stage's folder from an uninterrupted run."""
    project = copy_project(tmp_path_factory.mktemp("ref") / "p", "tiny")
    run_tool([SNAKEMAKE, "--cores", "1", FOLDER], project)
    return _digest(project / FOLDER)


ENGINES = {
    "snakemake": lambda: [SNAKEMAKE, "--cores", "1", FOLDER],
    "dvc": lambda: [DVC, "repro", STAGE],
}


def _project(tmp_path: Path, engine: str) -> Path:
    project = copy_project(tmp_path / "p", "tiny", (*PROJECT_FILES, ".dvcignore"))
    if engine == "dvc":
        run_tool([DVC, "init", "--no-scm", "-q"], project)
    return project


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_an_interrupted_stage_is_not_taken_as_done_and_the_rerun_completes(tmp_path, reference, engine, sig):
    project = _project(tmp_path, engine)
    proc = _start(ENGINES[engine](), project)
    _wait_writing(proc, project)
    os.killpg(proc.pid, sig)
    out, _ = proc.communicate(timeout=120)
    if (project / FOLDER).exists():  # only when the signal came after the stage's rename: then it is whole
        assert _digest(project / FOLDER) == reference, f"a half-written folder was kept:\n{out[-2000:]}"
    else:
        assert proc.returncode != 0, out[-2000:]
    run_tool(ENGINES[engine](), project)
    assert _digest(project / FOLDER) == reference
    assert not _writing(project), "a temporary was left beside the output"


# the same several stages twice (Snakemake locks the outputs a run has yet to write: a run of one stage
# whose folder a running job has already created would find nothing to do)
BOTH = {
    "snakemake": [SNAKEMAKE, "--cores", "1", "data/tiny/scenes/test_sphere_1m"],  # several stages still to run
    "dvc": [DVC, "repro", "split"],
}


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_a_second_run_in_the_same_folder_is_refused_by_the_lock(tmp_path, reference, engine):
    project = _project(tmp_path, engine)
    first = _start(BOTH[engine], project)
    _wait_writing(first, project)
    second = subprocess.run(BOTH[engine], cwd=project, env=TOOL_ENV, capture_output=True, text=True, timeout=120)
    out, _ = first.communicate(timeout=300)
    assert first.returncode == 0, out[-2000:]
    assert second.returncode != 0
    said = (second.stdout + second.stderr).lower()
    # snakemake refuses by its lock, or, when its DAG is built after the first run marked the running
    # job's output incomplete, by that mark (which it checks before the lock); either way it runs nothing
    refused = ("lock",) if engine == "dvc" else ("lock", "incomplete files")
    assert any(r in said for r in refused), said[-2000:]
    assert _digest(project / FOLDER) == reference and (project / "data/tiny/splits").is_dir()
