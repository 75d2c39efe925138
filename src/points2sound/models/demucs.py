"""Demucs (v2) waveform U-Net with global conditioning on a visual feature (paper Sec. 3.2.4-3.2.5).

Each encoder block q computes (Eq. 5)

    x = ReLU(Conv1d_{k,s}(x) + V_{q,1} h)
    x = GLU(Conv1d_1(x) + V_{q,2} h)

and each decoder block (Eq. 6)

    x = x + skip_q
    x = GLU(Conv1d_context(x) + V_{q,1} h)
    x = ReLU(ConvTranspose1d_{k,s}(x) + V_{q,2} h)      (no ReLU on the last block)

where the V are bias-free linear maps of the global feature h, broadcast over time.
A bidirectional LSTM with a linear map back to the channel count sits at the bottleneck.

Convolutions are unpadded, as in Demucs: the input is zero-padded (centred) to
`valid_length(T)` and the output centre-trimmed back to T, so that every strided
convolution covers its input exactly and no output sample depends on implicit padding.
Output sample t lines up with input sample t when (context - 1) * (stride + ... +
stride**depth) is even, e.g. for any odd context (3 in the paper).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from points2sound.errors import ParameterError


def centre_trim(x: torch.Tensor, length: int) -> torch.Tensor:
    """Keep the central `length` samples of the last axis (extra sample, if odd, dropped at the end)."""
    extra = x.shape[-1] - length
    if extra < 0:
        raise ParameterError("length", f"cannot trim {x.shape[-1]} samples to {length}")
    start = extra // 2
    return x[..., start : start + length]


def _rescale_(module: nn.Module, reference: float) -> None:
    """Demucs's initial rescaling: divide each weight (and bias) by sqrt(std(weight) / reference).

    Why: it shrinks the initial weights of wide layers so that the deep U-Net starts
    with well-scaled activations (Defossez et al. report faster, better training).
    """
    weight = getattr(module, "weight", None)
    if weight is None or weight.is_meta:
        return
    with torch.no_grad():
        scale = (weight.std() / reference) ** 0.5
        weight.div_(scale)
        bias = getattr(module, "bias", None)
        if bias is not None:
            bias.div_(scale)


class _Encoder(nn.Module):
    """One encoder block of Eq. 5: strided conv + ReLU, 1x1 conv + GLU, both conditioned."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, cond_dim: int):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel_size, stride)
        self.rewrite = nn.Conv1d(c_out, 2 * c_out, 1)
        self.cond1 = nn.Linear(cond_dim, c_out, bias=False)
        self.cond2 = nn.Linear(cond_dim, 2 * c_out, bias=False)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv(x) + self.cond1(h).unsqueeze(-1))
        return F.glu(self.rewrite(x) + self.cond2(h).unsqueeze(-1), dim=1)


