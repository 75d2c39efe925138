"""Parameters: profile overlays, schema validation and clear errors."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from points2sound.config import (
    _schema,
    deep_merge,
    engine_overrides,
    freeze_run_params,
    load_params,
    override_sections,
    resolve,
    with_overrides,
)
from points2sound.errors import InputFileError, ParameterError
from points2sound.settings import stage_seed

ROOT = Path(__file__).resolve().parents[1]


def raw() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_every_profile_resolves_and_validates():
    for name in raw()["profiles"]:
        params = load_params(ROOT / "params.yaml", name)
        assert params["profile"] == name
        assert "profiles" not in params


def test_overlay_replaces_only_named_keys():
    base = {"a": {"x": 1, "y": 2}, "b": [1, 2]}
    out = deep_merge(base, {"a": {"y": 3}, "b": [5]})
    assert out == {"a": {"x": 1, "y": 3}, "b": [5]}
    assert base["a"]["y"] == 2  # base untouched


def test_paper_profile_keeps_paper_settings():
    paper = load_params(ROOT / "params.yaml", "paper")
    assert paper["audio"]["sample_rate"] == 44100
    assert paper["scenes"]["test"]["count"] == 504
    assert paper["scenes"]["voxel_size_m"] == 0.02
    assert paper["render"]["azimuths_deg"] == [0, 45, 90, 135, 180, 225, 270, 315]
    assert paper["dataset"]["source"] == "real"


def test_tiny_overlay_applies():
    tiny = load_params(ROOT / "params.yaml", "tiny")
    assert tiny["audio"]["sample_rate"] == 8000
    assert tiny["embedded_frames"]["camera"]["width_px"] == 160
    assert tiny["embedded_frames"]["camera"]["distance_m"] == 2.0  # inherited from the base


@pytest.mark.parametrize(
    "override, name",
    [
        ({"audio": {"sample_rate": 100}}, "audio.sample_rate"),
        ({"scenes": {"voxel_size_m": -0.02}}, "scenes.voxel_size_m"),
        ({"scenes": {"mono_input": "stereo"}}, "scenes.mono_input"),
        ({"instruments": ["cello", "banjo"]}, "instruments.1"),
        ({"splits": {"train": 0.8}}, "splits"),
        ({"scenes": {"distance_range_m": [3.0, 1.0]}}, "scenes.distance_range_m"),
        ({"instruments": ["cello", "violin"]}, "scenes.max_sources"),
        ({"variants": {"p2s_audiopt": {"transfer": "half"}}}, "variants.p2s_audiopt.transfer"),
        ({"variants": {"p2s_rgb": {"transfer": "all"}}}, "variants.p2s_rgb.transfer"),  # only with a separation init
        ({"variants": {"p2s_audiopt": {"init": "vision"}}}, "variants.p2s_audiopt.transfer"),
        ({"variants": {"p2s_rgb": {"init": "separation"}}}, "variants.p2s_rgb.transfer"),  # needed with one
        ({"variants": {"p2s_foa": {"mono_input": "sum_lr"}}}, "variants.p2s_foa.mono_input"),  # W is the true mono
        ({"variants": {"p2s_foa": {"loss": "diff"}}}, "variants.p2s_foa.loss"),
        ({"foa": {"n_directions": 2}}, "foa.n_directions"),
        ({"variants": {"p2s_rgb": {"vision": False}}}, "variants.p2s_rgb.vision"),  # only the FOA baseline
    ],
)
def test_bad_values_name_the_parameter(override, name):
    with pytest.raises(ParameterError) as err:
        resolve(raw(), "tiny", override)
    assert err.value.name == name


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ParameterError, match="demo"):
        resolve(raw(), "nonexistent")


def test_missing_or_broken_parameter_file(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        load_params(tmp_path / "params.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: [unclosed\n")
    with pytest.raises(InputFileError, match="bad.yaml"):
        load_params(bad)


def test_stage_seeds_are_stable_and_distinct():
    params = {"seed": 7}
    assert stage_seed(params, "a") == stage_seed(params, "a")
    assert stage_seed(params, "a") != stage_seed(params, "b")
    assert stage_seed(params, "a") != stage_seed({"seed": 8}, "a")


# --- unknown keys --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit, name, near",
    [
        (lambda r: r["train"].update(iteratons=4), "train.iteratons", "iterations"),
        (lambda r: r["scenes"].update(voxel_sise_m=0.1), "scenes.voxel_sise_m", "voxel_size_m"),
        (lambda r: r.update(seeed=1), "seeed", "seed"),
        (lambda r: r["variants"]["p2s_rgb"].update(los="full"), "variants.p2s_rgb.los", "loss"),
        (lambda r: r["rooms"]["sets"]["calypso_sim"].update(rt60=0.2), "rooms.sets.calypso_sim.rt60", "rt60_s"),
        (
            lambda r: r["sources"]["music_solos"]["lists"][0].update(sha265="0"),
            "sources.music_solos.lists.0.sha265",
            "sha256",
        ),
        # a profile's misspelt key fails even when another profile is selected
        (lambda r: r["profiles"]["tiny"]["train"].update(iteratons=4), "profiles.tiny.train.iteratons", "iterations"),
        (
            lambda r: r["profiles"]["paper"].update(model={"demucs": {"chanels": 4}}),
            "profiles.paper.model.demucs.chanels",
            "channels",
        ),
        (lambda r: r["profiles"]["paper"].update(traing={}), "profiles.paper.traing", "train"),
        (lambda r: r["overrides"]["train"].update(iteratons=4), "overrides.train.iteratons", "iterations"),
    ],
)
def test_misspelt_key_is_named_with_the_nearest_valid_one(edit, name, near):
    r = raw()
    edit(r)
    with pytest.raises(ParameterError) as err:
        resolve(r, "demo")
    assert err.value.name == name
    assert f"unknown key; did you mean {near!r}?" in str(err.value)


def test_misspelt_key_in_a_file_and_in_an_override_argument(tmp_path):
    text = (ROOT / "params.yaml").read_text()
    assert "  iterations: 120000\n" in text
    bad = tmp_path / "params.yaml"
    bad.write_text(text.replace("  iterations: 120000\n", "  iterations: 120000\n  iteratons: 4\n", 1))
    with pytest.raises(ParameterError, match=r"'train\.iteratons': unknown key; did you mean 'iterations'\?"):
        load_params(bad, "tiny")
    with pytest.raises(ParameterError, match=r"'train\.iteratons'"):
        resolve(raw(), "tiny", {"train": {"iteratons": 4}})
    with pytest.raises(ParameterError, match="top-level 'profile' key"):
        resolve(raw(), "tiny", {"profile": "demo"})


def test_every_object_of_the_schema_is_closed():
    """additionalProperties: false wherever an object has fixed properties, so check_keys sees every misspelling."""

    def walk(node, path):
        if isinstance(node, dict):
            if "properties" in node:
                assert node.get("additionalProperties") is False, f"{path} accepts unknown keys"
            for key, sub in node.items():
                walk(sub, f"{path}.{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{path}.{i}")

    walk(_schema(), "schema")


def test_params_yaml_predeclares_every_override_section():
    """DVC requires a declared parameter to exist: each `overrides.<section>` is in the file, as a no-op."""
    r = raw()
    assert set(r["overrides"]) == set(override_sections())
    assert resolve(r, "tiny") == resolve({k: v for k, v in r.items() if k != "overrides"}, "tiny")


# --- precedence ----------------------------------------------------------------------------------------------------


def test_overrides_win_over_the_profile():
    r = raw()
    assert resolve(r, "tiny")["train"]["iterations"] == 4
    r["overrides"]["train"] = {"iterations": 7}
    r["overrides"]["seed"] = 11
    r["train"]["lr"] = 0.5  # a base edit loses to the profile where the profile sets the key
    r["profiles"]["tiny"]["train"]["lr"] = 0.25
    p = resolve(r, "tiny")
    assert (p["train"]["iterations"], p["seed"], p["train"]["lr"]) == (7, 11, 0.25)
    assert p["train"]["batch_size"] == 2  # the rest of the profile's section stays
    assert "overrides" not in p and "profiles" not in p
    # the argument is the last layer: after the file's overrides
    assert resolve(r, "tiny", {"train": {"iterations": 9}})["train"]["iterations"] == 9
    # empty sections and top-level nulls are no-ops
    assert resolve(r, "tiny", {"train": {}, "model": {"demucs": {}}, "seed": None})["seed"] == 11


# --- engine overrides ----------------------------------------------------------------------------------------------


def test_engine_overrides_types_strings_by_the_base():
    r = raw()
    config = deep_merge(
        r,
        {
            "profile": "tiny",
            "seed": 5,
            "train": {"lr": "0.001", "iterations": "9", "device": "cpu"},
            "render": {"azimuths_deg": ["0", "90", "180"]},
            "model": {"demucs": {"init_std": "null"}},
            "overrides": {"pretrain": {"lr": "0.5"}},
        },
    )
    ov = engine_overrides(config, r)
    assert ov == {
        "seed": 5,
        "train": {"lr": 0.001, "iterations": 9, "device": "cpu"},
        "render": {"azimuths_deg": [0, 90, 180]},
        "model": {"demucs": {"init_std": None}},
        "pretrain": {"lr": 0.5},
    }
    p = resolve(r, config["profile"], ov)
    assert (p["train"]["iterations"], p["train"]["lr"], p["profile"]) == (9, 0.001, "tiny")
    assert engine_overrides(r, r) == {}
    # a string where the base holds a string stays one (else "null" would become None)
    assert engine_overrides(deep_merge(r, {"hrir": {"name": "123"}}), r) == {"hrir": {"name": "123"}}


def test_engine_overrides_given_keeps_values_equal_to_the_base():
    r = raw()
    given = {"profile": "paper", "hrir": {"source": "sphere", "name": "sphere_1m"}}
    config = deep_merge(r, given)
    assert engine_overrides(config, r) == {}  # indistinguishable from no override in the merged config
    ov = engine_overrides(config, r, given=given)
    assert resolve(r, "paper", ov)["hrir"]["source"] == "sphere"
    with pytest.raises(ParameterError, match="profiles"):
        engine_overrides(deep_merge(r, {"profiles": {"tiny": {"seed": 3}}}), r)


SNAKEFILE = """
import json
from points2sound.config import engine_overrides, freeze_run_params, read_params_file, resolve, with_overrides
configfile: "params.yaml"
RAW = read_params_file("params.yaml")
OV = engine_overrides(config, RAW)
P = resolve(RAW, config.get("profile"), OV)
FROZEN = freeze_run_params(with_overrides(RAW, OV, P["profile"]), "frozen")
print("RESULT=" + json.dumps({"overrides": OV, "train": P["train"], "seed": P["seed"], "frozen": str(FROZEN)}))
rule all:
    shell: "true"
