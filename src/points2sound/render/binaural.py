"""Binaural rendering of mono recordings through HRIR/BRIR sets (Two!Ears style).

The dataset needs every recording at 8 azimuths (anechoic) or 5 head rotations (rooms):
one mono signal through many two-ear filters. `render_binaural` transforms each block
of the input once and reuses that spectrum for all K x 2 filters, which is what makes
it faster than one `fftconvolve` per filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.fft
from tqdm import tqdm

from ..audio_io import read_wav, write_wav
from ..errors import ParameterError
from .sofa_io import IRSet, resample_ir_set

# Overlap-add block: at least 2^14 samples and 4 filter lengths. Measured at 44.1 kHz
# (1 thread) this is the fastest choice for 512-tap HRIRs and 0.5 s BRIRs alike, ~2-3x
# faster than one FFT over the whole input, and it bounds memory for any input length.
_MIN_BLOCK = 1 << 14


def render_binaural(mono: np.ndarray, irs: np.ndarray, block: int | None = None) -> np.ndarray:
    """Convolve one mono signal (T,) with K two-ear IRs (K, 2, N) -> (K, 2, T).

    Causal and truncated to the input length: out[k, e, t] = sum_j irs[k, e, j] mono[t - j].
    Computed in float32 when both inputs are float32 (else float64). The input is
    processed by overlap-add in blocks of max(2^14, 4 N) samples (or `block`), so memory
    stays ~ K x 2 x (block + N) whatever the input length.
    """
    mono = np.asarray(mono)
    irs = np.asarray(irs)
    if mono.ndim != 1:
        raise ParameterError("mono", f"expected a 1-D signal, got shape {mono.shape}")
    if irs.ndim != 3 or irs.shape[1] != 2 or irs.shape[2] == 0:
        raise ParameterError("irs", f"expected shape (K, 2, N), got {irs.shape}")
    dtype = np.result_type(mono.dtype, irs.dtype, np.float32)
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    t_len, n_taps = mono.size, irs.shape[2]
    out = np.zeros(irs.shape[:2] + (t_len,), dtype=dtype)
    if t_len == 0:
        return out
    # only the first t_len output samples are kept, so taps beyond t_len never contribute
    n_taps = min(n_taps, t_len)
    if block is None:
        block = max(_MIN_BLOCK, 4 * n_taps)
    block = max(1, min(int(block), t_len))
    n_fft = scipy.fft.next_fast_len(block + n_taps - 1, real=True)
    spec = scipy.fft.rfft(irs[:, :, :n_taps].astype(dtype, copy=False), n_fft, axis=-1)  # (K, 2, F)
    x = mono.astype(dtype, copy=False)
    for start in range(0, t_len, block):
        seg = scipy.fft.rfft(x[start : start + block], n_fft)  # once per block, shared by all filters
        y = scipy.fft.irfft(spec * seg, n_fft, axis=-1)
        stop = min(start + block + n_taps - 1, t_len)
        out[:, :, start:stop] += y[:, :, : stop - start]
    return out


def render_recordings(
    audio_files: Sequence[Path],
    out_dir: Path,
    irset: IRSet,
    azimuths_deg: Sequence[int],
    sample_rate: int,
    subtype: str = "FLOAT",
) -> list[Path]:
    """Render each mono WAV at every azimuth: out_dir/<instrument>/<recording>_<az>.wav.

    <instrument> is the WAV's parent folder, <az> the azimuth in whole degrees in
    [0, 360) (0 = front, 90 = left). The IR set is resampled first when its rate is not
    `sample_rate`. Every requested file is written (existing ones are overwritten); a
    missing azimuth in the set or a bad WAV raises an error naming it.
    """
    out_dir = Path(out_dir)
    azs: list[int] = []
    for a in azimuths_deg:
        if not float(a).is_integer():
            raise ParameterError("azimuths_deg", f"must be whole degrees (file names use them), got {a}")
        azs.append(int(a) % 360)
    if len(set(azs)) != len(azs):
        raise ParameterError("azimuths_deg", f"repeated azimuths in {list(azimuths_deg)}")
    if irset.sample_rate != sample_rate:
        irset = resample_ir_set(irset, sample_rate)
    irs = np.stack([irset.ir(a) for a in azs])  # raises for an azimuth the set lacks
    integer_pcm = subtype.upper().startswith("PCM")
    written: list[Path] = []
    for wav in tqdm(list(audio_files), desc=f"render {irset.name}", unit="file", disable=None):
        wav = Path(wav)
        mono, _ = read_wav(wav, expected_sr=sample_rate, channels=1)
        binaural = render_binaural(mono[0], irs)
        if integer_pcm and np.abs(binaural).max(initial=0.0) > 1.0:
            raise ParameterError(
                "subtype", f"rendering {wav} through {irset.name!r} exceeds full scale; {subtype} would clip, use FLOAT"
            )
        for a, sig in zip(azs, binaural):
            target = out_dir / wav.parent.name / f"{wav.stem}_{a}.wav"
            write_wav(target, sig, sample_rate, subtype=subtype)
            written.append(target)
    return written