class _Decoder(nn.Module):
    """One decoder block of Eq. 6: skip sum, context conv + GLU, transposed conv (+ ReLU)."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size: int,
        stride: int,
        context: int,
        cond_dim: int,
        last: bool,
        condition_output: bool,
    ):
        super().__init__()
        self.last = last
        self.rewrite = nn.Conv1d(c_in, 2 * c_in, context)
        self.cond1 = nn.Linear(cond_dim, 2 * c_in, bias=False)
        self.deconv = nn.ConvTranspose1d(c_in, c_out, kernel_size, stride)
        self.cond2 = nn.Linear(cond_dim, c_out, bias=False) if condition_output else None

    def forward(self, x: torch.Tensor, skip: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        x = x + centre_trim(skip, x.shape[-1])
        x = F.glu(self.rewrite(x) + self.cond1(h).unsqueeze(-1), dim=1)
        x = self.deconv(x)
        if self.cond2 is not None:
            x = x + self.cond2(h).unsqueeze(-1)
        return x if self.last else F.relu(x)


class _BiLSTM(nn.Module):
    """Bottleneck: bidirectional LSTM over time, linear map from 2C back to C channels."""

    def __init__(self, channels: int, layers: int):
        super().__init__()
        self.lstm = nn.LSTM(channels, channels, num_layers=layers, bidirectional=True, batch_first=True)
        self.linear = nn.Linear(2 * channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x.transpose(1, 2))  # (B, T, 2C)
        return self.linear(y).transpose(1, 2)


def _check_positive(name: str, value: int, minimum: int = 1) -> None:
    if int(value) != value or value < minimum:
        raise ParameterError(name, f"must be an integer >= {minimum}, got {value!r}")


def _check_config(
    positive: dict[str, int], lstm_layers: int, growth: float, rescale: float | None, init_std: float | None
) -> None:
    """Refuse a configuration that would build a broken network, naming the parameter."""
    for name, value in positive.items():
        _check_positive(name, value)
    _check_positive("lstm_layers", lstm_layers, minimum=0)
    if positive["stride"] > positive["kernel_size"]:
        raise ParameterError(
            "stride", f"{positive['stride']} > kernel_size {positive['kernel_size']} would skip input samples"
        )
    if not growth >= 1.0:
        raise ParameterError("growth", f"must be >= 1, got {growth!r}")
    if init_std is not None and not init_std > 0:
        raise ParameterError("init_std", f"must be None or > 0, got {init_std!r}")
    if rescale is not None and rescale < 0:
        raise ParameterError("rescale", f"must be None or >= 0, got {rescale!r}")


class ConditionedDemucs(nn.Module):
    """Demucs v2 with global conditioning (Points2Sound's audio network).

    Args:
        in_channels: channels of the input waveform (1: the mono signal).
        out_channels: channels of the output (2: binaural, L_full; 1: the L - R
            difference, L_diff).
        channels: width of the first encoder block.
        depth: number of encoder (and decoder) blocks.
        kernel_size, stride: of the strided (transposed) convolutions.
        growth: width factor between levels, truncated to an integer at each level
            (64, 128, ..., 2048 at the paper's sizes).
        context: kernel of the decoder's first (unpadded) convolution.
        lstm_layers: BiLSTM layers at the bottleneck (0: none).
        cond_dim: size of the global feature h (K = 16 in the paper).
        rescale: Demucs's initial weight rescaling reference (None or 0: off).
            Applied to the convolutions and the V projections (the reference
            code's V are 1x1 convolutions and get rescaled too).
        normalize: divide each input by its standard deviation over time and
            multiply the output back (Demucs v3 normalises its input this way;
            the Points2Sound code does not). Only the scale is normalised, not the
            mean: the L - R output of L_diff has no reason to share the input's mean.
        condition_output: add V_{1,2} h to the last decoder block's output as Eq. 6
            writes it. The Points2Sound reference code computes that projection but
            never adds it (its last block has no ReLU); False reproduces the code.
        init_std: if set, redraw every convolution, V projection and bottleneck
            linear weight from N(0, init_std) after the rescaling (biases keep it).
            0.02 is what the Points2Sound reference code does (its ModelBuilder
            re-initialises the audio net so); None keeps PyTorch's default
            initialisation with Demucs's rescaling. The LSTM keeps PyTorch's default.
        seed: seed of the initial weights (drawn in a forked RNG; global state untouched).
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        channels: int = 64,
        depth: int = 6,
        kernel_size: int = 8,
        stride: int = 4,
        growth: float = 2.0,
        context: int = 3,
        lstm_layers: int = 2,
        cond_dim: int = 16,
        rescale: float | None = 0.1,
        normalize: bool = False,
        condition_output: bool = True,
        init_std: float | None = 0.02,
        seed: int = 0,
    ):
        super().__init__()
        positive = dict(in_channels=in_channels, out_channels=out_channels, channels=channels, depth=depth)
        positive |= dict(kernel_size=kernel_size, stride=stride, context=context, cond_dim=cond_dim)
        _check_config(positive, lstm_layers, growth, rescale, init_std)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.depth = depth
        self.kernel_size = kernel_size
        self.stride = stride
        self.context = context
        self.cond_dim = cond_dim
        self.normalize = normalize
        self.widths = [channels]
        for _ in range(depth - 1):  # as Demucs: truncate at every level
            self.widths.append(int(growth * self.widths[-1]))

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self._build_blocks(lstm_layers, condition_output)
            self._initialise(rescale, init_std)

    def _build_blocks(self, lstm_layers: int, condition_output: bool) -> None:
        """Encoder and decoder blocks and the bottleneck, drawn in this order from the seeded RNG."""
        self.encoder = nn.ModuleList()
        decoders = []
        c_in = self.in_channels
        for i, width in enumerate(self.widths):
            self.encoder.append(_Encoder(c_in, width, self.kernel_size, self.stride, self.cond_dim))
            c_out = self.out_channels if i == 0 else c_in
            decoders.append(
                _Decoder(
                    width,
                    c_out,
                    self.kernel_size,
                    self.stride,
                    self.context,
                    self.cond_dim,
                    last=(i == 0),
                    condition_output=(i > 0 or condition_output),
                )
            )
            c_in = width
        # decoder[0] works at the bottleneck, decoder[-1] produces the waveform
        self.decoder = nn.ModuleList(reversed(decoders))
        self.bottleneck = _BiLSTM(self.widths[-1], lstm_layers) if lstm_layers else nn.Identity()

    def _initialise(self, rescale: float | None, init_std: float | None) -> None:
        """Demucs's rescaling of the blocks' weights, then the reference code's N(0, init_std) redraw."""
        if rescale:
            # the convolutions and V projections of the blocks; not the bottleneck
            for module in [*self.encoder.modules(), *self.decoder.modules()]:
                if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear)):
                    _rescale_(module, rescale)
        if init_std is not None:
            for module in self.modules():
                if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear)):
                    nn.init.normal_(module.weight, 0.0, init_std)

    # ----- lengths -------------------------------------------------------------------

    def _decoder_lengths(self, bottom: int) -> list[int]:
        """Input lengths of the decoder blocks, then the output length, for `bottom` frames."""
        lengths = [bottom]
        for _ in range(self.depth):
            lengths.append((lengths[-1] - self.context) * self.stride + self.kernel_size)
        return lengths

    def _output_length(self, bottom: int) -> int:
        """Decoder output length when the bottleneck holds `bottom` frames."""
        return self._decoder_lengths(bottom)[-1]

    def _input_length(self, bottom: int) -> int:
        """Input length whose encoder convolutions fit exactly and end in `bottom` frames."""
        length = bottom
        for _ in range(self.depth):
            length = (length - 1) * self.stride + self.kernel_size
        return length

    def valid_length(self, length: int) -> int:
        """Smallest input length >= `length` that the network processes without remainder.

        That is: every strided encoder convolution covers its input exactly, every
        decoder block gets at least `context` frames (so its convolution has an
        output) and the decoder output is at least `length` samples long (so it can be
        centre-trimmed to `length`). All these lengths grow with the bottleneck length
        (the output by stride**depth per frame), so the smallest bottleneck is solved
        for, then raised until the decoder constraints hold (rarely needed: only when
        kernel_size < context * stride shrinks the decoder's inputs).
        """
        _check_positive("length", length)
        step = self.stride**self.depth
        base = self._output_length(0)  # affine in the bottleneck length
        bottom = max(self.context, -(-(length - base) // step))  # integer ceil
        while min(self._decoder_lengths(bottom)[:-1]) < self.context:
            bottom += 1
        return self._input_length(bottom)

    def receptive_offset(self) -> int:
        """Samples lost at each end of the input by the decoder's unpadded context convolutions."""
        return (self._input_length(self.context) - self._output_length(self.context)) // 2

    # ----- forward -------------------------------------------------------------------

    def network_input(
        self, mono: torch.Tensor, h: torch.Tensor, length: int | None = None
    ) -> tuple[torch.Tensor, int, torch.Tensor | None]:
        """Checked, centred and zero-padded input (B, in_channels, valid_length), the output length,
        and the input scale (B, 1, 1) when `normalize` (else None); shared with the inference engine."""
        if mono.dim() != 3 or mono.shape[1] != self.in_channels:
            raise ParameterError("mono", f"expected (B, {self.in_channels}, T), got {tuple(mono.shape)}")
        if h.dim() != 2 or h.shape != (mono.shape[0], self.cond_dim):
            raise ParameterError("h", f"expected ({mono.shape[0]}, {self.cond_dim}), got {tuple(h.shape)}")
        length = mono.shape[-1] if length is None else length
        if length > mono.shape[-1]:
            raise ParameterError("length", f"{length} exceeds the input's {mono.shape[-1]} samples")
        target = self.valid_length(length)
        if mono.shape[-1] > target:
            mono = centre_trim(mono, target)
        pad = target - mono.shape[-1]
        x = F.pad(mono, (pad // 2, pad - pad // 2))
        std = None
        if self.normalize:
            std = mono.std(dim=(1, 2), keepdim=True) + 1e-5
            x = x / std
        return x, length, std

    def forward(self, mono: torch.Tensor, h: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Map mono (B, in_channels, T) and h (B, cond_dim) to (B, out_channels, length or T).

        The input is zero-padded (centred) to valid_length(length); pass a longer input
        with real context around the wanted samples and `length` to avoid zero padding.
        """
        x, length, std = self.network_input(mono, h, length)
        skips = []
        for block in self.encoder:
            x = block(x, h)
            skips.append(x)
        x = self.bottleneck(x)
        for block in self.decoder:
            x = block(x, skips.pop(), h)

        x = centre_trim(x, length)
        return x if std is None else x * std


def parameter_count(module: nn.Module) -> int:
    """Number of scalar parameters (works on meta-device modules, which hold no memory)."""
    return sum(p.numel() for p in module.parameters())
