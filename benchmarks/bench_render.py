"""Binaural rendering speed: render_binaural against a loop of scipy.signal.fftconvolve.

The dataset renders every recording at 8 azimuths (anechoic HRIRs, 512 taps) and at
5 head rotations (BRIRs of up to ~0.6 s). render_binaural transforms the input once
(per block) and reuses it for all K x 2 filters; the baseline convolves each of the
K x 2 filters separately, as a plain per-azimuth renderer would. One thread: BLAS/FFT
thread pools are pinned to 1, so the figures are per core. Throughput is seconds of
binaural audio produced (K renders of the input) per wall-clock second. The BRIR is
exponentially decaying noise with the requested RT60-like length (only its length
matters for speed). Usage:

    python benchmarks/bench_render.py --out results/benchmarks/render.json
    python benchmarks/bench_render.py --seconds 10 --repeats 1
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy loads its thread pools

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.signal  # noqa: E402

from points2sound.atomic import write_text  # noqa: E402
from points2sound.config import load_params  # noqa: E402
from points2sound.render.binaural import render_binaural  # noqa: E402
from points2sound.render.sphere_head import sphere_hrirs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPHERE_HEAD = {  # params.yaml's rigid-sphere head
    k: load_params(ROOT / "params.yaml")["hrir"][k]
    for k in ("head_radius_m", "ear_angle_deg", "distance_m", "speed_of_sound")
}


def loop_convolve(mono: np.ndarray, irs: np.ndarray, convolve=scipy.signal.fftconvolve) -> np.ndarray:
    """Baseline: one scipy convolution per (azimuth, ear), truncated to the input length."""
    out = np.empty(irs.shape[:2] + mono.shape, dtype=mono.dtype)
    for k in range(irs.shape[0]):
        for e in range(2):
            out[k, e] = convolve(mono, irs[k, e])[: mono.size]
    return out


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the mono input")
    ap.add_argument("--sample-rate", type=int, default=44100)
    ap.add_argument("--azimuths", type=int, default=8)
    ap.add_argument("--hrir-taps", type=int, default=512)
    ap.add_argument("--brir-seconds", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks" / "render.json")
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    fs = args.sample_rate
    mono = rng.standard_normal(int(args.seconds * fs)).astype(np.float32)
    az = np.arange(args.azimuths) * 360.0 / args.azimuths
    n_brir = int(args.brir_seconds * fs)
    decay = np.exp(-6.9 * np.arange(n_brir) / n_brir)  # -60 dB over the length
    filters = {
        f"hrir_{args.hrir_taps}": sphere_hrirs(az, fs, **{**SPHERE_HEAD, "taps": args.hrir_taps}),
        f"brir_{args.brir_seconds:g}s": (rng.standard_normal((args.azimuths, 2, n_brir)) * decay).astype(np.float32),
    }
    rows = []
    for name, irs in filters.items():
        ref = loop_convolve(mono, irs)
        got = render_binaural(mono, irs)
        err = float(np.abs(got - ref).max() / np.abs(ref).max())
        produced = args.seconds * args.azimuths  # seconds of binaural output per call
        for method, fn in (
            ("render_binaural", lambda irs=irs: render_binaural(mono, irs)),
            ("loop_fftconvolve", lambda irs=irs: loop_convolve(mono, irs)),
            ("loop_oaconvolve", lambda irs=irs: loop_convolve(mono, irs, scipy.signal.oaconvolve)),
        ):
            wall = best_time(fn, args.repeats)
            rows.append(
                {
                    "filters": name,
                    "method": method,
                    "taps": int(irs.shape[2]),
                    "wall_s": round(wall, 4),
                    "audio_s_per_s_per_core": round(produced / wall, 1),
                    "max_rel_diff": err,
                }
            )
    for name in filters:
        fast, slow = (
            next(r for r in rows if r["filters"] == name and r["method"] == m)
            for m in ("render_binaural", "loop_fftconvolve")
        )
        fast["speedup_vs_loop"] = round(slow["wall_s"] / fast["wall_s"], 2)

    print(f"{args.seconds:g} s of {fs} Hz mono x {args.azimuths} azimuths, 1 thread")
    print(f"{'filters':<12} {'method':<18} {'taps':>7} {'wall s':>8} {'audio s/s/core':>15} {'speedup':>8}")
    for r in rows:
        print(
            f"{r['filters']:<12} {r['method']:<18} {r['taps']:>7} {r['wall_s']:>8.3f} "
            f"{r['audio_s_per_s_per_core']:>15.1f} {r.get('speedup_vs_loop', ''):>8}"
        )
    report = {
        "benchmark": "render_binaural vs loop of scipy.signal.fftconvolve",
        "input_seconds": args.seconds,
        "sample_rate": fs,
        "azimuths": args.azimuths,
        "threads": 1,
        "repeats": args.repeats,
        "timing": "best of repeats",
        "machine": cpu_name(),
        "cores_visible": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "rows": rows,
    }
    write_text(args.out, json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
