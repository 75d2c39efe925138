"""Shared fixtures: the repository root and the resolved tiny profile."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings

from points2sound.config import load_params

# CI runs the property tests on a fixed set of examples (HYPOTHESIS_PROFILE=ci in .ci/run), so a landing
# depends on the code, not on the draw; a local run draws new examples each time and so keeps exploring.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Outside the cluster tests, a `scontrol` that answers at once that no SLURM controller runs.

    Every Snakemake start imports the SLURM executor plugin, which asks `scontrol show config` for
    MinJobAge whenever SLURM's client tools are installed; with no controller running (these tests
    never start one) scontrol waits 9 s before it gives that answer. A hermetic run spawns one
    Snakemake per job, so the tiny pipeline paid it 60 times. The stub gives the same answer
    (exit 1) without the wait; the cluster tests (`-m cluster`) keep the real one.
    """
    marks = config.option.markexpr or ""
    if "cluster" in marks.replace("not cluster", ""):
        return
    stub = Path(tempfile.mkdtemp(prefix="p2s-no-slurm-"))
    (stub / "scontrol").write_text("#!/bin/sh\necho 'no SLURM controller in the local tests' >&2\nexit 1\n")
    (stub / "scontrol").chmod(0o755)
    os.environ["PATH"] = f"{stub}{os.pathsep}{os.environ['PATH']}"
    config.add_cleanup(lambda: shutil.rmtree(stub, ignore_errors=True))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def tiny_params() -> dict:
    return load_params(ROOT / "params.yaml", "tiny")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """The tiny profile's data half (audio, frames, shapes, HRIR, renders, test scenes), built by the CLI.

    Returns a work folder holding params.yaml (profile tiny) and data/tiny/.
    """
    import os
    import subprocess
    import sys

    import yaml

    work = tmp_path_factory.mktemp("tiny")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["profile"] = "tiny"
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    d, hrir = "data/tiny", params["hrir"]["name"]
    steps = [
        ["embed-audio", "--out", f"{d}/audio"],
        ["embed-frames", "--out", f"{d}/frames"],
        ["embed-shapes", "--out", f"{d}/shapes"],
        ["split", "--dataset", d],
        ["make-hrir", "--out", f"{d}/ir/{hrir}.sofa"],
        ["render-split", "--dataset", d, "--ir", f"{d}/ir/{hrir}.sofa", "--out", f"{d}/binaural/{hrir}"],
        ["scenes", "--dataset", d, "--ir-set", hrir, "--out", f"{d}/scenes/test_{hrir}"],
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    for args in steps:
        proc = subprocess.run(
            [sys.executable, "-m", "points2sound", args[0], "--params", "params.yaml", *args[1:]],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"{args[0]} failed:\n{proc.stderr[-3000:]}"
    return work


@pytest.fixture(autouse=True)
def _seeded_global_rngs():
    """Every test starts from the same global RNG state, so its outcome does not depend on test order."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture
def server():
    """A loopback HTTP server (tests/test_download_server.py) serving the files a test adds to it."""
    from test_download_server import LoopbackServer

    with LoopbackServer() as srv:
        yield srv
