"""Audio networks: conditioned Demucs, L_full / L_diff objectives, Mono2Binaural, MAC counting."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from points2sound.errors import ParameterError
from points2sound.models.cost import count_macs
from points2sound.models.demucs import ConditionedDemucs, parameter_count
from points2sound.models.mono2binaural import Mono2Binaural, StftSpec, complex_mask, istft, stft
from points2sound.models.objectives import (
    difference_target,
    loss_diff,
    loss_full,
    mono_sum,
    recover_from_difference,
)

FAST = settings(max_examples=25, deadline=None)


def tiny_demucs(**kw) -> ConditionedDemucs:
    args = dict(channels=4, depth=3, lstm_layers=1, cond_dim=5, seed=0)
    args.update(kw)
    return ConditionedDemucs(**args)


def fits(length: int, k: int, s: int, c: int, depth: int, target: int) -> bool:
    """Independent simulation of the layer lengths (PyTorch's conv formulas, no padding)."""
    enc = [length]
    for _ in range(depth):
        if enc[-1] < k or (enc[-1] - k) % s:
            return False
        enc.append((enc[-1] - k) // s + 1)
    x = enc[-1]
    for level in reversed(range(depth)):
        if enc[level + 1] < x or x < c:  # skip must cover x; the context conv needs c frames
            return False
        x = (x - c + 1 - 1) * s + k  # context conv, then transposed conv
    return x >= target


# ---------------------------------------------------------------- Demucs lengths


@settings(max_examples=50, deadline=None)
@given(
    k=st.integers(2, 8),
    s=st.integers(1, 4),
    c=st.integers(1, 4),
    depth=st.integers(1, 3),
    target=st.integers(1, 600),
)
@example(k=2, s=1, c=3, depth=2, target=1)  # decoder shrinks: the bottleneck alone is not enough
def test_valid_length_is_smallest_fitting_length(k, s, c, depth, target):
    s = min(s, k)
    net = ConditionedDemucs(channels=2, depth=depth, kernel_size=k, stride=s, context=c, lstm_layers=0, cond_dim=1)
    valid = net.valid_length(target)
    assert valid >= target
    assert fits(valid, k, s, c, depth, target)
    # no shorter length >= target fits
    assert not any(fits(L, k, s, c, depth, target) for L in range(target, valid))


@pytest.fixture(scope="module")
def paper_net() -> ConditionedDemucs:
    """The paper's sizes (64 channels, depth 6, growth 2, K = 16) on the meta device: no memory."""
    with torch.device("meta"):
        return ConditionedDemucs(channels=64, depth=6, growth=2.0, cond_dim=16)


def test_valid_length_paper_sizes(paper_net):
    net = paper_net
    # 4**6 = 4096 samples per bottleneck frame; the decoder's context convs lose
    # 2 * (4 + 16 + ... + 4**6) = 10920 samples, half at each end
    assert net.receptive_offset() == 5460
    for T in [1, 48000, 131072, 441000]:
        L = net.valid_length(T)
        assert fits(L, 8, 4, 3, 6, T) and not fits(L - 4096, 8, 4, 3, 6, T)


@FAST
@given(T=st.integers(1, 3000))
def test_output_length_equals_input_length(T):
    net = tiny_demucs().eval()
    seen = []
    hooks = [b.conv.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[-1])) for b in net.encoder]
    with torch.no_grad():
        y = net(torch.randn(2, 1, T), torch.randn(2, 5))
    for h in hooks:
        h.remove()
    assert y.shape == (2, 2, T)
    assert all((n - 8) % 4 == 0 for n in seen)  # every strided conv covers its input exactly


