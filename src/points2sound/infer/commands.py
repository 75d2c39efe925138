"""The user-facing commands behind `points2sound binauralize | render | show-scene`.

Everything is checked before any heavy work: the output path must be writable, the
audio readable, non-empty and finite, the scene non-empty, the checkpoint a trained
binauralizer. Outputs are written atomically, so a failed run leaves no file.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np
import scipy.signal

from ..atomic import STDOUT, output_kind
from ..audio_io import read_audio, write_wav
from ..errors import InputFileError, OutputFileError, ParameterError
from ..model_kinds import HEADLINE_VARIANT, is_foa
from ..paths import refuse_overwriting_inputs
from .scene_input import SourcePlacement, UserScene, build_scene

log = logging.getLogger(__name__)
FORMATS = ("binaural", "foa")  # what binauralize writes: two ears, or an FOA model's ambiX field (W, Y, Z, X)


def default_checkpoint(profile: str) -> Path:
    """The pipeline's headline model: models/<profile>/p2s_rgb/model.pt."""
    return Path("models") / profile / HEADLINE_VARIANT / "model.pt"


WAV_SUFFIXES = (".wav", ".wave")  # what write_wav writes
PICTURE_SUFFIXES = (".png", ".pdf", ".svg")  # what show-scene draws (matplotlib picks the format from it)


def check_writable(path: Path, suffixes: tuple[str, ...], what: str) -> None:
    """Fail early (before any computation) when `path` cannot take the output: a folder, a socket or a block
    device, a name whose suffix is not a format the writer writes, a device or pipe it may not write,
    an unwritable folder. A device, a pipe or `-` (standard output) may go without a suffix."""
    path = Path(path)
    if path.is_dir():
        raise OutputFileError(path, "is a directory, expected an output file name")
    kind = output_kind(path)
    suffix = path.suffix.lower()
    if (kind == "file" or suffix) and suffix not in suffixes:
        raise OutputFileError(
            path, f"the output is {what}: name it with {' or '.join(suffixes)} (not {suffix or 'no suffix'})"
        )
    if kind == "stdout":
        return
    if kind == "stream":
        if not os.access(path, os.W_OK):
            raise OutputFileError(path, "output exists and is not writable")
        return
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise OutputFileError(path, f"output cannot be written ({exc.strerror or exc})") from exc
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputFileError(path, "output exists and is not writable")


def downmix(audio: np.ndarray, mono_input: str, path: Path | str = "") -> np.ndarray:
    """(C, T) -> (T,): stereo is folded the way the model's mono input was made (noted in the log)."""
    if audio.shape[0] == 1:
        return audio[0]
    if mono_input == "left":
        how, mono = "its left channel", audio[0]
    elif mono_input == "sum_lr":
        how, mono = "the sum of its channels (the model's input is s_L + s_R)", audio.sum(axis=0)
    else:
        how, mono = "the mean of its channels", audio.mean(axis=0)
    log.warning("%s has %d channels: using %s", path, audio.shape[0], how)
    return mono.astype(np.float32)


