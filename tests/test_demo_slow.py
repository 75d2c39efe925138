"""The full demo data half, end to end (slow: run with `pytest -m slow`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_data_half_runs_end_to_end(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_data_half.py"),
            "--profile",
            "demo",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "data" / "demo" / "scenes" / "test_sphere_1m" / "scenes.csv").is_file()
