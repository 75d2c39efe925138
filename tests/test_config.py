"""Parameters: profile overlays, schema validation and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from points2sound.config import deep_merge, load_params, resolve, stage_seed
from points2sound.errors import InputFileError, ParameterError

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
