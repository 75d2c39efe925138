"""A copy of the project's pipeline files in a scratch folder, set to one profile (for engine runs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from points2sound.config import read_params_file, resolve
from points2sound.pipeline.dvc_yaml import render, set_profile_line

ROOT = Path(__file__).resolve().parents[1]
# the pipeline and the committed inputs its graph can name (results/benchmarks: report.seed_spread)
PROJECT_FILES = ("Snakefile", "dvc.yaml", "params.yaml", "workflow", "src", "results/benchmarks")
BIN = Path(sys.executable).parent
# the venv's tools first, fixed hash seed, a git identity for the scratch repositories
TOOL_ENV = {
    **os.environ,
    "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    "PYTHONHASHSEED": "0",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}
DVC = str(BIN / "dvc")


def run_tool(cmd: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run git or dvc in a scratch project; a non-zero exit fails the test with the command's output."""
    proc = subprocess.run(cmd, cwd=cwd, env=TOOL_ENV, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def copy_project(dest: Path, profile: str = "tiny", files: tuple[str, ...] = PROJECT_FILES) -> Path:
    """The pipeline's files under `dest`, params.yaml set to `profile` and dvc.yaml rendered for it
    (as `points2sound dvc-yaml --profile <profile>` does)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in files:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    set_profile(dest, profile)
    return dest


def set_profile(project: Path, profile: str) -> None:
    """Select `profile` in the copy's params.yaml and render its dvc.yaml."""
    params = project / "params.yaml"
    set_profile_line(params, profile)
    raw = read_params_file(params)
    (project / "dvc.yaml").write_text(render(raw, resolve(raw), project))