"""


def _snakemake(work: Path, *config: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-n", "-q", "--cores", "1", "--config", *config]
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=120)


def _result(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT=")]
    return json.loads(line[0].removeprefix("RESULT="))


def test_engine_overrides_on_a_real_snakemake_config(tmp_path):
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    # tiny sets train.iterations (4): the --config value wins; a nested float arrives as a string
    args = ["profile=tiny", 'train={"lr": 0.001, "iterations": 6}', 'overrides={"seed": 5}']
    out = _result(_snakemake(tmp_path, *args))
    assert out["overrides"] == {"seed": 5, "train": {"lr": 0.001, "iterations": 6}}
    assert (out["train"]["lr"], out["train"]["iterations"], out["seed"]) == (0.001, 6, 5)
    frozen = tmp_path / out["frozen"]
    assert load_params(frozen, "tiny") == resolve(raw(), "tiny", out["overrides"])
    # a dry run with other values during "the run" writes another file and leaves this one alone
    stamp = frozen.stat().st_mtime_ns, frozen.read_bytes()
    other = _result(_snakemake(tmp_path, "profile=tiny", "seed=6"))
    assert other["frozen"] != out["frozen"] and other["seed"] == 6
    assert _result(_snakemake(tmp_path, *args))["frozen"] == out["frozen"]
    assert (frozen.stat().st_mtime_ns, frozen.read_bytes()) == stamp
    bad = _snakemake(tmp_path, "profile=tiny", 'train={"iterations": -5}')
    assert bad.returncode != 0 and "train.iterations" in bad.stdout + bad.stderr


# --- frozen parameters ---------------------------------------------------------------------------------------------


def test_frozen_params_are_content_addressed_and_never_rewritten(tmp_path):
    r = raw()
    ov = {"train": {"iterations": 3}}
    path = freeze_run_params(with_overrides(r, ov, "tiny"), tmp_path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.name == f"params-{digest[:16]}.yaml"
    assert load_params(path, "tiny") == resolve(r, "tiny", ov)
    assert load_params(path) == resolve(r, "tiny", ov)  # the profile is recorded too
    stamp = path.stat().st_mtime_ns
    assert freeze_run_params(with_overrides(r, ov, "tiny"), tmp_path) == path
    assert path.stat().st_mtime_ns == stamp
    other = freeze_run_params(with_overrides(r, {"train": {"iterations": 2}}, "tiny"), tmp_path)
    assert other != path and path.stat().st_mtime_ns == stamp
    path.write_text(path.read_text() + "# edited\n")
    with pytest.raises(InputFileError, match="content"):
        freeze_run_params(with_overrides(r, ov, "tiny"), tmp_path)
