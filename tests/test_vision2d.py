"""The 2D vision net (vision2d/network.py; issue 18, 3D against 2D): torchvision's ResNet18 on the scene's
panorama, fed the very voxel batches the 3D net takes, seeded, and kept apart from 3D checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from points2sound.config import resolve
from points2sound.errors import ParameterError
from points2sound.models.systems import build_vision
from points2sound.models.vision import SparseResNet18
from points2sound.report.spread import SeedSpread
from points2sound.report.vision2d import vision2d_section
from points2sound.settings.report import Bootstrap
from points2sound.settings.train import system_config, vision_sizes
from points2sound.vision2d.network import PanoramaResNet18
from test_config import raw

VOXEL = 0.05
SIZES = dict(voxel_size_m=VOXEL, width=32, height=16, max_depth_m=4.0)


def scene(seed: int, performers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Voxel indices of a few performer-sized blobs 1-3 m around the head, with rgb features."""
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(performers):
        azimuth, distance = rng.uniform(-np.pi, np.pi), rng.uniform(1.0, 3.0)
        centre = distance * np.array([np.sin(azimuth), 0.0, np.cos(azimuth)])
        parts.append(centre + rng.standard_normal((400, 3)) * [0.2, 0.6, 0.2])
    coords = np.unique(np.floor(np.concatenate(parts) / VOXEL).astype(np.int64), axis=0)
    return coords, rng.random((len(coords), 3))


def features(net: PanoramaResNet18, scenes: list) -> torch.Tensor:
    coords, feats = zip(*scenes)
    return net(net.collate(list(coords), list(feats)))


def test_voxel_batches_become_panoramas_and_a_k_wide_feature():
    net = PanoramaResNet18(16, seed=0, **SIZES).eval()
    coords, feats = zip(*[scene(0), scene(1), scene(2)])
    x = net.collate(list(coords), list(feats))
    assert x.shape == (3, 4, 16, 32) and x.dtype == torch.float32
    assert 0 < (x[:, 3] > 0).float().mean() < 0.5  # depth where the performers are, empty elsewhere
    assert net(x).shape == (3, 16)
    assert not torch.allclose(net(x)[0], net(x)[1])  # different scenes, different features


