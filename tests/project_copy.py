"""A copy of the project's pipeline files in a scratch folder, set to one profile (for engine runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

from points2sound.config import read_params_file, resolve
from points2sound.dvc_yaml import render, set_profile_line

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("Snakefile", "dvc.yaml", "params.yaml", "workflow", "src")


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
