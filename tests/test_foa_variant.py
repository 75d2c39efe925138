"""The FOA variant on the tiny profile (issue 18): trained on the ambiX field, scored against Morgado's baselines
and decoded to headphones by the FOA stage, written as ambiX or turned with the head by `binauralize`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from points2sound.data.scenes import SceneSources, load_materialized_scene, read_scene_specs, scene_foa
from points2sound.evaluate.foa import FOA_METHODS, read_foa_scores, spatial_prior
from points2sound.foa.ambisonics import rotate_foa
from points2sound.settings.scenes import scene_config

HRIR = "sphere_1m"
TRAIN = dict(iterations=4, val_every=2, batch_size=2, micro_batch_size=1, device="cpu", log_every=2)


def _cli(work: Path, *args: str | Path, ok: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "points2sound", *map(str, args)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == ok, f"{args[0]} -> {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def work(tiny_data) -> Path:
    """tiny_data with a short training schedule, a vision pre-training, p2s_foa and p2s_rgb trained."""
    raw = yaml.safe_load((tiny_data / "params.yaml").read_text())
    raw["profiles"]["tiny"]["train"].update(TRAIN)
    (tiny_data / "params_foa.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    d, p = "data/tiny", "params_foa.yaml"
    pre = "foa_models/pretrain_vision"
    _cli(tiny_data, "pretrain", "--params", p, "--shapes", f"{d}/shapes", "--dataset", d, "--out", pre,
         "--live", "foa_live/pre", "--checkpoints", "foa_ckpt/pre")  # fmt: skip
    for variant in ("p2s_foa", "p2s_rgb"):
        _cli(tiny_data, "train", "--params", p, "--variant", variant, "--dataset", d, "--pretrained",
             f"{pre}/model.pt", "--out", f"foa_models/{variant}", "--live", f"foa_live/{variant}",
             "--checkpoints", f"foa_ckpt/{variant}")  # fmt: skip
    return tiny_data


@pytest.fixture(scope="module")
def foa_scores(work) -> Path:
    d = "data/tiny"
    _cli(work, "evaluate-foa", "--params", "params_foa.yaml", "--variant", "p2s_foa",
         "--model", "foa_models/p2s_foa/model.pt", "--dataset", d, "--scenes", f"{d}/scenes/test_{HRIR}",
         "--ir", f"{d}/ir/{HRIR}.sofa", "--out-dir", "foa_scores/p2s_foa")  # fmt: skip
    return work / "foa_scores/p2s_foa"


def test_the_foa_model_outputs_the_first_order_channels(work):
    import torch

    from points2sound.models.loading import load_system

    system, blob = load_system(work / "foa_models/p2s_foa/model.pt")
    assert blob["config"]["model"] == "points2sound_foa" and blob["config"]["mono_input"] == "true_mono"
    scene = load_materialized_scene(next((work / f"data/tiny/scenes/test_{HRIR}").glob("*.npz")))
    mono = torch.from_numpy(scene["mono"]["true_mono"])[None, None]
    sparse = system.vision.collate([scene["coords"]], [scene["feats_rgb"]])
    with torch.no_grad():
        field = system.field(mono, sparse)
    assert field.shape == (1, 4, mono.shape[-1])
    torch.testing.assert_close(field[:, :1], mono)  # W is the input itself


def test_every_method_is_scored_on_every_anechoic_test_scene(work, foa_scores):
    df = read_foa_scores(foa_scores / "scores.csv")
    specs = read_scene_specs(work / f"data/tiny/scenes/test_{HRIR}/scenes.csv")
    assert set(df["method"]) == set(FOA_METHODS)
    assert len(df) == len(specs) * len(FOA_METHODS)
    truth = df[df["method"] == "truth"]
    assert (truth[["foa_stft", "foa_env", "emd"]] == 0).all().all()  # the truth against itself
    assert (df[df["method"] != "truth"]["foa_env"] > 0).all()
    maps = pd.read_csv(foa_scores / "energy_maps.csv")
    shares = maps.groupby(["scene_id", "method"])["share"].sum()
    np.testing.assert_allclose(shares.to_numpy(), 1.0, atol=1e-6)  # each map is a distribution


def test_the_field_target_is_the_test_scenes_true_mono_in_w(work):
    sources = SceneSources.from_dataset(work / "data/tiny", "test", HRIR)
    for spec in read_scene_specs(work / f"data/tiny/scenes/test_{HRIR}/scenes.csv"):
        scene = load_materialized_scene(work / f"data/tiny/scenes/test_{HRIR}/{spec.scene_id}.npz")
        np.testing.assert_allclose(scene_foa(spec, sources, scale_by_n=True)[0], scene["mono"]["true_mono"], atol=1e-6)


def test_the_spatial_prior_is_a_mean_direction_and_a_distribution(work, tiny_params):
    sources = SceneSources.from_dataset(work / "data/tiny", "train", HRIR)
    prior = spatial_prior(sources, scene_config(tiny_params), 12, 5, 36)
    assert prior.gains[0] == 1.0 and prior.gains[2] == pytest.approx(0.0, abs=1e-6)  # horizontal: no Z
    assert np.all(np.abs(prior.gains[1:]) <= 1.0)  # a mean of unit-circle directions
    assert prior.energy.shape == (36,) and prior.energy.sum() == pytest.approx(1.0)
    w = np.linspace(-1, 1, 50, dtype=np.float32)
    np.testing.assert_allclose(prior.field(w)[0], w)


def _scene_and_mono(work: Path, tmp_path: Path) -> tuple[Path, Path]:
    npz = sorted((work / f"data/tiny/scenes/test_{HRIR}").glob("*.npz"))[0]
    mono = tmp_path / "mono.wav"
    sf.write(mono, load_materialized_scene(npz)["mono"]["true_mono"], 8000, subtype="FLOAT")
    return npz, mono


def test_binauralize_writes_ambix_and_turns_the_field_with_the_head(work, tmp_path):
    npz, mono = _scene_and_mono(work, tmp_path)
    ckpt = work / "foa_models/p2s_foa/model.pt"
    common = ("--params", work / "params_foa.yaml", "--checkpoint", ckpt, "--scene", npz, "--no-progress")
    _cli(work, "binauralize", mono, "--out", tmp_path / "ahead.wav", "--format", "foa", *common)
    _cli(work, "binauralize", mono, "--out", tmp_path / "left.wav", "--format", "foa", "--yaw", "90", *common)
    ahead, sr = sf.read(tmp_path / "ahead.wav", dtype="float32")
    left, _ = sf.read(tmp_path / "left.wav", dtype="float32")
    assert sr == 8000 and ahead.shape[1] == 4
    np.testing.assert_allclose(ahead[:, 0], sf.read(mono, dtype="float32")[0], atol=1e-6)  # W: the input
    # the head turned: the same field rotated (no second network pass would give anything else)
    np.testing.assert_allclose(left.T, rotate_foa(ahead.T, 90.0), atol=1e-6)
    _cli(work, "binauralize", mono, "--out", tmp_path / "ears.wav", "--hrir", work / f"data/tiny/ir/{HRIR}.sofa",
         *common)  # fmt: skip
    assert sf.read(tmp_path / "ears.wav")[0].shape[1] == 2


def test_binauralize_refuses_formats_a_model_cannot_give(work, tmp_path):
    npz, mono = _scene_and_mono(work, tmp_path)
    common = ("--params", work / "params_foa.yaml", "--scene", npz, "--no-progress")
    proc = _cli(work, "binauralize", mono, "--out", tmp_path / "x.wav", "--checkpoint",
                work / "foa_models/p2s_foa/model.pt", *common, ok=2)  # fmt: skip
    assert "--hrir" in proc.stderr and not (tmp_path / "x.wav").exists()
    proc = _cli(work, "binauralize", mono, "--out", tmp_path / "y.wav", "--format", "foa", "--checkpoint",
                work / "foa_models/p2s_rgb/model.pt", *common, ok=2)  # fmt: skip
    assert "needs an FOA model" in proc.stderr and not (tmp_path / "y.wav").exists()


def test_the_unet_baseline_ignores_the_scene(work, tiny_params):
    import torch

    from points2sound.models.systems import build_system

    net = build_system("points2sound_foa", tiny_params["model"], "full", 8000, seed=1, vision=False).eval()
    assert not any(p.requires_grad for p in net.vision.parameters())  # frozen and unused
    scenes = sorted((work / f"data/tiny/scenes/test_{HRIR}").glob("*.npz"))[:2]
    mono = torch.randn(1, 1, 4096)
    outs = []
    for path in scenes:
        s = load_materialized_scene(path)
        with torch.no_grad():
            outs.append(net(mono, net.vision.collate([s["coords"]], [s["feats_rgb"]])))
    torch.testing.assert_close(outs[0], outs[1])
