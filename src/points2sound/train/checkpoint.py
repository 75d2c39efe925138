"""Checkpoints that load with `torch.load(..., weights_only=True)` and know their configuration.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts (nothing
pickled), so loading one never runs code. It records the configuration that built
its network (JSON text) and a digest of it: loading into another configuration is
refused with the keys that differ, instead of failing deep inside load_state_dict.

The same content gives the same bytes: a checkpoint holds no timing or machine facts
(those go to the run record, runrecord.py), and it is written through a file object, so
the zip's entries are named `archive/...` rather than after the (random) temporary file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

import torch

from points2sound.atomic import atomic_path
from points2sound.errors import InputFileError, ParameterError

FORMAT = "points2sound-checkpoint/1"


def config_digest(config: Mapping[str, Any]) -> str:
    """A short hash of a JSON-able configuration (order-independent)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def save_checkpoint(path: str | Path, kind: str, config: Mapping[str, Any], **payload: Any) -> None:
    """Write a checkpoint atomically: a rerun never sees a half-written file."""
    blob = {"format": FORMAT, "kind": kind, "config": json.dumps(config, sort_keys=True),
            "config_digest": config_digest(config), **payload}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(blob, f)  # a path would name the zip's records after the temporary file's random stem


def _differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b)):
            out += _differences(a.get(key), b.get(key), f"{prefix}{key}.")
        return out
    return [] if a == b else [f"{prefix.rstrip('.')}: {a!r} != {b!r}"]


def load_checkpoint(path: str | Path, kind: str, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read a checkpoint (weights only, onto the CPU) and check its kind and configuration.

    Raises InputFileError for a missing or unreadable file and ParameterError when the
    checkpoint was written for another kind of run or another configuration.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "checkpoint not found")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or foreign files
        raise InputFileError(path, f"not a readable checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise InputFileError(path, f"not a {FORMAT} file")
    if blob.get("kind") != kind:
        raise ParameterError("checkpoint", f"{path} holds a {blob.get('kind')!r} run, expected {kind!r}")
    blob["config"] = json.loads(blob["config"])
    if config is not None and blob["config_digest"] != config_digest(config):
        diff = _differences(blob["config"], json.loads(json.dumps(config)))
        raise ParameterError("checkpoint", f"{path} was written for another configuration: "
                                           + "; ".join(diff[:6]) + (" ..." if len(diff) > 6 else ""))
    return blob
