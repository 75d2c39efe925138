"""Inference of a trained binauralizer on inputs of any length.

Two paths, one result:

- whole clip: `system.binauralize(mono (1, 1, T), scene)` in one pass, exactly what
  the evaluation stage computes (used by default while the clip is at most
  `max_whole_s` long, so a test scene gives the evaluation's output bit for bit);
- chunks: the clip is cut into windows of `chunk_s` that overlap by `overlap_s`, each
  window gets real signal around it as context (zeros beyond the file, like the
  whole-clip padding), windows go through the network `batch` at a time and are
  blended with linear cross-fades in the middle of each overlap (the outer quarter of
  an overlap, where a window has the least context, gets no weight). Memory is flat
  in the input length.

Demucs is not shift invariant (its strided convolutions see the input on a grid of
stride**depth samples), so windows start on the whole clip's grid: without the
BiLSTM, chunks reproduce the whole clip to float rounding (tested); the BiLSTM's
context is the only difference left, bounded by the overlap.

Speed options (`InferenceOptions`): batching the chunks of one file (the BiLSTM then
runs batch x fewer steps: at batch 1 it is bound by reading its 2048-wide recurrent
weights every step), int8 dynamic quantization of the BiLSTM and linear layers
(`precision='int8'`), bf16/fp16 weights on GPUs, the visual feature computed once
per scene (the vision net does not see the audio), and the GEMM engine
(`engine='gemm'`, `gemm_demucs.py`): every convolution as one matrix product on
channels-last activations, int8 where the inner size makes it pay, and the BiLSTM on
batched windows of the bottleneck sequence (`lstm_window_s`) while the convolutions
still see the whole clip.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ParameterError
from ..models.demucs import ConditionedDemucs
from ..models.objectives import recover_from_difference
from ..models.systems import DEMUCS_KINDS
from .gemm_demucs import GemmDemucs
from .quantize import quantize_lstm_linear
from .windows import ChunkPlan, plan_chunks

log = logging.getLogger(__name__)
PRECISIONS = ("fp32", "int8", "bf16", "fp16")
ENGINES = ("module", "gemm", "auto")


@dataclass
class InferenceOptions:
    """How to run a binauralizer.

    chunk_s: window length in seconds; None: the whole clip in one pass while it is at
        most `max_whole_s`, windows of `default_chunk_s` beyond.
    overlap_s: overlap of consecutive windows (seconds); the cross-fade spans its middle half.
    batch: windows per forward pass.
    precision: fp32 (reference); int8 (dynamic quantization of LSTM and linear layers,
        CPU); bf16 / fp16 (weights and activations, GPU).
    device: 'cpu', 'cuda', 'auto'.
    threads: torch CPU threads (None: torch's choice).
    engine: 'module' (the trained module's own forward), 'gemm' (GemmDemucs, Points2Sound only) or
        'auto' (gemm for Points2Sound on the CPU, module otherwise).
    lstm_window_s, lstm_overlap_s: gemm engine: BiLSTM windows (None: the whole sequence, exact).
    int8_min_inner: gemm engine with precision int8: GEMMs with at least this inner size run int8.
    """

    chunk_s: float | None = None
    overlap_s: float = 1.0
    batch: int = 8
    precision: str = "fp32"
    device: str = "cpu"
    threads: int | None = None
    max_whole_s: float = 30.0
    default_chunk_s: float = 10.0
    progress: bool = False
    engine: str = "module"
    lstm_window_s: float | None = None
    lstm_overlap_s: float = 0.5
    int8_min_inner: int = 256

    def check(self) -> None:
        if self.precision not in PRECISIONS:
            raise ParameterError("precision", f"must be one of {PRECISIONS}, got {self.precision!r}")
        if self.chunk_s is not None and not self.chunk_s > 0:
            raise ParameterError("chunk_s", f"must be > 0, got {self.chunk_s}")
        if not self.overlap_s >= 0:
            raise ParameterError("overlap_s", f"must be >= 0, got {self.overlap_s}")
        chunk = self.chunk_s if self.chunk_s is not None else self.default_chunk_s
        if self.overlap_s >= chunk:
            raise ParameterError("overlap_s", f"must be shorter than the chunk ({chunk} s), got {self.overlap_s}")
        if self.batch < 1:
            raise ParameterError("batch", f"must be >= 1, got {self.batch}")
        if self.engine not in ENGINES:
            raise ParameterError("engine", f"must be one of {ENGINES}, got {self.engine!r}")
        if self.lstm_window_s is not None and not self.lstm_window_s > 0:
            raise ParameterError("lstm_window_s", f"must be > 0, got {self.lstm_window_s}")
        if not self.lstm_overlap_s >= 0:
            raise ParameterError("lstm_overlap_s", f"must be >= 0, got {self.lstm_overlap_s}")
        if self.int8_min_inner < 1:
            raise ParameterError("int8_min_inner", f"must be >= 1, got {self.int8_min_inner}")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError("device", f"{name!r} requested but no CUDA device is available")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ParameterError("device", f"not a torch device: {name!r}") from exc


# ---------------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------------


class Binauralizer:
    """A trained system, ready to binauralize mono clips of any length.

    system: a Points2SoundNet, Mono2BinauralNet or Points2SoundFOANet (as `models.loading.load_system`
    returns); config: its checkpoint config (sample_rate, features, mono_input, voxel_size_m).
    The output is the binaural pair (2, T), or for an FOA model its ambiX field (4, T): W, the input, then
    the predicted Y, Z, X (`channels`).
    """

    def __init__(self, system: nn.Module, config: dict[str, Any], options: InferenceOptions | None = None):
        self.options = options or InferenceOptions()
        self.options.check()
        self.config = dict(config)
        self.sample_rate = int(config["sample_rate"])
        self.device = resolve_device(self.options.device)
        if self.options.threads:
            torch.set_num_threads(int(self.options.threads))
        precision = self.options.precision
        if precision == "int8" and self.device.type != "cpu":
            raise ParameterError("precision", "int8 (dynamic quantization) runs on the CPU only")
        if precision in ("bf16", "fp16") and self.device.type == "cpu":
            log.warning(
                "%s on this CPU: most CPUs without native %s units run it slower than fp32", precision, precision
            )
        self.system = system.eval().to(self.device)
        self.kind = getattr(system, "kind", "points2sound")
        self.demucs = self.kind in DEMUCS_KINDS
        self.channels = 4 if self.kind == "points2sound_foa" else 2
        self.audio = self.system.audio
        engine = self.options.engine
        if engine == "auto":
            engine = "gemm" if self.demucs and self.device.type == "cpu" else "module"
        self.engine = engine  # the one that runs: 'module' or 'gemm'
        if engine == "gemm":
            self.audio = self._gemm_engine()
        elif precision == "int8":
            self.audio = quantize_lstm_linear(self.audio)
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
        if self.dtype != torch.float32:  # a half-precision copy: the given system stays as it is
            self.audio = copy.deepcopy(self.audio).to(self.dtype)

    def _gemm_engine(self) -> GemmDemucs:
        o = self.options
        if not self.demucs:
            raise ParameterError(
                "engine", "the gemm engine runs Points2Sound's Demucs; use engine 'module' for Mono2Binaural"
            )
        if o.precision not in ("fp32", "int8"):
            raise ParameterError("precision", f"the gemm engine runs fp32 or int8, not {o.precision}")
        net = self.system.audio
        frame_s = net.stride**net.depth / self.sample_rate  # one bottleneck frame
        window = None if o.lstm_window_s is None else max(1, round(o.lstm_window_s / frame_s))
        overlap = 0 if window is None else min(window - 1, round(o.lstm_overlap_s / frame_s))
        return GemmDemucs(
            net,
            int8_min_inner=o.int8_min_inner if o.precision == "int8" else None,
            lstm_window=window,
            lstm_overlap=overlap,
        )

    # ----- vision -----------------------------------------------------------------

    @torch.inference_mode()
    def visual_feature(self, coords: np.ndarray, feats: np.ndarray) -> torch.Tensor:
        """The global feature h (1, K) of one voxelized scene (fp32, vision is cheap)."""
        if getattr(self.system, "blind", False):  # the FOA U-Net baseline: no visual feature
            return torch.zeros(1, self.system.k, device=self.device)
        scene = self.system.vision.collate([coords], [feats], device=self.device)
        return self.system.vision(scene)

    # ----- audio ------------------------------------------------------------------

    def _forward(self, mono: torch.Tensor, h: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """(B, C, length) output of windows (B, 1, T) with context (Points2Sound) or plain clips."""
        if self.kind == "points2sound_foa":
            out = self.audio(mono.to(self.dtype), h.to(self.dtype), length).float()
            return torch.cat([_centre(mono, out.shape[-1]), out], dim=1)
        if self.kind == "points2sound":
            return self._binaural(mono, self.audio(mono.to(self.dtype), h.to(self.dtype), length).float())
        sys_ = self.system
        if mono.shape[-1] <= sys_.clip_samples:
            return recover_from_difference(mono, self.audio.predict_difference(mono, h))
        return self.audio.binauralize(mono, h, sys_.clip_samples, sys_.hop_samples)

    def whole(self, mono: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The evaluation's computation: one pass over the whole clip (1, 1, T) -> (1, C, T)."""
        if self.kind == "points2sound_foa" and self.dtype == torch.float32 and self.audio is self.system.audio:
            return torch.cat([mono, self.system.audio(mono, h)], dim=1)  # Points2SoundFOANet.field, h given
        if self.kind == "points2sound" and self.dtype == torch.float32 and self.audio is self.system.audio:
            return self._binaural(mono, self.system.audio(mono, h))
        return self._forward(mono, h)

    def _binaural(self, mono: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Points2Sound's binaural from its Demucs output, as Points2SoundNet.binauralize makes it: plus the
        mono copy when the model has the residual path, or L and R recovered from L - R (L_diff)."""
        return self.system.binaural_from_audio(_centre(mono, out.shape[-1]), out)

    def plan(self, total: int) -> ChunkPlan | None:
        """The chunk plan for a clip of `total` samples, or None for one pass."""
        o = self.options
        sr = self.sample_rate
        if o.chunk_s is None and total <= o.max_whole_s * sr:
            return None
        length = max(1, round((o.chunk_s or o.default_chunk_s) * sr))
        if length >= total:
            return None
        overlap = round(o.overlap_s * sr)
        if self.demucs:
            net: ConditionedDemucs = self.system.audio  # the geometry; self.audio may be a quantized copy or engine
            grid = net.stride**net.depth
            # whole-clip input sample 0 sits at absolute -pad; window inputs must start on that grid
            pad = (net.valid_length(total) - total) // 2
            ctx = (net.valid_length(length) - length) // 2
            return plan_chunks(total, length, overlap, grid, origin=ctx - pad)
        return plan_chunks(total, length, overlap)

    @torch.inference_mode()
    def __call__(self, mono: np.ndarray, h: torch.Tensor, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Binaural (2, T) float32, or an FOA model's field (4, T), of a mono clip (T,) at the model's rate,
        given the scene's h (1, K)."""
        mono = np.asarray(mono, np.float32).reshape(-1)
        total = mono.size
        plan = self.plan(total)
        if plan is None:
            x = torch.from_numpy(mono).to(self.device)[None, None]
            out = self.whole(x, h)[0]
            if progress:
                progress(total)
            return out.float().cpu().numpy()
        return self._chunked(mono, h, plan, progress)

    def _window_inputs(self, mono: np.ndarray, plan: ChunkPlan, starts: Sequence[int]) -> tuple[np.ndarray, int]:
        """Input windows (n, 1, L_in) with context, zeros beyond the clip, and the output length."""
        if self.demucs:
            net = self.system.audio
            in_len = net.valid_length(plan.length)
            ctx = (in_len - plan.length) // 2
        else:
            in_len, ctx = plan.length, 0
        out = np.zeros((len(starts), 1, in_len), np.float32)
        for i, s in enumerate(starts):
            a, b = s - ctx, s - ctx + in_len
            lo, hi = max(a, 0), min(b, mono.size)
            if hi > lo:
                out[i, 0, lo - a : hi - a] = mono[lo:hi]
        return out, plan.length

    def _chunked(
        self, mono: np.ndarray, h: torch.Tensor, plan: ChunkPlan, progress: Callable[[int], None] | None
    ) -> np.ndarray:
        total = plan.total
        acc = np.zeros((self.channels, total), np.float32)  # the only buffers that grow with the input
        norm = np.zeros(total, np.float32)
        batch = self.options.batch
        for i in range(0, len(plan.starts), batch):
            group = list(range(i, min(i + batch, len(plan.starts))))
            x, length = self._window_inputs(mono, plan, [plan.starts[k] for k in group])
            xt = torch.from_numpy(x).to(self.device)
            y = self._forward(xt, h.expand(len(group), -1), length).float().cpu().numpy()
            for j, k in enumerate(group):
                s = plan.starts[k]
                lo, hi = max(s, 0), min(s + length, total)
                w = plan.weights(k)[lo - s : hi - s].astype(np.float32)
                acc[:, lo:hi] += y[j, :, lo - s : hi - s] * w
                norm[lo:hi] += w
            if progress:
                progress(min(total, plan.starts[group[-1]] + length) - max(0, plan.starts[group[0]]))
        acc /= norm
        return acc


def _centre(x: torch.Tensor, length: int) -> torch.Tensor:
    extra = x.shape[-1] - length
    return x[..., extra // 2 : extra // 2 + length]
