"""Time to binauralize 10 s of 44.1 kHz mono audio, end to end (vision net included), step by step.

For the paper-size and the demo-size Points2Sound (sizes from params.yaml; random
weights: speed does not depend on them), on a synthetic concert scene of 3 performers
(~25k voxels, as in bench_sparse.py). Each step adds one speed-up to the previous ones:

    eval      what the evaluation stage does: torch.no_grad, system.binauralize on the whole clip
    infer     the command's whole-clip path: torch.inference_mode, visual feature computed once
    chunks    3 s windows, 0.5 s overlap, all windows of the clip in one batch (BiLSTM: batch x fewer steps)
    int8      + int8 dynamic quantization of the BiLSTM and linear layers (CPU)
    fp16/bf16 + half-precision weights and activations (GPU)

and, on the CPU, the GEMM engine (infer/gemm_demucs.py) on the whole clip:

    gemm          every convolution as one matrix product, channels-last (fp32; the module's function)
    gemm_lstm3s   + the BiLSTM on batched 3 s windows of the bottleneck sequence
    gemm_int8     + int8 dynamic quantization of GEMMs with inner size >= 256, and of the BiLSTM
                  (= `points2sound binauralize --fast` on a CPU)

Reported per step: the median of repeated runs after a warm-up, the peak memory (CPU:
the process's peak resident set, reset before each step; GPU: peak allocated), and the
relative RMS difference from the `eval` output. Then the real-time factor of the
fastest step on a long file (10 min by default; chunked, so memory stays flat).

    python benchmarks/bench_inference.py                       # writes results/benchmarks.json
    python benchmarks/bench_inference.py --profiles demo --repeats 3 --long-s 60
    python benchmarks/bench_inference.py --device cuda
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from points2sound.atomic import write_text
from points2sound.config import load_params
from points2sound.infer.binauralize import Binauralizer, InferenceOptions
from points2sound.models.systems import Points2SoundNet

ROOT = Path(__file__).resolve().parents[1]
SR = 44100
PAPER_TITAN_RTX_S = 0.115


def _concert_scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.spec_from_file_location("bench_sparse", ROOT / "benchmarks" / "bench_sparse.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    coords, rgb = mod.concert_scene(np.random.default_rng(seed))
    return coords.astype(np.int32), rgb


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets the peak resident set (VmHWM)
    except OSError:
        pass


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """fp32 matrix-multiply throughput right now: on a shared host it says how busy the machine was."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return round(2 * n**3 * repeats / (time.perf_counter() - t0) / 1e9, 1)


def steps_for(device: torch.device) -> list[tuple[str, dict]]:
    chunks = {"chunk_s": 3.0, "overlap_s": 0.5, "batch": 64}
    if device.type == "cpu":
        gemm = {"engine": "gemm"}
        window = {**gemm, "lstm_window_s": 3.0, "lstm_overlap_s": 0.5}
        return [
            ("eval", {}),
            ("infer", {}),
            ("chunks", chunks),
            ("int8", {**chunks, "precision": "int8"}),
            ("gemm", gemm),
            ("gemm_lstm3s", window),
            ("gemm_int8", {**window, "precision": "int8"}),
        ]
    return [
        ("eval", {}),
        ("infer", {}),
        ("chunks", chunks),
        ("fp16", {**chunks, "precision": "fp16"}),
        ("bf16", {**chunks, "precision": "bf16"}),
        ("fp16_whole", {"precision": "fp16"}),
    ]


