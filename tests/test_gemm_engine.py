"""The GEMM inference engine: the module's function to float rounding, windows and int8 within tolerance."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from points2sound.config import load_params
from points2sound.errors import ParameterError
from points2sound.infer.binauralize import Binauralizer, InferenceOptions
from points2sound.infer.gemm_demucs import GemmDemucs, im2col
from points2sound.models.demucs import ConditionedDemucs
from points2sound.models.systems import Mono2BinauralNet, Points2SoundNet

# sizes of a small test net; every other key (stem, backend, ...) as params.yaml has it
MODEL = load_params(Path(__file__).resolve().parents[1] / "params.yaml", "tiny")["model"]
VISION = {**MODEL["vision"], **{"planes": [8, 8, 16, 16], "layers": [1, 1, 1, 1], "out_channels": 4}}


def _demucs(**kw) -> dict:
    return {
        **MODEL["demucs"],
        "residual": False,
        "normalize": False,
        "channels": 8,
        "depth": 3,
        "kernel_size": 8,
        "stride": 4,
        "growth": 2.0,
        "context": 3,
        "lstm_layers": 1,
        "rescale": 0.1,
        "condition_output": False,
        "init_std": None,
        **kw,
    }


def _rel(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.sqrt(np.mean((a - b) ** 2) / np.mean(b**2)))


def _net(**kw) -> ConditionedDemucs:
    # PyTorch's default init with Demucs's rescaling: activations of order one at every level
    return ConditionedDemucs(cond_dim=4, init_std=None, **{"channels": 8, "depth": 3, **kw}).eval()


def _inputs(batch: int, samples: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 1, samples, generator=g), torch.randn(batch, 4, generator=g)


@pytest.mark.parametrize(
    "kw",
    [
        {"lstm_layers": 1},
        {"lstm_layers": 2, "out_channels": 1, "condition_output": False},
        {"lstm_layers": 0, "kernel_size": 5, "stride": 2, "normalize": True},
        {"lstm_layers": 1, "kernel_size": 7, "stride": 3, "context": 5, "growth": 1.5},
    ],
)
@pytest.mark.parametrize("batch", [1, 3])
def test_fp32_engine_is_the_module(kw, batch):
    """Same function as ConditionedDemucs.forward (odd kernels, k not a multiple of the stride,
    normalisation, 1-channel output, batches) up to float rounding."""
    net = _net(**kw)
    x, h = _inputs(batch, 2501)
    with torch.no_grad():
        ref = net(x, h, 2400)
    got = GemmDemucs(net)(x, h, 2400)
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-5 * float(ref.abs().max()))


@given(t=st.integers(8, 40), c=st.integers(1, 5), k=st.integers(1, 6), s=st.integers(1, 4))
@settings(max_examples=40, deadline=None)
def test_im2col_times_weights_is_conv1d(t, c, k, s):
    """im2col's frames times the tap-major weights give F.conv1d."""
    if k > t:
        return
    g = torch.Generator().manual_seed(t * 100 + c * 10 + k)
    x = torch.randn(2, c, t, generator=g, dtype=torch.float64)
    w = torch.randn(3, c, k, generator=g, dtype=torch.float64)
    cols = im2col(x.transpose(1, 2).contiguous(), k, s)
    got = cols @ w.permute(0, 2, 1).reshape(3, -1).t()
    torch.testing.assert_close(got.transpose(1, 2), F.conv1d(x, w, stride=s))


def test_window_covering_the_sequence_is_exact():
    net = _net(lstm_layers=1)
    x, h = _inputs(1, 4000)
    bottom = (net.valid_length(4000) - 8) // 4**3  # about the bottleneck length
    exact = GemmDemucs(net)(x, h)
    torch.testing.assert_close(GemmDemucs(net, lstm_window=4 * bottom, lstm_overlap=2)(x, h), exact, rtol=0, atol=0)


