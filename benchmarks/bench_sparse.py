"""Forward + backward time of the sparse ResNet18 vision network on synthetic concert scenes.

Each scene holds 3 performers built from ellipsoid surfaces (head, torso, legs, arms,
instrument) densely sampled and voxelized at 0.02 m, placed at azimuths k * 45 deg and
1-3 m from the listener like the paper's scenes: about 25k occupied voxels. One
iteration = collate (fresh coordinate manager, so kernel maps are rebuilt as in
training) + forward + backward of sum(h**2). Usage:

    python benchmarks/bench_sparse.py --out results/benchmarks/sparse.json
    python benchmarks/bench_sparse.py --device cuda --batch 1 8 40
    python benchmarks/bench_sparse.py --threads 2 --out /tmp/sparse_2threads.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from points2sound.atomic import write_text
from points2sound.models.vision import SparseResNet18, count_parameters

ROOT = Path(__file__).resolve().parents[1]
VOXEL = 0.02
# (centre xyz, radii xyz) in metres, y up, facing +z: a seated performer with an instrument.
BODY = [
    ((0.0, 1.45, 0.0), (0.10, 0.12, 0.11)),
    ((0.0, 1.05, 0.0), (0.20, 0.30, 0.13)),
    ((-0.1, 0.45, 0.1), (0.08, 0.42, 0.08)),
    ((0.1, 0.45, 0.1), (0.08, 0.42, 0.08)),
    ((-0.28, 1.0, 0.08), (0.05, 0.30, 0.05)),
    ((0.28, 1.0, 0.08), (0.05, 0.30, 0.05)),
    ((0.0, 0.9, 0.3), (0.22, 0.40, 0.10)),
]
PROFILES = {"demo": (16, 32, 64, 128), "paper": (64, 128, 256, 512)}


def ellipsoid_area(r: np.ndarray) -> float:
    """Knud Thomsen's approximation of an ellipsoid's surface area."""
    p = 1.6075
    a, b, c = r**p
    return 4 * np.pi * ((a * b + a * c + b * c) / 3) ** (1 / p)


def performer(rng: np.random.Generator) -> np.ndarray:
    """Surface points (m, 3) of one performer, dense enough to fill every surface voxel."""
    pts = []
    for centre, radii in BODY:
        radii = np.asarray(radii) * rng.uniform(0.9, 1.1, 3)
        n = int(4 * ellipsoid_area(radii) / VOXEL**2)
        d = rng.standard_normal((n, 3))
        pts.append(d / np.linalg.norm(d, axis=1, keepdims=True) * radii + centre)
    return np.concatenate(pts)


def concert_scene(rng: np.random.Generator, performers: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Voxels (m, 3) int64 and rgb (m, 3) float32 of performers around a listener at the origin."""
    azimuths = rng.choice(8, performers, replace=False) * np.pi / 4
    parts = []
    for az in azimuths:
        p = performer(rng)
        dist = rng.uniform(1.0, 3.0)
        # Face the listener: the performer's +z points back towards the origin.
        rot = np.array(
            [[np.cos(az + np.pi), 0, np.sin(az + np.pi)], [0, 1, 0], [-np.sin(az + np.pi), 0, np.cos(az + np.pi)]]
        )
        parts.append(p @ rot.T + [dist * np.sin(az), -1.0, dist * np.cos(az)])
    coords = np.unique(np.floor(np.concatenate(parts) / VOXEL).astype(np.int64), axis=0)
    return coords, rng.random((len(coords), 3), dtype=np.float32)


def time_iterations(model: SparseResNet18, scenes: list, device: str, repeats: int) -> dict:
    coords, feats = zip(*scenes)

    def step() -> tuple[float, float, float]:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        x = model.collate(list(coords), list(feats), device=device)
        h = model(x)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        h.square().sum().backward()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t2 = time.perf_counter()
        # Kernel-map share: rebuild every map of this iteration on a fresh tensor.
        fresh = model.collate(list(coords), list(feats), device=device)
        keys = x.coordinate_manager.cache_info()["kernel_maps"]
        t3 = time.perf_counter()
        for key in keys:
            fresh.coordinate_manager.kernel_map(*key)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return t1 - t0, t2 - t1, time.perf_counter() - t3

    step()  # warm-up (allocator, kernels)
    runs = [step() for _ in range(repeats)]
    fwd, bwd, maps = (statistics.median(r[i] for r in runs) for i in range(3))
    return {
        "forward_s": round(fwd, 4),
        "backward_s": round(bwd, 4),
        "total_s": round(fwd + bwd, 4),
        "kernel_maps_s": round(maps, 4),
        "repeats": repeats,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--profiles", nargs="+", default=list(PROFILES), choices=list(PROFILES))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks" / "sparse.json")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    rng = np.random.default_rng(args.seed)
    scenes = [concert_scene(rng) for _ in range(max(args.batch))]
    voxels = [len(c) for c, _ in scenes]
    print(
        f"scenes: {len(scenes)}, voxels per scene: min {min(voxels)}, median {int(np.median(voxels))}, max {max(voxels)}"
    )
    results = []
    for profile in args.profiles:
        torch.manual_seed(args.seed)
        model = SparseResNet18(planes=PROFILES[profile], seed=args.seed).to(args.device).train()
        for batch in args.batch:
            r = time_iterations(model, scenes[:batch], args.device, args.repeats)
            r.update(
                profile=profile,
                planes=list(PROFILES[profile]),
                parameters=count_parameters(model),
                batch=batch,
                voxels=int(sum(voxels[:batch])),
            )
            results.append(r)
            print(
                f"{profile:5s} batch {batch:3d} ({r['voxels']} voxels): forward {r['forward_s']:.3f} s, "
                f"backward {r['backward_s']:.3f} s, total {r['total_s']:.3f} s (kernel maps {r['kernel_maps_s']:.3f} s)"
            )
    report = {
        "device": args.device,
        "device_name": torch.cuda.get_device_name()
        if args.device.startswith("cuda")
        else platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "voxel_size_m": VOXEL,
        "voxels_per_scene": voxels,
        "results": results,
    }
    write_text(args.out, json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
