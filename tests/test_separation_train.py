"""Audio pre-training by separation (README, "Audio pre-training by separation"): mixtures, the weight transfer, and the stages end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from points2sound.config import load_params
from points2sound.data.scenes import SceneSources
from points2sound.data.scenes.mixtures import MixtureSampler
from points2sound.errors import ParameterError
from points2sound.models.checkpoint import load_checkpoint
from points2sound.models.loading import load_system
from points2sound.models.systems import Points2SoundNet, SeparationNet, init_from_separation
from points2sound.pipeline.stages import evaluate_separation, pretrain_separation, pretrain_vision
from points2sound.pipeline.stages import train as train_stage
from points2sound.settings.train import separation_config
from points2sound.train.separation import collate_mixtures

HRIR = "sphere_1m"
# sizes of a small test net; every other key (stem, backend, ...) as params.yaml has it
MODEL = load_params(Path(__file__).resolve().parents[1] / "params.yaml", "tiny")["model"]
VISION = {**MODEL["vision"], **{"planes": [8, 8, 16, 16], "layers": [2, 2, 2, 2], "out_channels": 5}}
DEMUCS = {
    **MODEL["demucs"],
    "residual": False,
    "condition_output": True,
    "channels": 4,
    "depth": 2,
    "kernel_size": 8,
    "stride": 4,
    "growth": 2.0,
    "context": 3,
    "lstm_layers": 1,
    "normalize": False,
    "init_std": None,
}


@pytest.fixture(scope="module")
def params(tiny_data) -> dict:
    torch.set_num_threads(1)
    p = load_params(tiny_data / "params.yaml", "tiny")
    p["train"].update(iterations=2, val_every=2, batch_size=2, micro_batch_size=2, device="cpu")
    return p


def test_mixtures_are_reproducible_and_sum_their_sources(params, tiny_data):
    sources = SceneSources.from_dataset(tiny_data / "data/tiny", "train", HRIR, require_renders=False)
    settings = separation_config(params)
    scenes, mixtures = settings.scenes, settings.mixtures
    a = MixtureSampler(sources, 7, scenes, mixtures, augment=True)
    b = MixtureSampler(sources, 7, scenes, mixtures, augment=True)
    seen = set()
    for i in range(8):
        m, again = a[i], b[i]
        assert np.array_equal(m.mono, again.mono) and np.array_equal(m.coords, again.coords)
        n = m.spec.n_sources
        assert 2 <= n <= 3 and m.sources.shape == (n, params["scenes"]["segment_samples"]) and 0 <= m.target < n
        np.testing.assert_allclose(m.mono, m.sources.sum(axis=0), atol=1e-6)
        assert len({s.instrument for s in m.spec.sources}) == n and len(m.coords) > 0
        seen.add(n)
    assert seen == {2, 3}
    batch = collate_mixtures([a[0], a[1]])
    assert batch.mono.shape == batch.target.shape == (2, 1, params["scenes"]["segment_samples"])
    assert torch.equal(batch.target[0, 0], torch.from_numpy(a[0].sources[a[0].target]))


@pytest.mark.parametrize("condition_output", [True, False])
def test_transfer_puts_the_separated_source_in_both_ears(condition_output):
    demucs = {**DEMUCS, "condition_output": condition_output}
    sep = SeparationNet(VISION, demucs, seed=3)
    with torch.no_grad():  # non-trivial weights everywhere
        for p in sep.parameters():
            p.add_(0.05 * torch.randn_like(p))
    p2s = Points2SoundNet(VISION, demucs, loss="full", seed=4)
    widened = init_from_separation(p2s, sep.state_dict(), "all")
    assert any("deconv" in name for name in widened) and all(name.startswith("audio.") for name in widened)
    sep.eval(), p2s.eval()
    rng = np.random.default_rng(0)
    coords = [np.unique(rng.integers(0, 6, (40, 3)), axis=0).astype(np.int32)]
    feats = [rng.random((len(coords[0]), 3)).astype(np.float32)]
    x = torch.randn(1, 1, 800)
    with torch.no_grad():
        one = sep(x, sep.vision.collate(coords, feats))
        two = p2s(x, p2s.vision.collate(coords, feats))
    assert two.shape == (1, 2, 800)
    torch.testing.assert_close(two[:, :1], one)
    torch.testing.assert_close(two[:, 1:], one)


def test_transfer_refuses_another_size():
    sep = SeparationNet(VISION, {**DEMUCS, "channels": 8})
    with pytest.raises(ParameterError, match="another model size"):
        init_from_separation(Points2SoundNet(VISION, DEMUCS), sep.state_dict(), "all")


@pytest.mark.parametrize("rule", ["all_but_output", "encoder"])
def test_transfer_rule_keeps_the_named_blocks_fresh(rule):
    sep = SeparationNet(VISION, DEMUCS, seed=3)
    with torch.no_grad():
        for p in sep.parameters():
            p.add_(0.05 * torch.randn_like(p))
    p2s = Points2SoundNet(VISION, DEMUCS, loss="full", seed=4)
    fresh = {k: v.clone() for k, v in p2s.state_dict().items()}
    assert init_from_separation(p2s, sep.state_dict(), rule) == []  # the widened output layer stays fresh
    last = f"audio.decoder.{len(p2s.audio.decoder) - 1}."
    kept = last if rule == "all_but_output" else "audio.decoder."
    taken = sep.state_dict()
    for name, value in p2s.state_dict().items():
        expected = fresh[name] if name.startswith(kept) else taken[name]
        assert torch.equal(value, expected), name
    assert any(n.startswith(kept) for n in fresh) and any(n.startswith("audio.encoder.") for n in fresh)
    with pytest.raises(ParameterError, match="transfer"):
        init_from_separation(p2s, sep.state_dict(), "half")


@pytest.fixture(scope="module")
def pretrained(tiny_data, params, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pre")
    pretrain_vision.run(params, tiny_data / "data/tiny/shapes", out / "model", out / "live", out / "ckpt", threads=1)
    return out / "model/model.pt"


def test_separation_stages_end_to_end(params, tiny_data, pretrained, tmp_path):
    data = tiny_data / "data/tiny"
    sep = tmp_path / "sep"
    pretrain_separation.run(params, data, pretrained, sep / "model", sep / "live", sep / "ckpt", threads=1)
    summary = json.loads((sep / "live/metrics.json").read_text())
    assert summary["iterations"] == params["pretrain_audio"]["iterations"] and summary["val_l1"] > 0
    blob = load_checkpoint(sep / "model/model.pt", "pretrain_separation")
    assert blob["config"]["sources"] == [2, 3]

    # the variant with init: separation_audio starts from its audio weights, its vision from the vision pre-training
    models = tmp_path / "models"
    for variant, init in (("p2s_rgb", pretrained), ("p2s_audiopt", sep / "model/model.pt")):
        out = tmp_path / variant
        train_stage.run(
            params,
            variant,
            data,
            init,
            models / variant,
            out / "live",
            out / "ckpt",
            threads=1,
            stop_after=None,
            pretrained_vision=pretrained,
        )
    system, saved = load_system(models / "p2s_audiopt/model.pt")
    assert saved["config"]["init"] == "separation_audio"
    with pytest.raises(ParameterError, match="init"):  # a vision checkpoint is not a separation checkpoint
        train_stage.run(
            params, "p2s_audiopt", data, None, tmp_path / "x", tmp_path / "xlive", tmp_path / "xck", threads=1
        )
    with pytest.raises(ParameterError, match="separation_audio.*vision pre-training"):
        train_stage.run(
            params, "p2s_audiopt", data, sep / "model/model.pt", tmp_path / "y", tmp_path / "yl", tmp_path / "yc", 1
        )

    scores = tmp_path / "scores"
    evaluate_separation.run(params, data, sep / "model/model.pt", models, None, scores, threads=1)
    mono = pd.read_csv(scores / "mono.csv")
    per_n = params["pretrain_audio"]["test_mixtures_per_n"]
    assert len(mono) == per_n * (2 + 3) and set(mono.n_sources) == {2, 3}
    assert np.isfinite(mono[["sdr", "sar"]].to_numpy()).all()
    for variant in ("p2s_rgb", "p2s_audiopt"):
        ear = pd.read_csv(scores / f"{variant}_per_ear.csv")
        assert len(ear) == 2 * len(mono) and set(ear.ear) == {"left", "right"}
        assert np.isfinite(ear["sdr"].to_numpy()).all()
