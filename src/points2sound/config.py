"""Parameters: params.yaml's base, the profile overlay, then the user's overrides, validated.

Both engines (Snakemake and DVC) hand the CLI the same params.yaml (Snakemake a
frozen, content-addressed copy with its --config values folded into `overrides`);
the CLI resolves it here, so neither engine holds any parameter logic.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import InputFileError, ParameterError
from .model_kinds import FOA_KIND, MODEL_KINDS, SEPARATION_INITS, uses_vision

PROFILES_KEY = "profiles"
OVERRIDES_KEY = "overrides"
PROFILE_KEY = "profile"
_NOT_SECTIONS = (PROFILE_KEY, PROFILES_KEY, OVERRIDES_KEY)  # selection and layers, not parameters


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


def resolve(
    raw: Mapping[str, Any], profile: str | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Base < profile < user overrides (raw['overrides'], then `overrides`), validated.

    The profile is the argument, else raw['profile']. Every key of the file (each
    profile included, selected or not) and of `overrides` is checked against the
    schema first, so a misspelt key fails by its dotted name instead of being ignored.
    """
    check_keys(raw, raw_schema())
    check_keys(overrides or {}, overlay_schema())
    profiles = _mapping(raw.get(PROFILES_KEY), PROFILES_KEY)
    name = profile or raw.get(PROFILE_KEY, "demo")
    if name not in profiles:
        raise ParameterError("profile", f"unknown profile {name!r}; choose one of {sorted(profiles)}")
    base = {k: v for k, v in raw.items() if k not in _NOT_SECTIONS}
    params = deep_merge(base, _mapping(profiles[name], f"{PROFILES_KEY}.{name}"))
    params = deep_merge(params, user_overlay(_mapping(raw.get(OVERRIDES_KEY), OVERRIDES_KEY), overrides))
    params[PROFILE_KEY] = name
    validate(params)
    return params