def test_prepadded_input_gives_same_output_as_zero_padding():
    net = tiny_demucs().eval()
    x, h = torch.randn(1, 1, 777), torch.randn(1, 5)
    pad = net.valid_length(777) - 777
    padded = torch.nn.functional.pad(x, (pad // 2, pad - pad // 2))
    with torch.no_grad():
        assert torch.equal(net(x, h), net(padded, h, length=777))


def test_output_is_aligned_with_input():
    # one level, kernel == stride == 4, context 3: encoder frame f covers input block f;
    # the context conv mixes frames f-1..f+1, so an impulse must change exactly the
    # output blocks before, at and after its own block if padding and trimming align
    net = ConditionedDemucs(
        channels=16, depth=1, kernel_size=4, stride=4, context=3, lstm_layers=0, cond_dim=2, rescale=None, init_std=None
    ).eval()
    assert net.valid_length(64) == 72  # 4 samples of zero padding at each end
    x, h = torch.zeros(1, 1, 64), torch.zeros(1, 2)
    with torch.no_grad():
        base = net(x, h)
        x[0, 0, 37] = 1.0  # block 9 = samples 36..39
        changed = (net(x, h) - base).abs().sum(dim=1)[0]
    assert torch.nonzero(changed).flatten().tolist() == list(range(32, 44))


# ---------------------------------------------------------------- Demucs conditioning


def test_conditioning_changes_output():
    net = tiny_demucs().eval()
    x = torch.randn(1, 1, 500)
    with torch.no_grad():
        a = net(x, torch.randn(1, 5))
        b = net(x, torch.randn(1, 5))
    assert (a - b).abs().max() > 1e-4


def test_zero_projections_make_h_irrelevant():
    net = tiny_demucs().eval()
    for name, p in net.named_parameters():
        if "cond" in name:
            p.data.zero_()
    x = torch.randn(1, 1, 500)
    with torch.no_grad():
        assert torch.equal(net(x, torch.randn(1, 5)), net(x, 10 * torch.randn(1, 5)))


def test_gradients_reach_every_projection():
    # The rescaled first conv is small next to its bias: a unit-variance input can leave all four
    # ReLUs of the tiny net off (no gradient, correctly), so drive it with a louder input.
    torch.manual_seed(0)
    net = tiny_demucs()
    x, h = 10 * torch.randn(2, 1, 400), torch.randn(2, 5)
    loss_full(net(x, h), torch.randn(2, 2, 400)).backward()
    cond = {n: p.grad for n, p in net.named_parameters() if "cond" in n}
    assert len(cond) == 2 * 3 + 2 * 3  # two per encoder block and two per decoder block
    assert all(g is not None and g.abs().sum() > 0 for g in cond.values())


def test_reference_code_variant_has_no_output_projection():
    net = tiny_demucs(condition_output=False)
    assert net.decoder[-1].cond2 is None and net.decoder[0].cond2 is not None


def test_normalize_makes_output_scale_equivariant():
    net = tiny_demucs(normalize=True).eval()
    x, h = torch.randn(1, 1, 300, dtype=torch.float64), torch.randn(1, 5, dtype=torch.float64)
    net = net.double()
    with torch.no_grad():
        assert torch.allclose(net(7.0 * x, h), 7.0 * net(x, h), atol=1e-10)


def test_seed_determines_weights_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = tiny_demucs(seed=3), tiny_demucs(seed=3), tiny_demucs(seed=4)
    assert torch.equal(torch.rand(1), before)
    x, h = torch.randn(1, 1, 300), torch.randn(1, 5)
    with torch.no_grad():
        assert torch.equal(a(x, h), b(x, h))
        assert not torch.equal(a(x, h), c(x, h))


def test_bad_shapes_raise_parameter_errors():
    net = tiny_demucs()
    with pytest.raises(ParameterError):
        net(torch.randn(1, 2, 100), torch.randn(1, 5))
    with pytest.raises(ParameterError):
        net(torch.randn(1, 1, 100), torch.randn(1, 4))
    with pytest.raises(ParameterError):
        ConditionedDemucs(kernel_size=4, stride=8)


def test_few_steps_reduce_loss_diff():
    net = tiny_demucs(out_channels=1, channels=8)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    x, h = torch.randn(4, 1, 512, generator=g), torch.randn(4, 5, generator=g)
    binaural = torch.cat([0.75 * x, 0.25 * x], dim=1)  # learnable: L - R = s_m / 2
    losses = []
    for _ in range(40):
        loss = loss_diff(net(x, h), binaural)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.85 * losses[0]


# ---------------------------------------------------------------- paper-size parameters


def hand_count(widths, cond=16, out=2, k=8, ctx=3, lstm_layers=2) -> int:
    """Parameter count of the paper's net from the layer definitions (weights + biases)."""
    total, c_in = 0, 1
    for i, C in enumerate(widths):
        total += k * c_in * C + C + C * 2 * C + 2 * C + cond * (C + 2 * C)  # encoder block
        c_out = out if i == 0 else c_in
        total += ctx * C * 2 * C + 2 * C + C * c_out * k + c_out + cond * (2 * C + c_out)  # decoder
        c_in = C
    C = widths[-1]
    for layer in range(lstm_layers):
        layer_in = C if layer == 0 else 2 * C
        total += 2 * (4 * C * (layer_in + C) + 8 * C)  # two directions, two bias vectors
    return total + 2 * C * C + C  # linear back to C channels


def test_paper_size_parameter_count_about_266m(paper_net):
    net = paper_net
    assert net.widths == [64, 128, 256, 512, 1024, 2048]  # growth 2 doubles per level
    n = parameter_count(net)
    assert n == hand_count(net.widths)
    assert abs(n - 266e6) / 266e6 < 0.005  # the paper: "about 266 M"


# ---------------------------------------------------------------- objectives


def test_recover_from_difference_round_trips_exactly():
    g = torch.Generator().manual_seed(1)
    binaural = torch.randint(-64, 64, (3, 2, 200), generator=g).float() / 8  # exact in float
    rebuilt = recover_from_difference(mono_sum(binaural), difference_target(binaural))
    assert torch.equal(rebuilt, binaural)


def test_losses_against_hand_computation():
    pred = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    target = torch.tensor([[[0.0, 2.0], [5.0, 4.0]]])
    assert loss_full(pred, target).item() == pytest.approx((1 + 0 + 2 + 0) / 4)
    # target L - R = [-5, -2]
    assert loss_diff(torch.tensor([[[-4.0, -2.0]]]), target).item() == pytest.approx(0.5)


# ---------------------------------------------------------------- Mono2Binaural


def tiny_m2b(sr=8000, **kw) -> Mono2Binaural:
    args = dict(cond_dim=3, channels=(4, 8, 8), seed=0)
    args.update(kw)
    return Mono2Binaural(sr, **args)


def test_stft_sizes_follow_the_paper():
    assert StftSpec.from_durations(44100) == StftSpec(n_fft=1024, win_length=1014, hop_length=441)
    assert StftSpec.from_durations(16000) == StftSpec(n_fft=512, win_length=368, hop_length=160)
    # 0.63 s clips give 64 frames, which halve evenly five times in the U-Net
    assert StftSpec.from_durations(44100).frames(round(0.63 * 44100)) == 64


def test_stft_round_trip_and_tone_bin():
    spec = StftSpec.from_durations(16000)
    t = torch.arange(7001, dtype=torch.float64) / 16000
    x = torch.stack([torch.sin(2 * math.pi * 1000 * t), torch.randn(7001, dtype=torch.float64)])
    X = stft(x, spec)
    assert X.shape == (2, 2, 257, 7001 // 160 + 1)
    assert torch.allclose(istft(X, spec, 7001), x, atol=1e-9)
    power = X[0, 0] ** 2 + X[0, 1] ** 2
    assert int(power[:, 20].argmax()) == 32  # 1000 Hz * 512 / 16000


def test_complex_mask_is_complex_product():
    g = torch.Generator().manual_seed(2)
    s, m = torch.randn(2, 2, 5, 6, generator=g), torch.randn(2, 2, 5, 6, generator=g)
    out = complex_mask(s, m)
    expected = torch.complex(s[:, 0], s[:, 1]) * torch.complex(m[:, 0], m[:, 1])
    assert torch.allclose(out[:, 0], expected.real) and torch.allclose(out[:, 1], expected.imag)


def test_mask_is_bounded_and_shapes_match():
    net = tiny_m2b().eval()
    mono = 100 * torch.randn(2, 1, 5040)
    h = torch.randn(2, 3)
    with torch.no_grad():
        mono_spec = stft(mono[:, 0], net.spec)
        mask = net.mask(mono_spec, h)
        pred = net(mono, h)
    assert mask.abs().max() <= 1.0
    assert mask.shape == (2, 2, net.spec.n_fft // 2, mono_spec.shape[-1])
    assert pred.shape == mono_spec.shape and torch.all(pred[:, :, -1] == 0)


def test_zero_mask_gives_half_mono_in_both_ears():
    net = tiny_m2b().eval()
    last = net.up[-1]
    last.weight.data.zero_()
    last.bias.data.zero_()
    mono = torch.randn(1, 1, 9000)
    out = net.binauralize(mono, torch.randn(1, 3), clip_samples=5040, hop_samples=400)
    assert torch.allclose(out[:, 0], mono[:, 0] / 2, atol=1e-7)
    assert torch.allclose(out[:, 1], mono[:, 0] / 2, atol=1e-7)


@FAST
@given(T=st.integers(200, 12000))
def test_sliding_window_output_length(T):
    net = tiny_m2b().eval()
    out = net.binauralize(torch.randn(2, 1, T), torch.randn(2, 3), clip_samples=5040, hop_samples=1600)
    assert out.shape == (2, 2, T) and torch.isfinite(out).all()


def test_single_window_equals_direct_prediction():
    net = tiny_m2b().eval()
    mono, h = torch.randn(2, 1, 5040), torch.randn(2, 3)
    with torch.no_grad():
        direct = recover_from_difference(mono, net.predict_difference(mono, h))
    assert torch.allclose(net.binauralize(mono, h, 5040, 400), direct, atol=1e-6)


def test_overlapping_windows_are_averaged():
    net = tiny_m2b().eval()
    clip, hop = 5040, 400
    mono, h = torch.randn(1, 1, clip + hop), torch.randn(1, 3)
    with torch.no_grad():
        d0 = net.predict_difference(mono[:, :, :clip], h)
        d1 = net.predict_difference(mono[:, :, hop:], h)
    d = torch.zeros(1, 1, clip + hop)
    d[..., :hop] = d0[..., :hop]
    d[..., hop:clip] = (d0[..., hop:] + d1[..., : clip - hop]) / 2
    d[..., clip:] = d1[..., clip - hop :]
    expected = torch.cat([(mono + d) / 2, (mono - d) / 2], dim=1)
    assert torch.allclose(net.binauralize(mono, h, clip, hop), expected, atol=1e-6)


def test_m2b_loss_zero_for_true_spectrogram_and_training_reduces_it():
    net = tiny_m2b()
    g = torch.Generator().manual_seed(3)
    binaural = torch.randn(4, 2, 5040, generator=g)
    true_spec = net.difference_spectrogram(binaural)
    assert net.loss(true_spec, binaural).item() == 0.0
    # the loss is the MSE against the STFT of L - R (Nyquist bin left out)
    pred = torch.zeros_like(true_spec)
    assert net.loss(pred, binaural).item() == pytest.approx((true_spec[:, :, :-1] ** 2).mean().item())
    mono, h = mono_sum(binaural), torch.randn(4, 3, generator=g)
    # a learnable target: L - R = 0.5 * s_m, i.e. a constant real mask of 0.5
    binaural = torch.cat([0.75 * mono, 0.25 * mono], dim=1)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = net.loss(net(mono, h), binaural)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_m2b_seed_determinism():
    a, b, c = tiny_m2b(seed=5).eval(), tiny_m2b(seed=5).eval(), tiny_m2b(seed=6).eval()
    mono, h = torch.randn(1, 1, 3000), torch.randn(1, 3)
    with torch.no_grad():
        assert torch.equal(a(mono, h), b(mono, h))
        assert not torch.equal(a(mono, h), c(mono, h))


# ---------------------------------------------------------------- MAC counting


def test_count_macs_conv_and_linear_by_hand():
    model = nn.Sequential(nn.Conv1d(2, 3, kernel_size=5, stride=2), nn.Linear(8, 4))
    # conv: output (2, 3, 8); each output value uses 2 * 5 weights -> 2*3*8*10 = 480
    # linear: 2*3 rows of 8 -> 4 -> 6 * 32 = 192
    assert count_macs(model, (torch.randn(2, 2, 20),)) == 480 + 192


def test_count_macs_transposed_conv_and_lstm_by_hand():
    deconv = nn.ConvTranspose1d(3, 2, kernel_size=4, stride=2)
    assert count_macs(deconv, torch.randn(1, 3, 10)) == 10 * 3 * 2 * 4
    lstm = nn.LSTM(6, 5, num_layers=2, bidirectional=True, batch_first=True)
    steps = 2 * 7
    expected = steps * 2 * (4 * 5 * (6 + 5) + 4 * 5 * (10 + 5))
    assert count_macs(lstm, torch.randn(2, 7, 6)) == expected


def test_count_macs_of_demucs_matches_layer_sum():
    net = tiny_demucs().eval()
    T = 1000
    L = net.valid_length(T)
    macs = count_macs(net, (torch.randn(1, 1, T), torch.randn(1, 5)))
    # independent lower bound: the first encoder conv alone has (L - 8) / 4 + 1 frames x 4 ch x 8 taps
    first = ((L - 8) // 4 + 1) * 4 * 8
    assert macs > first
    # doubling the batch doubles the count
    assert count_macs(net, (torch.randn(2, 1, T), torch.randn(2, 5))) == 2 * macs


def test_stft_frame_matches_numpy_fft():  # guards the STFT convention (window centring, padding)
    spec = StftSpec.from_durations(8000)
    x = np.random.default_rng(0).standard_normal(4000)
    ours = stft(torch.from_numpy(x)[None], spec)[0]
    win = np.hanning(spec.win_length + 1)[:-1]  # periodic Hann
    win = np.pad(win, ((spec.n_fft - spec.win_length) // 2, (spec.n_fft - spec.win_length + 1) // 2))
    padded = np.pad(x, spec.n_fft // 2)
    frame = padded[spec.hop_length * 3 : spec.hop_length * 3 + spec.n_fft] * win
    ref = np.fft.rfft(frame)
    assert np.allclose(ours[0, :, 3].numpy(), ref.real, atol=1e-8)
    assert np.allclose(ours[1, :, 3].numpy(), ref.imag, atol=1e-8)
