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
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from points2sound.atomic import atomic_path
from points2sound.errors import InputFileError, ParameterError
from points2sound.paths import require_file

FORMAT = "points2sound-checkpoint/1"


def config_digest(config: Mapping[str, Any]) -> str:
    """A short hash of a JSON-able configuration (order-independent)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def save_checkpoint(path: str | Path, kind: str, config: Mapping[str, Any], **payload: Any) -> None:
    """Write a checkpoint atomically: a rerun never sees a half-written file."""
    blob = {
        "format": FORMAT,
        "kind": kind,
        "config": json.dumps(config, sort_keys=True),
        "config_digest": config_digest(config),
        **payload,
    }
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
    path = require_file(path, "checkpoint")
    if path.stat().st_size == 0:
        raise InputFileError(path, "checkpoint file is empty", "an interrupted copy?")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing: keep to one line
            warnings.simplefilter("ignore")
            blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not _is_pickle_container(path):
            raise InputFileError(path, "not a readable checkpoint (not a file torch.save writes)") from exc
        raise InputFileError(
            path,
            "not a plain-tensor file: it holds pickled Python objects, which are never loaded (they could run code)",
        ) from exc
    except Exception as exc:  # torch raises several types for corrupt or foreign files
        raise InputFileError(path, f"not a readable checkpoint ({type(exc).__name__}: {_first_line(exc)})") from exc
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise InputFileError(path, f"not a {FORMAT} file")
    if blob.get("kind") != kind:
        raise ParameterError("checkpoint", f"{path} holds a {blob.get('kind')!r} run, expected {kind!r}")
    blob["config"] = json.loads(blob["config"])
    if config is not None and blob["config_digest"] != config_digest(config):
        diff = _differences(blob["config"], json.loads(json.dumps(config)))
        raise ParameterError(
            "checkpoint",
            f"{path} was written for another configuration: " + "; ".join(diff[:6]) + (" ..." if len(diff) > 6 else ""),
        )
    return blob


def _is_pickle_container(path: Path) -> bool:
    """torch.save's zip (PK...) or a bare pickle stream (PROTO opcode 0x80): what the weights-only loader refused
    was pickled data, not bytes of some other format."""
    with open(path, "rb") as f:
        head = f.read(2)
    return head == b"PK" or head[:1] == b"\x80"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _weight_mismatch(module: torch.nn.Module, state: Mapping[str, Any]) -> str | None:
    """What differs first between a module's own weights and a state dict (the module's order, then extras)."""
    own = module.state_dict()
    for key, tensor in own.items():
        if key not in state:
            return f"it lacks {key!r}"
        given = getattr(state[key], "shape", None)
        if given is None or tuple(given) != tuple(tensor.shape):
            return f"{key!r} has shape {None if given is None else tuple(given)}, the configuration builds {tuple(tensor.shape)}"
    extra = [k for k in state if k not in own]
    return f"it holds {extra[0]!r}, which the configuration does not build" if extra else None


def load_weights(module: torch.nn.Module, state: Any, path: str | Path) -> None:
    """Load a checkpoint's weights into the network its own configuration built, or say which key differs.

    A checkpoint edited or assembled by hand can hold weights of another network than
    its config describes; torch would report every key in a multi-line traceback.
    """
    if not isinstance(state, Mapping):
        raise InputFileError(path, "holds no weights (no 'model' dictionary of tensors)")
    problem = _weight_mismatch(module, state)
    if problem is not None:
        raise InputFileError(path, f"weights do not match the checkpoint's own configuration: {problem}")
    module.load_state_dict(state)
