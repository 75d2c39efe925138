"""Audio network costs: MACs against a hand count, parameters, scaling with duration, the CLI."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from points2sound.cli import main
from points2sound.config import load_params
from points2sound.models.cost import (
    COST_COLUMNS,
    DEMUCS_FULL,
    DEMUCS_ONE,
    MONO2BINAURAL,
    audio_network_costs,
    audio_networks,
    count_macs,
    forward_cost,
)
from points2sound.models.demucs import ConditionedDemucs


@pytest.fixture(scope="module")
def tiny():
    return load_params("params.yaml", "tiny")


def test_macs_of_a_one_level_demucs_match_a_hand_count():
    c, k, s, ctx, d, out = 4, 8, 4, 3, 2, 1
    net = ConditionedDemucs(
        in_channels=1,
        out_channels=out,
        channels=c,
        depth=1,
        kernel_size=k,
        stride=s,
        context=ctx,
        lstm_layers=0,
        cond_dim=d,
        condition_output=True,
    )
    samples = 1000
    v = net.valid_length(samples)  # the input is zero-padded to this length
    l1 = (v - k) // s + 1  # encoder conv output frames
    l2 = l1 - ctx + 1  # decoder context conv output frames
    hand = (
        l1 * c * k * 1  # encoder Conv1d(1, c, k, s): k products per output value
        + l1 * 2 * c * c  # encoder 1x1 Conv1d(c, 2c)
        + c * d
        + 2 * c * d  # encoder V projections of h (batch 1)
        + l2 * 2 * c * c * ctx  # decoder Conv1d(c, 2c, context)
        + 2 * c * d  # decoder V_1
        + c * l2 * out * k  # ConvTranspose1d(c, out, k, s): each input value to out * k outputs
        + out * d
    )  # decoder V_2 (condition_output)
    assert count_macs(net, (torch.zeros(1, 1, samples), torch.zeros(1, d))) == hand
    # one layer alone, by the textbook formula: outputs x in_channels x kernel
    conv = torch.nn.Conv1d(3, 5, 7, 2)
    assert count_macs(conv, torch.zeros(1, 3, 101)) == 5 * ((101 - 7) // 2 + 1) * 3 * 7


def test_parameters_are_the_sum_of_numel_and_meta_counts_equal_cpu(tiny):
    sr = tiny["audio"]["sample_rate"]
    meta = audio_network_costs({"tiny": tiny["model"]}, sr, seconds=0.25, device="meta")
    cpu = audio_network_costs({"tiny": tiny["model"]}, sr, seconds=0.25, device="cpu")
    pd.testing.assert_frame_equal(meta, cpu)
    meta = audio_network_costs({"tiny": tiny["model"]}, sr)  # auto: CPU for small networks
    assert list(meta.columns) == list(COST_COLUMNS)
    assert meta["network"].tolist() == [DEMUCS_FULL, DEMUCS_ONE, MONO2BINAURAL]
    nets = audio_networks(tiny["model"], sr)
    assert meta["parameters"].tolist() == [sum(p.numel() for p in n.net.parameters()) for n in nets]
    # one output channel fewer: the last transposed conv loses in_channels * kernel weights and one bias
    demucs = tiny["model"]["demucs"]
    assert meta["parameters"][0] - meta["parameters"][1] == demucs["channels"] * demucs["kernel_size"] + 1
    assert meta["cond_dim"].tolist() == [tiny["model"]["vision"]["out_channels"]] * 2 + [
        tiny["model"]["mono2binaural"]["cond_dim"]
    ]
    _, macs = forward_cost(nets[0].net, nets[0].cond_dim, sr)
    assert meta["gmacs_per_s"][0] == pytest.approx(macs / 1e9)
    assert meta["gmacs_per_s_test"][0] == meta["gmacs_per_s"][0]


def test_macs_scale_linearly_with_duration(tiny):
    """Demucs: MACs are affine in the length (the input is padded to a valid length, at most
    stride**depth = 64 samples more, and the unpadded kernels add a fixed overhang), so 2 s
    cost twice 1 s to within 1 % at 8 kHz. Mono2Binaural pads its STFT frames to a multiple
    of 2**levels; on lengths that are already multiples the count is exactly linear."""
    sr = tiny["audio"]["sample_rate"]
    one = audio_network_costs({"t": tiny["model"]}, sr, seconds=1.0)
    two = audio_network_costs({"t": tiny["model"]}, sr, seconds=2.0)
    ratio = two["gmacs_per_s"] / one["gmacs_per_s"]  # per-second rates: 1.0 when linear
    assert ratio[:2].tolist() == pytest.approx([1.0, 1.0], abs=0.01)
    m2b = audio_networks(tiny["model"], sr)[2].net
    unit, hop = 2 ** len(m2b.channels), m2b.spec.hop_length
    frames = lambda n: (n * unit - 1) * hop  # samples whose centred STFT has n * unit frames  # noqa: E731
    macs = [forward_cost(m2b, m2b.cond_dim, frames(n))[1] for n in (1, 2, 3)]
    assert macs[1] == 2 * macs[0] and macs[2] == 3 * macs[0]


def test_per_profile_sample_rates_and_test_window(tiny):
    df = audio_network_costs({"a": tiny["model"], "b": tiny["model"]}, {"a": 8000, "b": 16000}, seconds=0.5)
    assert df["profile"].tolist() == ["a"] * 3 + ["b"] * 3
    assert df["sample_rate"].tolist() == [8000] * 3 + [16000] * 3
    assert (df["parameters"][df["network"] != MONO2BINAURAL].nunique()) == 2  # Demucs sizes do not depend on the rate
    m2b = df[df["network"] == MONO2BINAURAL].iloc[1]
    cfg = tiny["model"]["mono2binaural"]
    net = audio_networks(tiny["model"], 16000)[2]
    _, window = forward_cost(net.net, net.cond_dim, round(cfg["clip_s"] * 16000))
    assert m2b["gmacs_per_s_test"] == pytest.approx(window / 1e9 / cfg["hop_s"])
    assert f"{cfg['clip_s']:g} s windows every {cfg['hop_s']:g} s" in m2b["note"]


def test_cli_writes_the_active_and_paper_profiles(tmp_path, capsys):
    out = tmp_path / "costs" / "audio_costs.csv"
    assert main(["audio-costs", "--profile", "tiny", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert df["profile"].tolist() == ["tiny"] * 3 + ["paper"] * 3
    assert df["sample_rate"].tolist() == [8000] * 3 + [44100] * 3
    paper_full = df[(df["profile"] == "paper") & (df["network"] == DEMUCS_FULL)].iloc[0]
    assert 2.6e8 < paper_full["parameters"] < 2.7e8  # the paper's ~266 M Demucs
    assert "Mono2Binaural U-Net" in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["audio_costs.csv"]  # no temporary left behind
