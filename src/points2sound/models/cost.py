"""Multiply-accumulate (MAC) counts of a forward pass, for reporting compute per second of audio.

Counted: convolutions (1D/2D/3D, transposed or not), linear layers and LSTMs; one
MAC per weight use, biases and element-wise operations (activations, norms, gates'
non-linearities, masks) left out as they are a small fraction. Counts cover the whole
batch of the example inputs. Modules called several times are counted every time.
"""

from __future__ import annotations

import math
from typing import Any

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
