"""Shared fixtures: the repository root and the resolved tiny profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from points2sound.config import load_params

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def tiny_params() -> dict:
    return load_params(ROOT / "params.yaml", "tiny")