def resample(x: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Polyphase resampling along the last axis (identity when the rates agree)."""
    if sr_from == sr_to:
        return x
    g = gcd(int(sr_from), int(sr_to))
    return scipy.signal.resample_poly(x, sr_to // g, sr_from // g, axis=-1).astype(np.float32)


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="sample", unit_scale=True, desc="binauralize", disable=not enabled or None)


def _prepare_output(
    out_path: Path,
    inputs: Sequence[tuple[str, Path | None]],
    suffixes: tuple[str, ...] = WAV_SUFFIXES,
    what: str = "WAV audio",
) -> None:
    """Fail before any work: the output overwrites no input and can be written in its format."""
    if str(out_path) != STDOUT:
        refuse_overwriting_inputs(out_path, list(inputs))
    check_writable(out_path, suffixes, what)


def _clip_for(subtype: str, y: np.ndarray, what: str) -> tuple[np.ndarray, float]:
    """(the signal as written, its peak): PCM subtypes clip above full scale, FLOAT keeps it."""
    peak = float(np.abs(y).max(initial=0.0))
    if subtype.upper().startswith("PCM") and peak > 1.0:
        log.warning("%s peaks at %.2f (above full scale): %s will clip; FLOAT keeps it", what, peak, subtype)
        y = np.clip(y, -1.0, 1.0)
    return y, peak


def _scene_inputs(
    scene_npz: Path | None, cloud_paths: Sequence[Path], sources: Sequence[SourcePlacement]
) -> list[tuple[str, Path | None]]:
    return [("--scene", scene_npz), *(("--cloud", p) for p in cloud_paths), *(("--source", s.path) for s in sources)]


def _binauralize_at_model_rate(
    system: Any, config: Mapping[str, Any], options: Any, mono: np.ndarray, sr_in: int, scene: UserScene, progress: bool
) -> tuple[np.ndarray, Any, int]:
    """The model's output at the input's rate, the runner and the input's length at the model's rate."""
    from .binauralize import Binauralizer, InferenceOptions

    sr = int(config["sample_rate"])
    if sr_in != sr:
        log.info("resampling %d Hz -> %d Hz (the model's rate) and back", sr_in, sr)
    x = resample(mono, sr_in, sr)
    runner = Binauralizer(system, config, options or InferenceOptions())
    h = runner.visual_feature(scene.coords, scene.feats)
    with _progress_bar(x.size, progress) as bar:
        y = runner(x, h, progress=bar.update)
    return resample(y, sr, sr_in), runner, x.size


def _decoder(hrir: Path, sample_rate: int) -> np.ndarray:
    """The magLS decoding filters (2, 4, L) of an HRIR SOFA set at `sample_rate` (the output's)."""
    from ..foa.ambisonics import binaural_decoder
    from ..render.sofa_io import read_ir_set, resample_ir_set

    irset = read_ir_set(hrir)
    if irset.sample_rate != sample_rate:
        log.info("resampling %s from %d Hz to %d Hz", hrir, irset.sample_rate, sample_rate)
        irset = resample_ir_set(irset, sample_rate)
    return binaural_decoder(irset)


def _field_output(field: np.ndarray, yaw_deg: float, decoder: np.ndarray | None) -> np.ndarray:
    """An FOA model's field turned with the head by `yaw_deg`, decoded when a decoder is given."""
    from ..foa.ambisonics import decode_binaural, rotate_foa

    field = rotate_foa(field, yaw_deg) if yaw_deg else field
    return field if decoder is None else decode_binaural(field, decoder).astype(np.float32)


def _summary(
    out_path: Path, n: int, sr_in: int, config: Mapping[str, Any], peak: float, voxels: int, runner: Any, samples: int
) -> dict[str, Any]:
    """What binauralize_file did (logged too); `samples`: the input's length at the model's rate."""
    plan = runner.plan(samples)
    info = {
        "output": str(out_path),
        "samples": n,
        "sample_rate": sr_in,
        "model_rate": int(config["sample_rate"]),
        "peak": peak,
        "voxels": int(voxels),
        "chunks": 1 if plan is None else len(plan.starts),
        "variant": config.get("variant"),
        "device": str(runner.device),
        "precision": runner.options.precision,
        "engine": runner.engine,
    }
    log.info(
        "wrote %s (%.1f s, %d voxels, %s chunk(s), %s %s engine on %s)",
        out_path,
        n / sr_in,
        info["voxels"],
        info["chunks"],
        info["precision"],
        info["engine"],
        info["device"],
    )
    return info


def binauralize_file(
    audio_path: Path,
    out_path: Path,
    *,
    checkpoint: Path,
    listener_height_m: float,
    cloud_paths: Sequence[Path] = (),
    sources: Sequence[SourcePlacement] = (),
    scene_npz: Path | None = None,
    features: str | None = None,
    yaw_deg: float = 0.0,
    options: Any = None,
    subtype: str = "FLOAT",
    progress: bool = True,
    output_format: str = "binaural",
    hrir: Path | None = None,
) -> dict[str, Any]:
    """Binauralize one audio file with a trained checkpoint; returns what was done.

    The scene is voxelized at the voxel size the checkpoint was trained with (its config's voxel_size_m).
    A binaural model turns the scene by -yaw (the head's turn). An FOA model predicts the field of the
    scene as given and turns the field instead (`foa.ambisonics.rotate_foa`: no second network pass for
    another head orientation); it writes the ambiX field (`output_format='foa'`) or decodes it through
    the `hrir` SOFA set (binaural).
    """
    from ..models.loading import load_system

    if output_format not in FORMATS:
        raise ParameterError("format", f"must be one of {FORMATS}, got {output_format!r}")
    inputs = [("audio", audio_path), ("--checkpoint", checkpoint), *_scene_inputs(scene_npz, cloud_paths, sources)]
    if hrir is not None:
        inputs.append(("--hrir", hrir))
    _prepare_output(out_path, inputs)
    audio, sr_in = read_audio(audio_path)
    system, blob = load_system(checkpoint)
    config = blob["config"]
    field_model = is_foa(config)
    if output_format == "foa" and not field_model:
        raise ParameterError("format", f"'foa' needs an FOA model; {checkpoint} is a {config['model']} model")
    if field_model and output_format == "binaural" and hrir is None:
        raise ParameterError(
            "hrir", f"{checkpoint} predicts an ambiX field: decoding it to headphones needs --hrir SOFA"
        )
    decoder = _decoder(hrir, sr_in) if field_model and output_format == "binaural" else None  # at the output's rate
    if features and features != config["features"]:
        log.warning("the checkpoint was trained on %s features; using %s as asked", config["features"], features)
    scene = build_scene(
        cloud_paths=cloud_paths,
        sources=sources,
        scene_npz=scene_npz,
        features=features or config["features"],
        voxel_size=float(config["voxel_size_m"]),
        listener_height_m=listener_height_m,
        yaw_deg=0.0 if field_model else yaw_deg,
    )
    mono = downmix(audio, config["mono_input"], audio_path)
    if not np.any(mono):
        log.warning("%s is silent: the output will be the model's response to silence", audio_path)
    y, runner, model_samples = _binauralize_at_model_rate(system, config, options, mono, sr_in, scene, progress)
    if field_model:
        y = _field_output(y, yaw_deg, decoder)
    n = audio.shape[1]
    y = y[:, :n] if y.shape[1] >= n else np.pad(y, ((0, 0), (0, n - y.shape[1])))
    y, peak = _clip_for(subtype, y, "the output")
    write_wav(out_path, y, sr_in, subtype=subtype)
    return _summary(out_path, n, sr_in, config, peak, len(scene.coords), runner, model_samples)


# ---------------------------------------------------------------------------------
# Classical renderer
# ---------------------------------------------------------------------------------


def _read_stems(stems: Sequence[tuple[Path, float]]) -> tuple[list[tuple[np.ndarray, float, Path]], int]:
    """(mono signal, azimuth, path) of every stem, and their one sample rate."""
    signals, rate = [], None
    for path, az in stems:
        audio, sr = read_audio(path)
        if rate is not None and sr != rate:
            raise InputFileError(path, f"sample rate {sr} Hz differs from the first stem's {rate} Hz")
        rate = sr
        if audio.shape[0] > 1:
            log.warning("%s has %d channels: using their mean", path, audio.shape[0])
        signals.append((audio.mean(axis=0), float(az), path))
    assert rate is not None
    return signals, rate


def _stem_ir(irset: Any, az: float, path: Path, tolerance_deg: float) -> np.ndarray:
    """The set's measurement nearest to a stem's azimuth; the error lists the set's azimuths."""
    if not np.isfinite(az):
        raise ParameterError("azimuth", f"{path}: must be a number of degrees")
    try:
        return irset.ir(az, tol_deg=tolerance_deg)
    except ParameterError as exc:
        measured = np.unique(np.round(irset.azimuths_deg[np.abs(irset.elevations_deg) <= 0.5], 1))
        raise ParameterError(
            "azimuth", f"{exc}; this set holds {measured.size} horizontal azimuths, e.g. {measured[:12].tolist()}"
        ) from None


def render_stems(
    stems: Sequence[tuple[Path, float]],
    ir_path: Path,
    out_path: Path,
    *,
    scale_by_n: bool = False,
    tolerance_deg: float = 2.5,
    subtype: str = "FLOAT",
) -> dict[str, Any]:
    """Mono stems at azimuths through a SOFA HRIR/BRIR set, summed (Eq. 2): the non-learned baseline.

    Every stem is convolved with the set's measurement nearest to its azimuth (within
    `tolerance_deg`); stems must share one sample rate, the set is resampled to it.
    """
    from ..render.binaural import render_binaural
    from ..render.sofa_io import read_ir_set, resample_ir_set

    if not stems:
        raise ParameterError("stem", "give at least one --stem PATH AZIMUTH")
    _prepare_output(out_path, [("--ir", ir_path), *(("--stem", p) for p, _ in stems)])
    irset = read_ir_set(ir_path)
    signals, rate = _read_stems(stems)
    if irset.sample_rate != rate:
        log.info("resampling IR set %s from %d Hz to %d Hz", irset.name, irset.sample_rate, rate)
        irset = resample_ir_set(irset, rate)
    out = np.zeros((2, max(s.size for s, _, _ in signals)), np.float32)
    used = []
    for sig, az, path in signals:
        ir = _stem_ir(irset, az, path, tolerance_deg)
        if not np.any(sig):
            log.warning("%s is silent", path)
        out[:, : sig.size] += render_binaural(sig, ir[None])[0]
        used.append(float(irset.azimuths_deg[int(irset.nearest_indices(np.asarray(az)))]))
    if scale_by_n:
        out /= len(signals)
    out, peak = _clip_for(subtype, out, "the render")
    write_wav(out_path, out, rate, subtype=subtype)
    log.info(
        "rendered %d stem(s) through %s (%s) at azimuths %s -> %s", len(signals), irset.name, irset.kind, used, out_path
    )
    return {"output": str(out_path), "azimuths_used": used, "sample_rate": rate, "ir_kind": irset.kind, "peak": peak}


# ---------------------------------------------------------------------------------
# Scene viewer
# ---------------------------------------------------------------------------------


def show_scene_file(
    out_path: Path,
    *,
    voxel_size: float,
    cloud_paths: Sequence[Path] = (),
    sources: Sequence[SourcePlacement] = (),
    scene_npz: Path | None = None,
    yaw_deg: float = 0.0,
    listener_height_m: float,
    azimuths: Sequence[float] = (),
    title: str | None = None,
) -> UserScene:
    """Top and side views of a scene with the listener's head and the azimuths marked (PNG, PDF or SVG)."""
    from .show import plot_scene

    _prepare_output(out_path, _scene_inputs(scene_npz, cloud_paths, sources), PICTURE_SUFFIXES, "a picture")
    scene = build_scene(
        cloud_paths=cloud_paths,
        sources=sources,
        scene_npz=scene_npz,
        features="rgb",
        voxel_size=voxel_size,
        listener_height_m=listener_height_m,
        yaw_deg=yaw_deg,
        require_colours=False,
    )  # a drawing: grey points are fine
    marks = list(scene.azimuths_deg) + [(a - yaw_deg) % 360.0 for a in azimuths]
    labels = list(scene.labels) + [""] * len(azimuths)
    plot_scene(scene, out_path, marks, labels, yaw_deg=yaw_deg, listener_height_m=listener_height_m, title=title)
    return scene