def load_params(
    path: str | Path = "params.yaml", profile: str | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Read, overlay and validate the parameter file."""
    return resolve(read_params_file(path), profile, overrides)


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    """A layer of the file as a mapping (empty when left blank), or an error naming it."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ParameterError(name, f"must be a mapping, got {type(value).__name__}")
    return value


def user_overlay(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The user-override layers merged in order, with their placeholders dropped.

    params.yaml pre-declares every section under `overrides:` (`{}`, or null for the
    top-level scalars) so that DVC can depend on `overrides.<section>` and
    `dvc exp run -S ++overrides.<key>=...` can set it: those placeholders are no-ops.
    """
    out: dict[str, Any] = {}
    for layer in layers:
        out = deep_merge(out, _prune(layer or {}, top=True))
    return out


def _prune(tree: Mapping[str, Any], top: bool = False) -> dict[str, Any]:
    """Drop empty mappings (any depth) and top-level nulls: no parameter section is null."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            value = _prune(value)
            if not value:
                continue
        elif value is None and top:
            continue
        out[key] = value
    return out


def with_overrides(
    raw: Mapping[str, Any], overrides: Mapping[str, Any] | None = None, profile: str | None = None
) -> dict[str, Any]:
    """The parameter file with the user's overrides folded into its `overrides` section.

    One file then reproduces what an engine resolved: `resolve(with_overrides(raw, o, p))`
    equals `resolve(raw, p, o)`, which is what freeze_run_params writes for the CLI.
    """
    out = copy.deepcopy(dict(raw))
    out[OVERRIDES_KEY] = user_overlay(raw.get(OVERRIDES_KEY), overrides)
    if profile:
        out[PROFILE_KEY] = profile
    return out


def engine_overrides(
    config: Mapping[str, Any], raw: Mapping[str, Any], given: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The user-override layer hidden in an engine's merged config, as a nested, typed overlay.

    Snakemake's `config` is params.yaml with the --config/--configfile values merged
    in, so what differs from `raw` (the file as read) is what the user set, plus
    everything under config['overrides']. Snakemake hands nested --config values over
    as strings; a string leaf is YAML-parsed unless params.yaml's base holds a string
    there (or, where the base holds null or nothing, unless the schema accepts one),
    so `train={"lr": 0.001}` gives a float and `train={"iterations": -5}` fails
    validation as train.iterations. `profile` selects the profile and is no override.

    A value equal to the file's, given at the top level (`seed=<its value>`), cannot be
    told apart from no value in `config`; pass the engine's own record of the command
    line as `given` (Snakemake: workflow.config_settings.overwrite_config) to keep those.
    """
    base = {k: v for k, v in raw.items() if k not in _NOT_SECTIONS}  # what types the strings
    _refuse_profile_edits(config, raw)
    layers = [_engine_layer(config, base, only_changed=True)]
    if given:
        _refuse_profile_edits(given, {})
        layers.append(_engine_layer(given, base, only_changed=False))
    return user_overlay(*layers)


def _refuse_profile_edits(config: Mapping[str, Any], raw: Mapping[str, Any]) -> None:
    """Profiles are edited in params.yaml: an engine-side edit of one would not say which run it is for."""
    if PROFILES_KEY in config and _diff({PROFILES_KEY: config[PROFILES_KEY]}, {PROFILES_KEY: raw.get(PROFILES_KEY)}):
        raise ParameterError(
            PROFILES_KEY,
            "cannot be changed from the engine's command line; override the keys "
            "themselves (overrides apply after the profile)",
        )


def _engine_layer(values: Mapping[str, Any], base: Mapping[str, Any], only_changed: bool) -> dict[str, Any]:
    """One engine mapping as a typed overlay: its `overrides`, then its other keys (those differing from base)."""
    rest = {k: v for k, v in values.items() if k not in _NOT_SECTIONS}
    if only_changed:
        rest = _diff(rest, base)
    explicit = values.get(OVERRIDES_KEY) or {}
    return user_overlay(_coerce(explicit, base, overlay_schema()), _coerce(rest, base, overlay_schema()))


def _diff(new: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of `new` whose value is not `old`'s, types included: a string where the
    file holds a number is an engine's --config value even when it reads the same."""
    out: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            sub = _diff(value, before)
            if sub:
                out[key] = sub
        elif key not in old or value != before or not _same_types(value, before):
            out[key] = value
    return out


def _same_types(a: Any, b: Any) -> bool:
    """Equal values with equal types all the way down (["0"] is not [0], [1] is not [1.0])."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_types(x, y) for x, y in zip(a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same_types(a[k], b[k]) for k in a)
    return True


def _coerce(value: Any, base: Any, schema: Mapping[str, Any] | None) -> Any:
    """Type an engine's string leaves by the base value at the same path (else by the schema)."""
    schema = _deref(schema or {})
    if isinstance(value, Mapping):
        return {
            k: _coerce(v, base.get(k) if isinstance(base, Mapping) else None, _child(schema, str(k)))
            for k, v in value.items()
        }
    if isinstance(value, list):
        items = schema.get("items") if isinstance(schema.get("items"), Mapping) else None
        return [_coerce(v, _list_item(base, i), items) for i, v in enumerate(value)]
    if isinstance(value, str) and not _keeps_string(base, schema):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value  # left for the validator to name
    return value


def _list_item(base: Any, i: int) -> Any:
    """The base element typing element i of an overriding list (the last one past its end)."""
    if isinstance(base, list) and base:
        return base[min(i, len(base) - 1)]
    return None


def _keeps_string(base: Any, schema: Mapping[str, Any]) -> bool:
    """Whether a string at this path is meant as a string: the base says so, or (no base) the schema accepts one."""
    if base is not None:
        return isinstance(base, str)
    kind = schema.get("type")
    if kind is not None:
        return "string" in (kind if isinstance(kind, list) else [kind])
    if "enum" in schema:
        return any(isinstance(e, str) for e in schema["enum"])
    return "pattern" in schema


def freeze_run_params(raw_with_overrides: Mapping[str, Any], root: str | Path) -> Path:
    """Write the run's parameter file as `<root>/params-<sha256[:16]>.yaml`, only if absent.

    The name is the content's hash, so a dry run, a lint or a DAG listing during a
    run either finds the very file the running jobs read or writes another one:
    no file a job reads is ever rewritten. The write is atomic (a job never sees
    half a file). `load_params(path, profile)` gives what the engine resolved.
    """
    from .atomic import write_text

    text = yaml.safe_dump(dict(raw_with_overrides), sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    path = Path(root) / f"params-{digest[:16]}.yaml"
    if not path.is_file():
        write_text(path, text)
    elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
        raise InputFileError(path, "does not hold the content its name addresses (edited by hand?); remove it")
    return path


@functools.cache
def _schema() -> dict[str, Any]:
    """The schema of resolved parameters (read once; callers must not modify it)."""
    text = resources.files("points2sound").joinpath("schemas/params.schema.yaml").read_text()
    return yaml.safe_load(text)


@functools.cache
def overlay_schema() -> dict[str, Any]:
    """The key structure of a profile or of `overrides`: any section but `profile`, none required."""
    props = {k: v for k, v in _schema()["properties"].items() if k != PROFILE_KEY}
    return {"type": "object", "additionalProperties": False, "properties": props}


@functools.cache
def raw_schema() -> dict[str, Any]:
    """The key structure of params.yaml itself: the parameters plus `profiles` and `overrides`."""
    props = dict(_schema()["properties"])
    props[PROFILES_KEY] = {"type": "object", "additionalProperties": overlay_schema()}
    props[OVERRIDES_KEY] = overlay_schema()
    return {"type": "object", "additionalProperties": False, "properties": props}


def override_sections() -> tuple[str, ...]:
    """Every top-level key a profile or `overrides` may set (what params.yaml pre-declares under `overrides`)."""
    return tuple(overlay_schema()["properties"])


def _deref(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local `$ref`s ("#/definitions/x") so the walkers below see the real sub-schema."""
    while isinstance(node, Mapping) and "$ref" in node:
        node = _schema()["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return node if isinstance(node, Mapping) else {}


def _child(node: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    """The sub-schema of `key` in an object schema; None when the schema forbids the key."""
    node = _deref(node)
    if key in node.get("properties", {}):
        return _deref(node["properties"][key])
    extra = node.get("additionalProperties", True)
    if extra is False:
        return None
    return _deref(extra) if isinstance(extra, Mapping) else {}


def check_keys(tree: Mapping[str, Any], schema: Mapping[str, Any], prefix: str = "") -> None:
    """Fail on the first key the schema does not know, naming its dotted path and the nearest valid key.

    Only the key structure is walked (values are the validator's business), so it
    also checks overlays, such as a profile that is not selected, which are never
    validated as a whole.
    """
    for key, value in tree.items():
        name = f"{prefix}{key}"
        sub = _child(schema, str(key))
        if sub is None:
            raise _unknown_key(name, str(key), _deref(schema).get("properties", {}))
        if isinstance(value, Mapping):
            check_keys(value, sub, f"{name}.")
        elif isinstance(value, list) and isinstance(sub.get("items"), Mapping):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    check_keys(item, sub["items"], f"{name}.{i}.")


def _unknown_key(name: str, key: str, valid: Mapping[str, Any]) -> ParameterError:
    """The error for a key the schema lacks, with the nearest valid spelling (difflib)."""
    near = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    if near:
        hint = f"did you mean {near[0]!r}?"
    elif key == PROFILE_KEY:
        hint = "the profile is selected by the top-level 'profile' key (or --profile, --config profile=...)"
    else:
        hint = f"valid keys here: {', '.join(sorted(valid))}" if valid else "this mapping takes no keys"
    return ParameterError(name, f"unknown key; {hint}")


def validate(params: Mapping[str, Any]) -> None:
    """Check the resolved parameters against the schema and the cross-field rules."""
    check_keys(params, _schema())
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(params), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        name = ".".join(str(p) for p in err.absolute_path) or "<top level>"
        raise ParameterError(name, err.message)
    fractions = [params["splits"][k] for k in ("train", "val", "test")]
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ParameterError("splits", f"train + val + test must sum to 1, got {sum(fractions):g}")
    from .settings.scenes import scene_config

    scene_config(params)  # the scene settings check themselves (the distance range)
    if params["scenes"]["max_sources"] > len(params["instruments"]):
        raise ParameterError(
            "scenes.max_sources", "cannot exceed the number of instruments (sources are distinct instruments)"
        )
    if params["scenes"]["max_sources"] > len(params["render"]["azimuths_deg"]):
        raise ParameterError("scenes.max_sources", "cannot exceed the number of azimuths (azimuths are distinct)")
    train = params["train"]
    if train["batch_size"] % train["micro_batch_size"]:
        raise ParameterError(
            "train.micro_batch_size",
            f"must divide train.batch_size ({train['batch_size']}), got {train['micro_batch_size']}",
        )
    audio = params["pretrain_audio"]
    if not 2 <= audio["min_sources"] <= audio["max_sources"] <= len(params["instruments"]):
        raise ParameterError(
            "pretrain_audio.min_sources",
            "need 2 <= min_sources <= max_sources <= number of "
            f"instruments, got {audio['min_sources']}, {audio['max_sources']}",
        )
    unknown = sorted(set(audio["per_ear_variants"]) - set(params["variants"]))
    if unknown:
        raise ParameterError("pretrain_audio.per_ear_variants", f"unknown variants {unknown}")
    for name, v in params["variants"].items():
        if v["init"] in SEPARATION_INITS and v["model"] != "points2sound":
            raise ParameterError(f"variants.{name}.init", f"{v['init']!r} initializes a Demucs: needs points2sound")
        if (v["init"] in SEPARATION_INITS) != ("transfer" in v):
            raise ParameterError(
                f"variants.{name}.transfer",
                "names which separation weights a variant takes: needed with init "
                f"{' or '.join(SEPARATION_INITS)}, and only then (init is {v['init']!r})",
            )
        allowed = MODEL_KINDS[v["model"]].losses
        if v["loss"] not in allowed:
            raise ParameterError(
                f"variants.{name}.loss", f"a {v['model']} model trains with {allowed}, got {v['loss']!r}"
            )
        if not uses_vision(v) and v["model"] != FOA_KIND:
            raise ParameterError(
                f"variants.{name}.vision", f"false (no visual feature) is the FOA U-Net baseline: needs {FOA_KIND}"
            )
        if v.get("vision_net") == "panorama2d" and (v["init"] != "vision" or v["features"] != "rgb"):
            raise ParameterError(
                f"variants.{name}.vision_net",
                "panorama2d sees an rgb-depth panorama and starts from its own pre-training: needs features 'rgb' "
                f"and init 'vision', got {v['features']!r} and {v['init']!r}",
            )
        if v["model"] == FOA_KIND and v["mono_input"] != "true_mono":
            raise ParameterError(
                f"variants.{name}.mono_input",
                f"an FOA model takes the omni channel W, the true mono mixture: needs 'true_mono', got {v['mono_input']!r}",
            )
        if v["loss"] in ("diff", "mse") and v["mono_input"] != "sum_lr":
            raise ParameterError(
                f"variants.{name}.mono_input",
                f"loss {v['loss']!r} recovers L and R from s_m = L + R (Eq. 12/13): needs 'sum_lr'",
            )
