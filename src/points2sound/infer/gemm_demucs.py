"""An inference engine for a trained ConditionedDemucs: every convolution as one matrix product.

Why a second forward: on a 2-core CPU the module's own forward spends most of its time
where the arithmetic is not (the paper-size model, 10 s at 44.1 kHz: 2.4 s, of which
1.5 s is the BiLSTM at batch 1 reading its 2048-wide recurrent weights 109 times, and
0.36 s is transposed convolutions that oneDNN runs at a third of the GEMM rate). Here

- activations are channels-last (B, T, C), so a strided convolution of kernel k is one
  GEMM over an im2col copy (a window of k frames is k*C contiguous values), and a
  transposed convolution is one GEMM followed by an overlap-add of its k taps;
- the conditioning V h joins the bias of the GEMM, so a block costs its GEMMs and one
  activation pass;
- optionally (`int8_min_inner`), GEMMs with an inner size of at least that many
  features run as int8 dynamic quantization (fbgemm; per-output-channel weights,
  activations quantized per call), and the BiLSTM and its linear map too. Small inner
  sizes stay fp32: there int8 is not faster on AVX2 (benchmarks/bench_inference.py);
- optionally (`lstm_window`), the BiLSTM runs on overlapping windows of the bottleneck
  sequence batched together, so it takes window-many sequential steps instead of T
  (the convolutions still see the whole clip, so this is the only approximation, and
  the recurrence never sees more context than a training clip gave it anyway).

With fp32 and no window the engine computes the module's function (tested to float
rounding); the weights are read from the module once, at construction.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ParameterError
from ..models.demucs import ConditionedDemucs, centre_trim
from .quantize import int8_linear, quantize_lstm_linear
from .windows import ChunkPlan


class _Gemm:
    """y = x @ W^T + b (+ a per-item bias), x (B, T, K) -> (B, T, N); fp32 or int8."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, int8_min_inner: int | None):
        weight = weight.detach().float()
        self.int8 = int8_min_inner is not None and weight.shape[1] >= int8_min_inner
        self.bias = None if bias is None else bias.detach().float().clone()
        if self.int8:
            self.q = int8_linear(weight, self.bias)
        else:
            self.wt = weight.t().contiguous()  # (K, N)

    def __call__(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, K) contiguous; extra (B, N) or None: a bias per batch item (the conditioning)."""
        b, t, k = x.shape
        flat = x.reshape(b * t, k)
        if self.int8:
            y = self.q(flat).view(b, t, -1)
            return y if extra is None else y.add_(extra[:, None, :])
        if b == 1 and (extra is not None or self.bias is not None):
            bias = self.bias if extra is None else (extra[0] if self.bias is None else self.bias + extra[0])
            return torch.addmm(bias, flat, self.wt).view(b, t, -1)
        y = (flat @ self.wt).view(b, t, -1)
        if self.bias is not None:
            y.add_(self.bias)
        return y if extra is None else y.add_(extra[:, None, :])


def im2col(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """(B, T, C) -> (B, T_out, kernel * C): the frames a strided convolution sees, tap-major."""
    b, t, c = x.shape
    if kernel == 1 and stride == 1:
        return x
    x = x.contiguous()
    t_out = (t - kernel) // stride + 1
    if t_out < 1:
        raise ParameterError("length", f"{t} frames are fewer than the kernel's {kernel}")
    return x.as_strided((b, t_out, kernel * c), (t * c, stride * c, 1)).contiguous()


class _Conv:
    """Conv1d(c_in, c_out, k, s) on channels-last input: im2col, then one GEMM."""

    def __init__(self, conv: nn.Conv1d, int8_min_inner: int | None):
        w = conv.weight.detach()  # (C_out, C_in, k)
        self.kernel, self.stride = conv.kernel_size[0], conv.stride[0]
        self.gemm = _Gemm(w.permute(0, 2, 1).reshape(w.shape[0], -1), conv.bias, int8_min_inner)

    def __call__(self, x: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
        return self.gemm(im2col(x, self.kernel, self.stride), extra)


class _ConvTranspose:
    """ConvTranspose1d(c_in, c_out, k, s) on channels-last input: one GEMM to the k taps, then overlap-add.

    The taps are zero-padded to q * s (q = ceil(k / s)), so output frame f of s samples
    sums tap block r of input frame f - r, for r < q.
    """

    def __init__(self, deconv: nn.ConvTranspose1d, int8_min_inner: int | None):
        w = deconv.weight.detach()  # (C_in, C_out, k)
        c_in, c_out, k = w.shape
        s = deconv.stride[0]
        self.kernel, self.stride, self.c_out = k, s, c_out
        self.blocks = -(-k // s)
        w = F.pad(w, (0, self.blocks * s - k))  # (C_in, C_out, q * s)
        self.gemm = _Gemm(w.permute(2, 1, 0).reshape(-1, c_in), None, int8_min_inner)  # rows: (tap, c_out)
        self.bias = None if deconv.bias is None else deconv.bias.detach().float().clone()

    def __call__(self, x: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
        b, t, _ = x.shape
        q, s, c = self.blocks, self.stride, self.c_out
        y = self.gemm(x).view(b, t, q, s * c)
        out = y.new_zeros(b, t + q - 1, s * c)
        for r in range(q):
            out[:, r : r + t] += y[:, :, r]
        out = out.view(b, (t + q - 1) * s, c)[:, : (t - 1) * s + self.kernel]
        bias = self.bias
        if extra is not None:
            bias = extra[:, None, :] if bias is None else bias + extra[:, None, :]
        return out if bias is None else out.add_(bias)


class _Bottleneck:
    """The BiLSTM and its linear map on (B, T, C), optionally on batched overlapping windows of T."""

    def __init__(self, module: nn.Module, int8: bool, window: int | None, overlap: int):
        self.identity = not hasattr(module, "lstm")
        if self.identity:
            return
        module = copy.deepcopy(module).float().eval()
        if int8:
            module = quantize_lstm_linear(module)
        self.lstm, self.linear = module.lstm, module.linear
        if window is not None and window < 1:
            raise ParameterError("lstm_window", f"must be >= 1 frame, got {window}")
        if window is not None and not 0 <= overlap < window:
            raise ParameterError("lstm_overlap", f"must be in [0, window={window}), got {overlap}")
        self.window, self.overlap = window, overlap

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x)
        return self.linear(y)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.identity:
            return x
        b, t, c = x.shape
        if self.window is None or t <= self.window:
            return self._run(x)
        hop = self.window - self.overlap
        starts = list(range(0, t - self.window, hop)) + [t - self.window]  # the last one ends at t
        plan = ChunkPlan(t, self.window, tuple(starts), self.overlap)
        windows = torch.stack([x[:, s : s + self.window] for s in starts], 1)  # (B, n, W, C)
        y = self._run(windows.reshape(-1, self.window, c)).view(b, len(starts), self.window, c)
        out = x.new_zeros(b, t, c)
        norm = x.new_zeros(t)
        for k, s in enumerate(starts):
            w = torch.from_numpy(plan.weights(k).astype(np.float32)).to(x.device)
            out[:, s : s + self.window] += y[:, k] * w[:, None]
            norm[s : s + self.window] += w
        return out.div_(norm[:, None])


class GemmDemucs:
    """A ConditionedDemucs's function, channels-last and GEMM-only, for inference (CPU).

    Args:
        net: the trained network (left untouched).
        int8_min_inner: run GEMMs whose inner size is at least this as int8 dynamic
            quantization (and the BiLSTM and its linear map as int8); None: all fp32.
        lstm_window, lstm_overlap: BiLSTM windows in bottleneck frames (None: the whole
            sequence, exact).
    """

    def __init__(
        self,
        net: ConditionedDemucs,
        int8_min_inner: int | None = None,
        lstm_window: int | None = None,
        lstm_overlap: int = 0,
    ):
        if not isinstance(net, ConditionedDemucs):
            raise ParameterError("engine", f"the gemm engine runs a ConditionedDemucs, not {type(net).__name__}")
        if int8_min_inner is not None and int8_min_inner < 1:
            raise ParameterError("int8_min_inner", f"must be >= 1 or None, got {int8_min_inner}")
        self.net = net
        q = int8_min_inner
        with torch.no_grad():
            self.encoder = [(_Conv(e.conv, q), _Conv(e.rewrite, q), e.cond1, e.cond2) for e in net.encoder]
            self.decoder = [
                (_Conv(d.rewrite, q), _ConvTranspose(d.deconv, q), d.cond1, d.cond2, d.last) for d in net.decoder
            ]
            self.bottleneck = _Bottleneck(net.bottleneck, q is not None, lstm_window, lstm_overlap)

    @torch.inference_mode()
    def __call__(self, mono: torch.Tensor, h: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Same contract as ConditionedDemucs.forward: (B, in, T), (B, K) -> (B, out, length or T)."""
        x, length, std = self.net.network_input(mono.float(), h.float(), length)
        h = h.float()
        x = x.transpose(1, 2).contiguous()  # (B, T, C)
        skips = []
        for conv, rewrite, cond1, cond2 in self.encoder:
            x = conv(x, cond1(h)).relu_()
            x = F.glu(rewrite(x, cond2(h)), dim=-1)
            skips.append(x)
        x = self.bottleneck(x)
        for rewrite, deconv, cond1, cond2, last in self.decoder:
            skip = skips.pop()
            x = x + centre_trim(skip.transpose(1, 2), x.shape[1]).transpose(1, 2)
            x = F.glu(rewrite(x, cond1(h)), dim=-1)
            x = deconv(x, None if cond2 is None else cond2(h))
            if not last:
                x = x.relu_()
        x = centre_trim(x.transpose(1, 2), length)
        return x if std is None else x * std
