"""Multiply-accumulate (MAC) counts of a forward pass, for reporting compute per second of audio.

Counted: convolutions (1D/2D/3D, transposed or not), linear layers and LSTMs; one
MAC per weight use, biases and element-wise operations (activations, norms, gates'
non-linearities, masks) left out as they are a small fraction. Counts cover the whole
batch of the example inputs. Modules called several times are counted every time.
STFTs (Mono2Binaural's front and back end) are left out too: they are not weights.

`audio_network_costs` tabulates the audio networks' parameters and GMACs per second
of audio, as V-SlowFast reports its audio costs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from torch import nn

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_T = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _conv_macs(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    # every output value takes (in_channels / groups) * prod(kernel) products
    per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
    return output.numel() * per_output


def _conv_t_macs(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    # every input value is scattered to (out_channels / groups) * prod(kernel) outputs
    per_input = module.out_channels // module.groups * math.prod(module.kernel_size)
    return inputs[0].numel() * per_input


def _linear_macs(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    return output.numel() * module.in_features


def _lstm_macs(module: nn.Module, inputs: tuple, output: Any) -> int:
    x = inputs[0]
    if isinstance(x, nn.utils.rnn.PackedSequence):
        steps = int(x.data.shape[0])  # total valid time steps over the batch
    else:
        steps = x.shape[0] * x.shape[1] if x.dim() == 3 else x.shape[0]
    directions = 2 if module.bidirectional else 1
    hidden, proj = module.hidden_size, module.proj_size or module.hidden_size
    total = 0
    for layer in range(module.num_layers):
        layer_in = module.input_size if layer == 0 else proj * directions
        # four gates, each a product with the input and the recurrent state
        per_step = 4 * hidden * (layer_in + proj) + (hidden * proj if module.proj_size else 0)
        total += steps * per_step * directions
    return total


def count_macs(model: nn.Module, example_inputs: tuple | list | torch.Tensor) -> int:
    """MACs of one forward pass of `model(*example_inputs)` (no gradients, hooks removed after)."""
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    total = 0

    def hook(counter):
        def run(module, inputs, output):
            nonlocal total
            total += int(counter(module, inputs, output))

        return run

    handles = []
    for module in model.modules():
        if isinstance(module, _CONV):
            handles.append(module.register_forward_hook(hook(_conv_macs)))
        elif isinstance(module, _CONV_T):
            handles.append(module.register_forward_hook(hook(_conv_t_macs)))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(hook(_linear_macs)))
        elif isinstance(module, nn.LSTM):
            handles.append(module.register_forward_hook(hook(_lstm_macs)))
    try:
        with torch.no_grad():
            model(*example_inputs)
    finally:
        for handle in handles:
            handle.remove()
    return total


# ---------------------------------------------------------------------------
# Audio networks: parameters and MACs per second of audio (as V-SlowFast reports them)
# ---------------------------------------------------------------------------

DEMUCS_FULL = "Points2Sound Demucs, L_full (2 channels out)"
DEMUCS_ONE = "Points2Sound Demucs, L_diff and separation (1 channel out)"
MONO2BINAURAL = "Mono2Binaural U-Net"
META_ABOVE_PARAMETERS = 10_000_000  # device="auto": count networks this large on the meta device
COST_COLUMNS = (
    "profile",
    "network",
    "sample_rate",
    "parameters",
    "gmacs_per_s",
    "gmacs_per_s_test",
    "cond_dim",
    "note",
)


@dataclass
class AudioNetwork:
    """One audio network and how the test stage runs it: whole clips, or windows every hop_s."""

    label: str
    net: nn.Module
    cond_dim: int
    window_s: float | None = None  # None: one pass over the whole clip
    hop_s: float | None = None


def audio_networks(model: Mapping[str, Any], sample_rate: int) -> list[AudioNetwork]:
    """The audio networks of one `model` section: both Demucs output sizes and Mono2Binaural.

    Built with the same constructors and arguments as models/systems.py, so the sizes are
    those that train; the weights are whatever the constructors draw (they do not matter here).
    """
    from .mono2binaural import Mono2Binaural
    from .systems import build_demucs

    k = int(model["vision"]["out_channels"])
    m2b = model["mono2binaural"]
    cond = int(m2b["cond_dim"])
    return [
        AudioNetwork(DEMUCS_FULL, build_demucs(model["demucs"], 2, k, seed=0), k),
        AudioNetwork(DEMUCS_ONE, build_demucs(model["demucs"], 1, k, seed=0), k),
        AudioNetwork(
            MONO2BINAURAL,
            Mono2Binaural(sample_rate, cond_dim=cond, channels=tuple(m2b["channels"]), init_std=m2b["init_std"]),
            cond,
            float(m2b["clip_s"]),
            float(m2b["hop_s"]),
        ),
    ]


def forward_cost(net: nn.Module, cond_dim: int, samples: int) -> tuple[int, int]:
    """(parameters, MACs) of one forward pass of an audio network on `samples` of mono audio, batch 1.

    Inputs are zeros (MACs do not depend on values); the conditioning vector too.
    """
    device = next(net.parameters()).device
    mono = torch.zeros(1, 1, int(samples), device=device)
    h = torch.zeros(1, int(cond_dim), device=device)
    return sum(p.numel() for p in net.parameters()), count_macs(net, (mono, h))


def _cost_row(network: AudioNetwork, rate: int, seconds: float) -> dict[str, Any]:
    samples = max(1, round(seconds * rate))
    params, macs = forward_cost(network.net, network.cond_dim, samples)
    per_s = macs / 1e9 / (samples / rate)
    if network.window_s is None:
        per_s_test, note = per_s, "test: one pass over the whole clip"
    else:
        # a long clip at test: a window of window_s starts every hop_s
        _, window_macs = forward_cost(network.net, network.cond_dim, max(1, round(network.window_s * rate)))
        per_s_test = window_macs / 1e9 / network.hop_s
        note = f"test: {network.window_s:g} s windows every {network.hop_s:g} s"
    return {
        "network": network.label,
        "sample_rate": rate,
        "parameters": params,
        "gmacs_per_s": per_s,
        "gmacs_per_s_test": per_s_test,
        "cond_dim": network.cond_dim,
        "note": note,
    }


def audio_network_costs(
    model_sections: Mapping[str, Mapping[str, Any]],
    sample_rate: int | Mapping[str, int],
    seconds: float = 1.0,
    device: str = "auto",
) -> pd.DataFrame:
    """Parameters and GMACs per second of audio of each audio network of each profile.

    `model_sections` maps a profile label to that profile's resolved `model` section;
    `sample_rate` is one rate for all, or one per label (each profile at its own rate).
    Columns (COST_COLUMNS): gmacs_per_s = MACs of one forward pass on `seconds` of mono
    audio, batch 1, / 1e9 / seconds (the conditioning vector is zeros);
    gmacs_per_s_test = the same per second of a long clip as the test stage runs it (Demucs:
    one pass, the same number; Mono2Binaural: its sliding window, which processes
    window_s / hop_s seconds of audio per second). `device`: "meta" builds and runs the
    networks without memory or arithmetic (shapes only), "cpu" for real; "auto" picks per
    profile (see `_built`). Both give the same counts.
    """
    rows = []
    for profile, model in model_sections.items():
        rate = int(sample_rate[profile] if isinstance(sample_rate, Mapping) else sample_rate)
        for network in _built(model, rate, device):
            rows.append({"profile": profile, **_cost_row(network, rate, seconds)})
    return pd.DataFrame(rows, columns=list(COST_COLUMNS))


def _built(model: Mapping[str, Any], rate: int, device: str) -> list[AudioNetwork]:
    """The networks on `device`; "auto": meta for large ones, else CPU.

    Why both: meta holds no memory (the paper's Demucs needs 1 GB on CPU), but PyTorch runs
    an LSTM on meta step by step in Python, which is slow for the long bottlenecks of the
    small shallow networks, which are cheap on CPU. The counts are the same on both.
    """
    with torch.device("meta"):
        networks = audio_networks(model, rate)
    if device == "auto":
        largest = max(sum(p.numel() for p in n.net.parameters()) for n in networks)
        device = "meta" if largest >= META_ABOVE_PARAMETERS else "cpu"
    if device != "meta":
        with torch.device(device):
            networks = audio_networks(model, rate)
    return networks
