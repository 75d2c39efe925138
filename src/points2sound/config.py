"""Parameters: the base settings of params.yaml with a profile overlay, validated.

Both engines (Snakemake and DVC) hand the CLI the same params.yaml; the CLI
resolves the profile here, so neither engine holds any parameter logic.
"""

from __future__ import annotations

import copy
import hashlib
import json
import zlib
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import jsonschema
import yaml

from .errors import InputFileError, ParameterError

PROFILES_KEY = "profiles"


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Return base with overlay's keys replacing base's, recursing into mappings."""
    out = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_params_file(path: str | Path) -> dict[str, Any]:
    """Read params.yaml as a mapping, with a clear error when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "parameter file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InputFileError(path, f"not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise InputFileError(path, "parameter file must hold a mapping at its top level")
    return raw


def resolve(raw: Mapping[str, Any], profile: str | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Apply the selected profile (argument, else raw['profile']) and validate."""
    profiles = raw.get(PROFILES_KEY, {}) or {}
    name = profile or raw.get("profile", "demo")
    if name not in profiles:
        raise ParameterError("profile", f"unknown profile {name!r}; choose one of {sorted(profiles)}")
    base = {k: v for k, v in raw.items() if k not in (PROFILES_KEY, "overrides")}
    params = deep_merge(base, profiles[name] or {})
    params = deep_merge(params, raw.get("overrides") or {})
    if overrides:
        params = deep_merge(params, overrides)
    params["profile"] = name
    validate(params)
    return params


def load_params(path: str | Path = "params.yaml", profile: str | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read, overlay and validate the parameter file."""
    return resolve(read_params_file(path), profile, overrides)


def _schema() -> dict[str, Any]:
    text = resources.files("points2sound").joinpath("schemas/params.schema.yaml").read_text()
    return yaml.safe_load(text)


def validate(params: Mapping[str, Any]) -> None:
    """Check the resolved parameters against the schema and the cross-field rules."""
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(params), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        name = ".".join(str(p) for p in err.absolute_path) or "<top level>"
        raise ParameterError(name, err.message)
    fractions = [params["splits"][k] for k in ("train", "val", "test")]
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ParameterError("splits", f"train + val + test must sum to 1, got {sum(fractions):g}")
    lo, hi = params["scenes"]["distance_range_m"]
    if not 0 < lo <= hi:
        raise ParameterError("scenes.distance_range_m", f"need 0 < min <= max, got [{lo}, {hi}]")
    if params["scenes"]["max_sources"] > len(params["instruments"]):
        raise ParameterError("scenes.max_sources", "cannot exceed the number of instruments (sources are distinct instruments)")
    if params["scenes"]["max_sources"] > len(params["render"]["azimuths_deg"]):
        raise ParameterError("scenes.max_sources", "cannot exceed the number of azimuths (azimuths are distinct)")
    train = params["train"]
    if train["batch_size"] % train["micro_batch_size"]:
        raise ParameterError("train.micro_batch_size", f"must divide train.batch_size ({train['batch_size']}), "
                                                       f"got {train['micro_batch_size']}")
    audio = params["pretrain_audio"]
    if not 2 <= audio["min_sources"] <= audio["max_sources"] <= len(params["instruments"]):
        raise ParameterError("pretrain_audio.min_sources", "need 2 <= min_sources <= max_sources <= number of "
                             f"instruments, got {audio['min_sources']}, {audio['max_sources']}")
    unknown = sorted(set(audio["per_ear_variants"]) - set(params["variants"]))
    if unknown:
        raise ParameterError("pretrain_audio.per_ear_variants", f"unknown variants {unknown}")
    for name, v in params["variants"].items():
        if v["init"] == "separation" and v["model"] != "points2sound":
            raise ParameterError(f"variants.{name}.init", "'separation' initializes a Demucs: needs points2sound")
        allowed = {"points2sound": ("full", "diff"), "mono2binaural": ("mse",)}[v["model"]]
        if v["loss"] not in allowed:
            raise ParameterError(f"variants.{name}.loss", f"a {v['model']} model trains with {allowed}, got {v['loss']!r}")
        if v["loss"] in ("diff", "mse") and v["mono_input"] != "sum_lr":
            raise ParameterError(f"variants.{name}.mono_input",
                                 f"loss {v['loss']!r} recovers L and R from s_m = L + R (Eq. 12/13): needs 'sum_lr'")


def section_digest(params: Mapping[str, Any], *keys: str) -> str:
    """A short hash of some parameter sections: Snakemake reruns a rule when it changes."""
    blob = json.dumps({k: params.get(k) for k in keys}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def stage_seed(params: Mapping[str, Any], stage: str) -> int:
    """A per-stage seed derived from the global seed, so stages draw independent streams."""
    return (int(params["seed"]) * 1_000_003 + zlib.crc32(stage.encode())) % (2**31 - 1)


def freeze(raw: Mapping[str, Any], path: str | Path) -> Path:
    """Write an engine's merged raw config to `path` (only when it changed).

    Snakemake merges params.yaml with --config/--configfile overrides; the CLI
    reads this frozen copy, so every override reaches the stages unchanged.
    """
    from .atomic import write_text

    path = Path(path)
    text = yaml.safe_dump(dict(raw), sort_keys=False)
    if not path.is_file() or path.read_text() != text:
        write_text(path, text)
    return path


# TEMPORARY (replaced by the params branch)
def engine_overrides(config: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in ("profile", PROFILES_KEY):
            continue
        if raw.get(key) != value:
            out[key] = value
    return out


def freeze_run_params(raw: Mapping[str, Any], profile: str, overrides: Mapping[str, Any], root: Path) -> Path:
    from .atomic import write_text

    frozen = {**dict(raw), "profile": profile, "overrides": deep_merge(raw.get("overrides") or {}, overrides)}
    text = yaml.safe_dump(frozen, sort_keys=False)
    path = Path(root) / f"params-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml"
    if not path.is_file():
        write_text(path, text)
    return path
