"""int8 dynamic quantization (fbgemm): weights int8, activations quantized per call, CPU only.

One place for the torch.ao calls, which are deprecated in favour of torchao and warn on
import; both inference paths (the module's and the GEMM engine's) use them.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


def quantize_lstm_linear(module: nn.Module) -> nn.Module:
    """`module` with its LSTM and Linear layers replaced by int8 dynamic ones (per-tensor weights)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(module, {nn.LSTM, nn.Linear}, dtype=torch.qint8)


def int8_linear(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Module:
    """A dynamic int8 Linear holding `weight` (N, K) with per-output-channel weight scales."""
    lin = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        lin.weight.copy_(weight)
        if bias is not None:
            lin.bias.copy_(bias)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        return quantize_dynamic(nn.Sequential(lin), {nn.Linear: per_channel_dynamic_qconfig})[0]
