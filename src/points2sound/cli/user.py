"""User-facing commands: `binauralize` (the trained model), `render` (classical, SOFA) and `show-scene`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ParameterError

if TYPE_CHECKING:  # every command's parser registers these: infer's imports wait for a user command
    from ..infer.scene_input import SourcePlacement

FAST_LSTM_WINDOW_S = 3.0  # the paper's training segment (131072 samples at 44.1 kHz is 2.97 s)


def _scene_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scene (give one kind)")
    g.add_argument(
        "--cloud",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="a merged scene in the listener frame (PLY, or any format trimesh reads); repeat to merge",
    )
    g.add_argument(
        "--source",
        nargs=3,
        action="append",
        default=[],
        metavar=("PATH", "AZIMUTH", "DISTANCE"),
        help="one performer's cloud (y up, facing +z, floor at y=0) placed at AZIMUTH degrees "
        "(0 front, 90 left) and DISTANCE metres; repeat per source",
    )
    g.add_argument(
        "--scene",
        type=Path,
        default=None,
        metavar="NPZ",
        help="a materialized test scene (data/<profile>/scenes/test_<ir>/<id>.npz)",
    )
    p.add_argument(
        "--yaw",
        type=float,
        default=0.0,
        help="head yaw in degrees: the listener turns the head (positive = left), the scene turns the other way",
    )
    p.add_argument(
        "--listener-height",
        type=float,
        default=None,
        help="head height above the performers' floor, m (default: scenes.listener_height_m)",
    )


def _sources(args: argparse.Namespace) -> list[SourcePlacement]:
    from ..infer.scene_input import SourcePlacement

    out = []
    for path, az, dist in args.source:
        try:
            out.append(SourcePlacement(Path(path), float(az), float(dist)))
        except ValueError:
            raise ParameterError(
                "source", f"expected PATH AZIMUTH DISTANCE with numbers, got {path} {az} {dist}"
            ) from None
    return out


def _height(args: argparse.Namespace, params: dict) -> float:
    return float(args.listener_height if args.listener_height is not None else params["scenes"]["listener_height_m"])


def _cmd_binauralize(args: argparse.Namespace, params: dict) -> None:
    from ..infer.binauralize import InferenceOptions
    from ..infer.commands import binauralize_file, default_checkpoint

    options = InferenceOptions(
        chunk_s=args.chunk_s,
        overlap_s=args.overlap_s,
        batch=args.batch,
        precision=args.precision,
        device=args.device,
        threads=args.threads,
        max_whole_s=args.max_whole_s,
        engine=args.engine,
        lstm_window_s=args.lstm_window_s,
        lstm_overlap_s=args.lstm_overlap_s,
    )
    if args.fast and options.device == "cpu":
        # measured fastest on a 2-core CPU: the GEMM engine, int8 where it pays, 3 s BiLSTM windows
        options.engine = "auto" if args.engine == "module" else args.engine  # gemm for Points2Sound
        options.precision = "int8"
        options.lstm_window_s = options.lstm_window_s or FAST_LSTM_WINDOW_S
    elif args.fast:
        options.precision = "fp16" if args.precision == "fp32" else args.precision
        options.chunk_s = options.chunk_s or 3.0
        options.overlap_s = args.overlap_s if args.overlap_s is not None else 0.5
    if options.overlap_s is None:
        options.overlap_s = 1.0
    info = binauralize_file(
        args.audio,
        args.out,
        checkpoint=args.checkpoint or default_checkpoint(params["profile"]),
        cloud_paths=args.cloud,
        sources=_sources(args),
        scene_npz=args.scene,
        features=args.features,
        yaw_deg=args.yaw,
        listener_height_m=_height(args, params),
        options=options,
        subtype=args.subtype,
        progress=not args.no_progress,
        output_format=args.format,
        hrir=args.hrir,
    )
    if args.verbose:
        print(json.dumps(info, indent=2))


def _cmd_render(args: argparse.Namespace, params: dict) -> None:
    from ..infer.commands import render_stems

    stems = []
    for path, az in args.stem:
        try:
            stems.append((Path(path), float(az)))
        except ValueError:
            raise ParameterError("stem", f"expected PATH AZIMUTH with a number, got {path} {az}") from None
    render_stems(
        stems, args.ir, args.out, scale_by_n=args.scale_by_n, tolerance_deg=args.tolerance, subtype=args.subtype
    )


def _cmd_show_scene(args: argparse.Namespace, params: dict) -> None:
    from ..infer.commands import show_scene_file

    show_scene_file(
        args.out,
        cloud_paths=args.cloud,
        sources=_sources(args),
        scene_npz=args.scene,
        yaw_deg=args.yaw,
        listener_height_m=_height(args, params),
        voxel_size=float(params["scenes"]["voxel_size_m"]),
        azimuths=args.azimuth,
        title=args.title,
    )


def _add_binauralize(cmd: Callable[..., argparse.ArgumentParser]) -> None:
    p = cmd(
        "binauralize", "binauralize a mono recording with a trained model and a point-cloud scene", _cmd_binauralize
    )
    p.add_argument("audio", type=Path, help="mono (or stereo, downmixed) audio file, any length and sample rate")
    p.add_argument("--out", type=Path, required=True, help="binaural WAV, at the input's sample rate")
    p.add_argument(
        "--format",
        choices=("binaural", "foa"),
        default="binaural",
        help="binaural (two ears) or foa: an FOA model's ambiX field (W, Y, Z, X; ACN, SN3D), turned by --yaw "
        "without running the network again",
    )
    p.add_argument(
        "--hrir",
        type=Path,
        default=None,
        help="an FOA model's binaural output: the HRIR set (SOFA) its field is decoded through (magLS)",
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="trained model (default: models/<profile>/p2s_rgb/model.pt, the headline model)",
    )
    _scene_options(p)
    p.add_argument(
        "--features",
        choices=("rgb", "xyz"),
        default=None,
        help="visual features (default: those the model was trained on; rgb = rgb-depth, xyz = depth only)",
    )
    _inference_options(p)
    p.add_argument(
        "--subtype", default="FLOAT", help="WAV subtype (default FLOAT; PCM_16/PCM_24 clip above full scale)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _inference_options(p: argparse.ArgumentParser) -> None:
    """How `binauralize` runs the network: device, precision, windows, engine."""
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--precision",
        choices=("fp32", "int8", "bf16", "fp16"),
        default="fp32",
        help="fp32 (reference), int8 (dynamic quantization of LSTM/linear, CPU), bf16/fp16 (GPU)",
    )
    p.add_argument(
        "--chunk-s",
        type=float,
        default=None,
        help="process in windows of this many seconds (default: one pass up to --max-whole-s, 10 s windows beyond)",
    )
    p.add_argument(
        "--overlap-s", type=float, default=None, help="overlap of consecutive windows, s (default 1.0; --fast 0.5)"
    )
    p.add_argument("--batch", type=int, default=8, help="windows per forward pass (default 8)")
    p.add_argument(
        "--max-whole-s",
        type=float,
        default=30.0,
        help="longest input processed in one pass, exactly as the evaluation does (default 30 s)",
    )
    p.add_argument(
        "--engine",
        choices=("module", "gemm"),
        default="module",
        help="module: the trained network's own forward (default, equals the evaluation); "
        "gemm: every convolution as one matrix product (Points2Sound, faster on CPUs)",
    )
    p.add_argument(
        "--lstm-window-s",
        type=float,
        default=None,
        help="gemm engine: run the BiLSTM on batched windows of this many seconds (default: whole clip)",
    )
    p.add_argument("--lstm-overlap-s", type=float, default=0.5, help="overlap of the BiLSTM windows, s (default 0.5)")
    p.add_argument(
        "--fast",
        action="store_true",
        help=f"speed preset. CPU: gemm engine, int8 GEMMs with inner size >= 256 and BiLSTM, "
        f"{FAST_LSTM_WINDOW_S:g} s BiLSTM windows (the paper's training segment); "
        f"GPU: 3 s windows batched, 0.5 s overlap, fp16",
    )


def _add_render(cmd: Callable[..., argparse.ArgumentParser]) -> None:
    p = cmd(
        "render",
        "classical binaural rendering: mono stems at azimuths through a SOFA HRIR/BRIR set",
        _cmd_render,
        needs_params=False,
    )  # reads no parameter: runs outside the project, without params.yaml
    p.add_argument(
        "--stem",
        nargs=2,
        action="append",
        default=[],
        metavar=("PATH", "AZIMUTH"),
        required=True,
        help="a mono stem and its azimuth in degrees (0 front, 90 left); repeat per source",
    )
    p.add_argument("--ir", type=Path, required=True, help="SOFA file (HRIRs or BRIRs with two receivers)")
    p.add_argument("--out", type=Path, required=True, help="binaural WAV at the stems' sample rate")
    p.add_argument("--scale-by-n", action="store_true", help="scale the sum by 1/N like the training scenes")
    p.add_argument(
        "--tolerance",
        type=float,
        default=2.5,
        help="largest distance (degrees) to the nearest measured azimuth (default 2.5)",
    )
    p.add_argument("--subtype", default="FLOAT", help="WAV subtype (default FLOAT)")


def add_user_commands(cmd: Callable[..., argparse.ArgumentParser]) -> None:
    """Register `binauralize`, `render` and `show-scene` through the CLI's command factory."""
    _add_binauralize(cmd)
    _add_render(cmd)
    p = cmd(
        "show-scene", "draw a scene (top and side views) with the listener's head and the azimuths", _cmd_show_scene
    )
    p.add_argument("--out", type=Path, required=True, help="image file (.png, .pdf, .svg)")
    _scene_options(p)
    p.add_argument("--azimuth", type=float, action="append", default=[], help="mark this azimuth too (repeatable)")
    p.add_argument("--title", default=None)
