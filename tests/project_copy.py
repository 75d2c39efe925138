"""A copy of the project's pipeline files in a scratch folder, set to one profile (for engine runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("Snakefile", "dvc.yaml", "params.yaml", "workflow", "src")


def copy_project(dest: Path, profile: str = "tiny") -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    params = dest / "params.yaml"
    params.write_text(params.read_text().replace("profile: demo", f"profile: {profile}", 1))
    return dest