def run_profile(profile: str, device: torch.device, repeats: int, long_s: float, seconds: float, seed: int) -> dict:
    machine = {
        "load_average_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "fp32_matmul_gflops_at_start": matmul_gflops(device),
    }
    print(f"{profile:5s} machine now: {machine}", flush=True)
    params = load_params(ROOT / "params.yaml", profile)
    model = params["model"]
    system = Points2SoundNet(model["vision"], model["demucs"], seed=seed).eval()
    n_params = sum(p.numel() for p in system.parameters())
    coords, feats = _concert_scene(seed)
    mono = (np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 0.1).astype(np.float32)
    results, reference = [], None
    for name, opts in steps_for(device):
        if name == "eval":
            net = system.to(device)

            def once(net=net):
                with torch.no_grad():
                    scene = net.vision.collate([coords], [feats], device=device)
                    return (
                        net.binauralize(torch.from_numpy(mono).to(device)[None, None], scene)[0].float().cpu().numpy()
                    )
        else:
            runner = Binauralizer(
                system, {"sample_rate": SR}, InferenceOptions(device=str(device), max_whole_s=1e9, **opts)
            )

            def once(runner=runner):
                h = runner.visual_feature(coords, feats)
                return runner(mono, h)

        _reset_peak()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        out = once()  # warm-up
        times = []
        for _ in range(repeats):
            _sync(device)
            t0 = time.perf_counter()
            out = once()
            _sync(device)
            times.append(time.perf_counter() - t0)
        if reference is None:
            reference = out
        rel = float(np.sqrt(np.mean((out - reference) ** 2) / np.mean(reference**2)))
        r = {
            "step": name,
            "options": opts,
            "median_s": round(statistics.median(times), 4),
            "min_s": round(min(times), 4),
            "times_s": [round(t, 4) for t in times],
            "peak_memory_mb": round(_peak_mb(device), 1),
            "rel_rms_vs_eval": rel,
        }
        results.append(r)
        print(
            f"{profile:5s} {name:10s} median {r['median_s']:.3f} s (min {r['min_s']:.3f}), "
            f"peak {r['peak_memory_mb']:.0f} MB, rel. RMS vs eval {rel:.2e}",
            flush=True,
        )
    best = min(results[1:], key=lambda r: r["median_s"])
    long = {}
    if long_s > 0:
        runner = Binauralizer(
            system, {"sample_rate": SR}, InferenceOptions(device=str(device), **{"chunk_s": 10.0, **best["options"]})
        )
        long_mono = (np.random.default_rng(seed + 1).standard_normal(int(long_s * SR)) * 0.1).astype(np.float32)
        _reset_peak()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        _sync(device)
        t0 = time.perf_counter()
        runner(long_mono, runner.visual_feature(coords, feats))
        _sync(device)
        wall = time.perf_counter() - t0
        long = {
            "audio_s": long_s,
            "step": best["step"],
            "wall_s": round(wall, 2),
            "real_time_factor": round(wall / long_s, 4),
            "peak_memory_mb": round(_peak_mb(device), 1),
        }
        print(
            f"{profile:5s} {long_s:.0f} s file with '{best['step']}': {wall:.1f} s, real-time factor "
            f"{long['real_time_factor']:.4f}, peak {long['peak_memory_mb']:.0f} MB",
            flush=True,
        )
    return {
        "profile": profile,
        **machine,
        "parameters": n_params,
        "voxels": int(len(coords)),
        "audio_s": seconds,
        "sample_rate": SR,
        "steps": results,
        "fastest": best["step"],
        "fastest_median_s": best["median_s"],
        "long_file": long,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profiles", nargs="+", default=["paper", "demo"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=10.0, help="clip length timed (default 10 s)")
    ap.add_argument("--long-s", type=float, default=600.0, help="long file for the real-time factor (0: skip)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks.json")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    report = {
        "what": "binauralize 10 s of 44.1 kHz mono audio end to end (vision + audio net)",
        "device": str(device),
        "device_name": torch.cuda.get_device_name()
        if device.type == "cuda"
        else (platform.processor() or platform.machine()),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": load,
        "paper_titan_rtx_s": PAPER_TITAN_RTX_S,
        "profiles": [run_profile(p, device, args.repeats, args.long_s, args.seconds, args.seed) for p in args.profiles],
    }
    runs: dict = {}
    if args.out.exists():  # keep the other devices' and profiles' results
        try:
            runs = {r["device"]: r for r in json.loads(args.out.read_text()).get("runs", [])}
        except (ValueError, KeyError, AttributeError):
            runs = {}
    if str(device) in runs:
        fresh = {p["profile"] for p in report["profiles"]}
        kept = [p for p in runs[str(device)]["profiles"] if p["profile"] not in fresh]
        report["profiles"] = kept + report["profiles"]
    runs[str(device)] = report
    write_text(args.out, json.dumps({"runs": list(runs.values())}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
