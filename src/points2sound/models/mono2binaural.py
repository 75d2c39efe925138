"""Mono2Binaural baseline (paper appendix; Gao & Grauman 2019, "2.5D visual sound", adapted).

A 2D U-Net reads the STFT of the mono input s_m = L + R (real and imaginary parts as
two channels), concatenates the global visual feature tiled over its bottleneck, and
predicts a complex mask M bounded to [-1, 1] (tanh). The spectrogram of L - R is
estimated as M * S_m (complex product); after the inverse STFT, Eq. 13 gives
L = (s_m + d) / 2 and R = (s_m - d) / 2. Training: MSE between the predicted and the
true L - R spectrograms on 0.63 s clips. Testing: a sliding window (hop 50 ms) whose
overlapping predictions are averaged.

STFT: Hann window of 23 ms, hop 10 ms, n_fft the next power of two (1014 / 441 / 1024
at 44.1 kHz, as in the reference code), centred with zero padding. As in Gao & Grauman
the Nyquist bin is left out of the U-Net (n_fft / 2 bins divide evenly by 2**levels);
its predicted value is zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from points2sound.errors import ParameterError
from points2sound.models.objectives import recover_from_difference


@dataclass(frozen=True)
class StftSpec:
    """STFT sizes in samples, derived from window and hop durations at a sample rate."""

    n_fft: int
    win_length: int
    hop_length: int

    @classmethod
    def from_durations(cls, sample_rate: int, window_s: float = 0.023, hop_s: float = 0.010) -> StftSpec:
        if sample_rate <= 0 or window_s <= 0 or hop_s <= 0:
            raise ParameterError("sample_rate/window_s/hop_s", "must all be > 0")
        win = max(1, round(window_s * sample_rate))
        hop = max(1, round(hop_s * sample_rate))
        if hop > win:
            raise ParameterError("hop_s", f"hop {hop} samples exceeds the window {win}: frames would leave gaps")
        n_fft = 1 << (win - 1).bit_length()
        return cls(n_fft=n_fft, win_length=win, hop_length=hop)

    def window(self, like: torch.Tensor) -> torch.Tensor:
        return torch.hann_window(self.win_length, periodic=True, dtype=like.dtype, device=like.device)

    def frames(self, samples: int) -> int:
        """Number of STFT frames of a signal of `samples` samples (centred STFT)."""
        return samples // self.hop_length + 1


def stft(x: torch.Tensor, spec: StftSpec) -> torch.Tensor:
    """Real/imaginary STFT of (B, T) signals: (B, 2, n_fft // 2 + 1, frames)."""
    z = torch.stft(
        x,
        spec.n_fft,
        spec.hop_length,
        spec.win_length,
        window=spec.window(x),
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    return torch.stack([z.real, z.imag], dim=1)


def istft(X: torch.Tensor, spec: StftSpec, length: int) -> torch.Tensor:
    """Inverse of `stft`: (B, 2, F, frames) -> (B, length)."""
    z = torch.complex(X[:, 0], X[:, 1])
    return torch.istft(
        z,
        spec.n_fft,
        spec.hop_length,
        spec.win_length,
        window=spec.window(X),
        center=True,
        length=length,
    )


def complex_mask(mono_spec: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Complex product M * S of real/imag stacks (B, 2, F, frames) -> (B, 2, F, frames)."""
    a, b = mono_spec[:, 0], mono_spec[:, 1]
    c, d = mask[:, 0], mask[:, 1]
    return torch.stack([a * c - b * d, a * d + b * c], dim=1)


def _down(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2))


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU())


class Mono2Binaural(nn.Module):
    """Visually conditioned complex-mask U-Net on the STFT of s_m = L + R.

    Args:
        sample_rate: of the audio; fixes the STFT sizes (Hann 23 ms, hop 10 ms).
        cond_dim: size of the global visual feature (512 in the paper's appendix).
        channels: widths of the down-convolutions (Gao & Grauman: 64, 128, 256, 512, 512),
            each Conv2d(k=4, s=2, p=1) + BatchNorm + LeakyReLU(0.2); the up-convolutions
            mirror them with ReLU and skip connections; the last one gives the 2-channel
            mask through tanh.
        init_std: conv weights from N(0, init_std), BatchNorm weights from N(1, init_std)
            and biases 0, as the reference code does (0.02); None keeps PyTorch's defaults.
        seed: seed of the initial weights (drawn in a forked RNG; global state untouched).
    """

    def __init__(
        self,
        sample_rate: int,
        cond_dim: int = 512,
        channels: tuple[int, ...] | list[int] = (64, 128, 256, 512, 512),
        init_std: float | None = 0.02,
        seed: int = 0,
    ):
        super().__init__()
        if len(channels) < 1 or any(int(c) != c or c < 1 for c in channels):
            raise ParameterError("channels", f"must be a non-empty list of positive integers, got {channels!r}")
        if int(cond_dim) != cond_dim or cond_dim < 0:
            raise ParameterError("cond_dim", f"must be an integer >= 0, got {cond_dim!r}")
        self.spec = StftSpec.from_durations(sample_rate)
        self.sample_rate = sample_rate
        self.cond_dim = cond_dim
        self.channels = tuple(int(c) for c in channels)
        widths = self.channels
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.down = nn.ModuleList(_down(c_in, c_out) for c_in, c_out in zip((2, *widths[:-1]), widths))
            ups = []
            for i in reversed(range(len(widths))):
                c_in = widths[-1] + cond_dim if i == len(widths) - 1 else 2 * widths[i]
                if i == 0:
                    ups.append(nn.ConvTranspose2d(c_in, 2, 4, 2, 1))  # tanh applied in forward
                else:
                    ups.append(_up(c_in, widths[i - 1]))
            self.up = nn.ModuleList(ups)
            if init_std is not None:
                for m in self.modules():
                    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                        nn.init.normal_(m.weight, 0.0, init_std)
                    elif isinstance(m, nn.BatchNorm2d):
                        nn.init.normal_(m.weight, 1.0, init_std)
                        nn.init.zeros_(m.bias)

    def mask(self, mono_spec: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The complex mask (B, 2, F - 1, frames) in [-1, 1] for a mono spectrogram (B, 2, F, frames)."""
        x = mono_spec[:, :, :-1]  # drop the Nyquist bin
        bins, frames = x.shape[-2:]
        unit = 2 ** len(self.channels)
        x = F.pad(x, (0, -frames % unit, 0, -bins % unit))  # grid divisible by every stride
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        tiled = h[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        x = torch.cat([x, tiled], dim=1)
        for j, block in enumerate(self.up):
            if j > 0:
                x = torch.cat([x, skips[-1 - j]], dim=1)
            x = block(x)
        return torch.tanh(x[..., :bins, :frames])

    def forward(self, mono: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Predicted L - R spectrogram (B, 2, n_fft // 2 + 1, frames) of mono (B, 1, T) given h (B, cond_dim)."""
        if mono.dim() != 3 or mono.shape[1] != 1:
            raise ParameterError("mono", f"expected (B, 1, T), got {tuple(mono.shape)}")
        if h.dim() != 2 or h.shape != (mono.shape[0], self.cond_dim):
            raise ParameterError("h", f"expected ({mono.shape[0]}, {self.cond_dim}), got {tuple(h.shape)}")
        mono_spec = stft(mono[:, 0], self.spec)
        diff = complex_mask(mono_spec[:, :, :-1], self.mask(mono_spec, h))
        return F.pad(diff, (0, 0, 0, 1))  # Nyquist bin: zero

    def difference_spectrogram(self, binaural: torch.Tensor) -> torch.Tensor:
        """The training target: STFT of L - R, (B, 2, n_fft // 2 + 1, frames), from (B, 2, T)."""
        if binaural.dim() != 3 or binaural.shape[1] != 2:
            raise ParameterError("binaural", f"expected (B, 2, T), got {tuple(binaural.shape)}")
        return stft(binaural[:, 0] - binaural[:, 1], self.spec)

    def loss(self, pred_spec: torch.Tensor, binaural: torch.Tensor) -> torch.Tensor:
        """MSE between predicted and true L - R spectrograms (real/imag), Nyquist bin excluded as in the reference code."""
        target = self.difference_spectrogram(binaural)
        return F.mse_loss(pred_spec[:, :, :-1], target[:, :, :-1])

    def predict_difference(self, mono: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Waveform d = L - R (B, 1, T) estimated for mono (B, 1, T)."""
        return istft(self(mono, h), self.spec, mono.shape[-1]).unsqueeze(1)

    @torch.no_grad()
    def binauralize(
        self,
        mono: torch.Tensor,
        h: torch.Tensor,
        clip_samples: int,
        hop_samples: int,
        windows_per_batch: int = 32,
    ) -> torch.Tensor:
        """Binaural (B, 2, T) for a whole mono clip (B, 1, T) with a sliding window.

        Windows of `clip_samples` start every `hop_samples` while they end before T; one
        more window is aligned to the end (as the reference code does), so every sample
        is covered. The L - R estimates of overlapping windows are averaged, then Eq. 13
        recovers L and R from the full mono signal. Clips shorter than one window are
        processed whole. Call .eval() first: BatchNorm uses its running statistics then.
        """
        if clip_samples < 1 or hop_samples < 1:
            raise ParameterError("clip_samples/hop_samples", f"must be >= 1, got {clip_samples}, {hop_samples}")
        if mono.dim() != 3 or mono.shape[1] != 1:
            raise ParameterError("mono", f"expected (B, 1, T), got {tuple(mono.shape)}")
        batch, _, total = mono.shape
        clip = min(clip_samples, total)
        starts = list(range(0, total - clip, hop_samples)) + [total - clip]
        diff = torch.zeros_like(mono)
        count = torch.zeros(total, dtype=mono.dtype, device=mono.device)
        for i in range(0, len(starts), windows_per_batch):
            group = starts[i : i + windows_per_batch]
            segments = torch.cat([mono[:, :, s : s + clip] for s in group])  # (len(group) * B, 1, clip)
            d = self.predict_difference(segments, h.repeat(len(group), 1))
            for k, s in enumerate(group):
                diff[:, :, s : s + clip] += d[k * batch : (k + 1) * batch]
                count[s : s + clip] += 1
        return recover_from_difference(mono, diff / count)