def test_lstm_windows_approach_the_whole_sequence():
    """Windowing only cuts the BiLSTM's context: the difference is small and shrinks as windows grow."""
    net = _net(lstm_layers=1, rescale=None)
    with torch.no_grad():
        net.bottleneck.linear.weight.mul_(300.0)  # make the bottleneck carry a visible share of the output
    x, h = _inputs(2, 64 * 120)
    exact = GemmDemucs(net)(x, h)
    no_lstm = copy.deepcopy(net)
    with torch.no_grad():
        no_lstm.bottleneck.linear.weight.zero_()
        no_lstm.bottleneck.linear.bias.zero_()
    assert _rel(GemmDemucs(no_lstm)(x, h), exact) > 0.05  # the BiLSTM matters here
    errors = [_rel(GemmDemucs(net, lstm_window=w, lstm_overlap=w // 4)(x, h), exact) for w in (8, 24, 64)]
    assert errors[0] < 0.05
    assert errors[2] < errors[0]


def test_int8_close_to_fp32_and_threshold_respected():
    net = _net(lstm_layers=0, channels=16)
    x, h = _inputs(1, 6000)
    exact = GemmDemucs(net)(x, h)
    q_all = GemmDemucs(net, int8_min_inner=1)(x, h)
    assert 0 < _rel(q_all, exact) < 3e-2
    # no GEMM reaches the threshold and there is no BiLSTM: nothing is quantized
    torch.testing.assert_close(GemmDemucs(net, int8_min_inner=10**6)(x, h), exact, rtol=0, atol=0)


def test_binauralizer_gemm_engine_matches_module_paths():
    """Through the runner: whole clip fp32 equals the evaluation's call; windowed files stay close."""
    system = Points2SoundNet(VISION, _demucs(residual=True, normalize=True), seed=5).eval()
    rng = np.random.default_rng(3)
    coords = np.unique(rng.integers(0, 12, (200, 3)), axis=0).astype(np.int32)
    feats = rng.random((len(coords), 3)).astype(np.float32)
    mono = rng.standard_normal(8000 * 4 + 31).astype(np.float32) * 0.1
    with torch.no_grad():
        expected = system.binauralize(torch.from_numpy(mono)[None, None], system.vision.collate([coords], [feats]))[0]
    cfg = {"sample_rate": 8000}
    runner = Binauralizer(system, cfg, InferenceOptions(engine="gemm"))
    got = runner(mono, runner.visual_feature(coords, feats))
    np.testing.assert_allclose(got, expected.numpy(), atol=2e-6 * float(expected.abs().max()), rtol=0)
    fast = Binauralizer(
        system,
        cfg,
        InferenceOptions(
            engine="auto", precision="int8", lstm_window_s=1.0, chunk_s=1.5, overlap_s=0.5, int8_min_inner=1
        ),
    )
    assert isinstance(fast.audio, GemmDemucs) and fast.engine == "gemm"
    assert _rel(fast(mono, fast.visual_feature(coords, feats)), expected.numpy()) < 3e-2


def test_engine_refuses_what_it_cannot_run():
    cfg = {"sample_rate": 8000}
    m2b = Mono2BinauralNet(
        {**VISION, "out_channels": 8},
        {**MODEL["mono2binaural"], "channels": [8, 16, 16], "cond_dim": 8, "clip_s": 0.25, "hop_s": 0.05},
        sample_rate=8000,
    )
    with pytest.raises(ParameterError, match="engine"):
        Binauralizer(m2b, cfg, InferenceOptions(engine="gemm"))
    auto = Binauralizer(m2b, cfg, InferenceOptions(engine="auto"))
    assert not isinstance(auto.audio, GemmDemucs) and auto.engine == "module"
    p2s = Points2SoundNet(VISION, _demucs(depth=2, lstm_layers=0), seed=0)
    with pytest.raises(ParameterError, match="precision"):
        Binauralizer(p2s, cfg, InferenceOptions(engine="gemm", precision="bf16"))
    for bad in ({"engine": "fast"}, {"lstm_window_s": 0.0}, {"lstm_overlap_s": -1.0}, {"int8_min_inner": 0}):
        with pytest.raises(ParameterError, match=next(iter(bad))):
            InferenceOptions(**bad).check()
    with pytest.raises(ParameterError, match="lstm_overlap"):
        GemmDemucs(_net(lstm_layers=1), lstm_window=4, lstm_overlap=4)