def test_a_quarter_turn_of_the_voxels_is_a_quarter_shift_of_the_panorama():
    net = PanoramaResNet18(16, seed=0, **SIZES)
    coords, feats = scene(3)
    # (x, y, z) -> (z, y, -x) turns the scene 90 deg to the left; centres (i + 0.5) v map to index (k, j, -i - 1)
    turned = np.stack([coords[:, 2], coords[:, 1], -coords[:, 0] - 1], axis=1)
    a, b = net.panoramas([coords], [feats])[0], net.panoramas([turned], [feats])[0]
    np.testing.assert_array_equal(b, np.roll(a, -32 // 4, axis=2))  # azimuth grows to the left (column down)


def test_construction_is_seeded_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = PanoramaResNet18(16, seed=5, **SIZES)
    assert torch.equal(torch.rand(1), before)  # the init drew from a forked generator
    b, c = PanoramaResNet18(16, seed=5, **SIZES), PanoramaResNet18(16, seed=6, **SIZES)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.trunk.conv1.weight, c.trunk.conv1.weight)
    assert a.trunk.conv1.weight.shape[1] == 4  # r, g, b, depth


def test_scaling_the_feature_divides_h_by_the_scale():
    net = PanoramaResNet18(16, seed=1, **SIZES).eval()
    scenes = [scene(4), scene(5)]
    h = features(net, scenes).detach()
    std = torch.linspace(0.5, 4.0, 16)
    net.scale_feature(std)
    torch.testing.assert_close(features(net, scenes).detach(), h / std)


def test_pretrained_weights_load_only_from_a_2d_net_of_this_size():
    source, target = PanoramaResNet18(16, seed=1, **SIZES), PanoramaResNet18(16, seed=2, **SIZES)
    assert target.load_pretrained(source.state_dict())
    for (name, pa), pb in zip(source.state_dict().items(), target.state_dict().values()):
        assert torch.equal(pa, pb), name
    with pytest.raises(ParameterError, match="not of this 2D network"):
        target.load_pretrained(SparseResNet18(out_channels=16, planes=(8, 8, 16, 16)).state_dict())
    with pytest.raises(ParameterError, match="not of this 2D network"):
        target.load_pretrained(PanoramaResNet18(8, seed=1, **SIZES).state_dict())  # another K


def test_a_panorama_variant_builds_the_2d_net_with_the_profiles_sizes():
    params = resolve(raw(), "demo")
    vision = system_config(params, "p2s_2d")["sizes"]["vision"]
    assert vision == vision_sizes(params, "panorama2d") and vision["width"] == 128
    net = build_vision(vision, 16, seed=0)
    assert isinstance(net, PanoramaResNet18) and (net.width, net.height) == (128, 64)
    assert net.voxel_size_m == params["scenes"]["voxel_size_m"]
    assert isinstance(build_vision(system_config(params, "p2s_rgb")["sizes"]["vision"], 16, seed=0), SparseResNet18)


@pytest.mark.parametrize(
    "edit",
    [{"features": "xyz"}, {"init": "separation", "transfer": "all"}],
)
def test_a_panorama_variant_needs_rgb_and_its_own_pretraining(edit):
    with pytest.raises(ParameterError) as err:
        resolve(raw(), "demo", {"variants": {"p2s_2d": edit}})
    assert err.value.name == "variants.p2s_2d.vision_net"


def test_unknown_vision_nets_are_named():
    with pytest.raises(ParameterError) as err:
        resolve(raw(), "demo", {"variants": {"p2s_2d": {"vision_net": "vit"}}})
    assert "vision_net" in err.value.name


def _scores(offset_2d: float, seed: int = 0) -> pd.DataFrame:
    """Per-scene rows of p2s_rgb and p2s_2d (and their Rotated-Visual inputs) on the same 30 anechoic scenes."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(30):
        base = rng.uniform(0.1, 0.3)
        for method, variant, value in (
            ("points2sound", "p2s_rgb", base),
            ("points2sound", "p2s_2d", base + offset_2d + rng.normal(0, 0.005)),
            ("rotated_visual", "p2s_rgb", base + 0.1),
            ("rotated_visual", "p2s_2d", base + offset_2d + rng.normal(0, 0.005)),
        ):
            rows.append(
                dict(scene_id=f"scene_{i:05d}", ir_set="sphere_1m", method=method, variant=variant,
                     mono_input="sum_lr", n_sources=1 + i % 3, d_env=value, d_stft=10 * value)
            )  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize("offset, verdict", [(0.05, "the 3D net is closer"), (-0.05, "the 2D net is closer")])
def test_the_report_section_gives_the_paired_verdict_either_way(tmp_path, offset, verdict):
    boot = Bootstrap(500, 0.95, 7)
    summary = tmp_path / "train" / "pretrain_vision_2d" / "metrics.json"
    summary.parent.mkdir(parents=True)
    summary.write_text(json.dumps({"scene_target": "azimuth", "scene_test_azimuth_accuracy": 0.625,
                                   "scene_azimuth_chance": 0.125, "scene_iterations": 12}))  # fmt: skip
    key = "sphere_1m|points2sound|p2s_rgb|sum_lr|"  # p2s_rgb's means over two seeds
    spread = SeedSpread({"seeds": [1, 2], "variants": ["p2s_rgb"], "per_seed": {
        "1": {"entries": {key: {"d_env": 0.17, "d_stft": 1.0}}, "pairs": {}},
        "2": {"entries": {key: {"d_env": 0.19, "d_stft": 2.0}}, "pairs": {}}}})  # fmt: skip
    out = tmp_path / "report"
    lines = vision2d_section(out, _scores(offset), ["p2s_2d"], "demo", ["sphere_1m"], boot, [summary], spread)
    text = "\n".join(lines)
    overall = next(line for line in lines if line.startswith("- sphere_1m (all N, paired over 30 scenes)"))
    assert overall.count(verdict) == 2  # d_env and d_stft
    assert "d_env" in overall and "outside seed spread (2σ = 0.04, proxy)" in overall  # |0.05| > 2 sqrt(2) 0.01414
    assert "within seed spread (2σ = 2, proxy)" in overall  # d_stft: |0.5| < 2 sqrt(2) 0.707
    assert "paired over 30 scenes" in text and "paired over 10 scenes" in text  # all N, and each N
    assert "3D model fed the scene turned by pi/2" in text and "uses the scene" in text
    assert "2D model fed the scene turned by pi/2" in text and "scene use not shown" in text
    assert "2D ResNet18 (panorama): test accuracy 0.625 (chance 0.125) after 12 iterations" in text
    table = pd.read_csv(out / "tables" / "vision_3d_2d_p2s_2d.csv")
    assert len(table) == 4 and table.loc[table["model"] == "2D (p2s_2d)", "scenes"].item() == 30


def test_the_report_section_is_absent_without_2d_scores(tmp_path):
    df = _scores(0.0)
    df = df[df["variant"] != "p2s_2d"]
    assert vision2d_section(tmp_path, df, ["p2s_2d"], "demo", ["sphere_1m"], Bootstrap(10, 0.9, 1)) == []


# --- end to end on the tiny data: the 2D pre-training, p2s_2d trained from it and scored -----------------------

P2S_2D = {"model": "points2sound", "features": "rgb", "loss": "full", "mono_input": "sum_lr", "init": "vision",
          "vision_net": "panorama2d"}  # fmt: skip


def _cli(work: Path, *args: str | Path, ok: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "points2sound", *map(str, args)], cwd=work, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == ok, f"{args[0]} -> {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def work2d(tiny_data) -> Path:
    """tiny_data with p2s_2d declared, a 2-iteration scene pretext, the 2D pre-training and p2s_2d trained."""
    raw_params = yaml.safe_load((tiny_data / "params.yaml").read_text())
    tiny = raw_params["profiles"]["tiny"]
    tiny["pretrain"].update(scene_iterations=2, scene_val_scenes=4)
    tiny["variants"] = {"p2s_2d": P2S_2D}
    (tiny_data / "params_2d.yaml").write_text(yaml.safe_dump(raw_params, sort_keys=False))
    p, d = "params_2d.yaml", "data/tiny"
    _cli(tiny_data, "pretrain-panorama", "--params", p, "--dataset", d, "--out", "m2d/pre", "--live", "m2d/pre_live",
         "--checkpoints", "m2d/pre_ckpt")  # fmt: skip
    _cli(tiny_data, "train", "--params", p, "--variant", "p2s_2d", "--dataset", d, "--pretrained",
         "m2d/pre/model.pt", "--out", "m2d/p2s_2d", "--live", "m2d/live", "--checkpoints", "m2d/ckpt")  # fmt: skip
    return tiny_data


def test_the_2d_pretraining_and_p2s_2d_train_the_2d_net(work2d):
    summary = json.loads((work2d / "m2d/pre_live/metrics.json").read_text())
    assert summary["scene_iterations"] == 2 and 0.0 <= summary["scene_test_azimuth_accuracy"] <= 1.0
    pre = torch.load(work2d / "m2d/pre/model.pt", weights_only=True)
    model = torch.load(work2d / "m2d/p2s_2d/model.pt", weights_only=True)
    stem = next(v for k, v in model["model"].items() if k.endswith("trunk.conv1.weight"))
    assert tuple(stem.shape) == (64, 4, 7, 7)  # torchvision's stem on r, g, b and depth
    assert json.loads(pre["config"])["net"] == "panorama2d"


def test_p2s_2d_is_scored_on_the_test_scenes_with_its_rotated_visual(work2d):
    _cli(work2d, "evaluate", "--params", "params_2d.yaml", "--variant", "p2s_2d", "--model", "m2d/p2s_2d/model.pt",
         "--scenes-root", "data/tiny/scenes", "--ir-sets", "sphere_1m", "--out-dir", "s2d")  # fmt: skip
    scores = pd.read_csv(work2d / "s2d/sphere_1m.csv")
    scenes = pd.read_csv(work2d / "data/tiny/scenes/test_sphere_1m/scenes.csv")
    for method in ("points2sound", "rotated_visual"):
        rows = scores[scores["method"] == method]
        assert len(rows) == len(scenes) and (rows["variant"] == "p2s_2d").all() and rows["d_env"].notna().all()


def test_p2s_2d_refuses_a_3d_pretraining(work2d, tmp_path):
    _cli(work2d, "pretrain", "--params", "params_2d.yaml", "--shapes", "data/tiny/shapes", "--dataset", "data/tiny",
         "--out", "m2d/pre3d", "--live", "m2d/pre3d_live", "--checkpoints", "m2d/pre3d_ckpt")  # fmt: skip
    proc = _cli(work2d, "train", "--params", "params_2d.yaml", "--variant", "p2s_2d", "--dataset", "data/tiny",
                "--pretrained", "m2d/pre3d/model.pt", "--out", tmp_path / "m", "--live", tmp_path / "l",
                "--checkpoints", tmp_path / "c", ok=2)  # fmt: skip
    assert "2D network" in proc.stderr and not (tmp_path / "m").exists()
