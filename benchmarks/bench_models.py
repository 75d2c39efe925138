"""Model figures for the training issue: parameter counts, sparse vs dense vision, training speed.

1. Parameter counts of the paper-size and demo-size networks (Points2Sound: sparse ResNet18
   with K = 16 + conditioned Demucs, both losses; Mono2Binaural: ResNet18 with a 512 head +
   U-Net), built from params.yaml.
2. Sparse ResNet18 forward time on a 3-performer scene (bench_sparse's synthetic concert,
   about 25k voxels of 0.02 m) against a dense conv3d network of the same layers on the
   scene's bounding grid (zeros where no voxel is).
3. Training speed and peak memory of the demo variants, read from the pipeline's run records
   (logs/demo/<rule>.run.json beside each rule's log: timing, memory, device and machine facts
   are kept out of the artifacts) and the parameter counts from its summaries
   (results/demo/train/<run>/metrics.json, dvclive's summary); run `snakemake` first.

    python benchmarks/bench_models.py --out results/benchmarks/models.json [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from points2sound.atomic import write_text
from points2sound.config import load_params
from points2sound.machine import machine_facts
from points2sound.models.loading import build_from_config
from points2sound.settings.train import system_config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from bench_sparse import concert_scene  # noqa: E402


def parameter_counts(profile: str) -> dict[str, int]:
    params = load_params(ROOT / "params.yaml", profile)
    out = {}
    for variant in ("p2s_rgb", "p2s_diff", "m2b_rgb"):
        with torch.device("meta"):
            system = build_from_config(system_config(params, variant))
        out[variant] = {
            "total": sum(p.numel() for p in system.parameters()),
            "vision": sum(p.numel() for p in system.vision.parameters()),
            "audio": sum(p.numel() for p in system.audio.parameters()),
        }
    return out


class DenseBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv3d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(c_out)
        self.conv2 = nn.Conv3d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm3d(c_out)
        self.down = (
            None
            if stride == 1 and c_in == c_out
            else nn.Sequential(nn.Conv3d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm3d(c_out))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + (x if self.down is None else self.down(x)))


class DenseResNet18(nn.Module):
    """The vision network's layers as dense 3D convolutions (the reference the sparse one avoids)."""

    def __init__(self, planes=(64, 128, 256, 512), k: int = 16):
        super().__init__()
        layers = [
            nn.Conv3d(3, planes[0], 5, 2, 2, bias=False),
            nn.BatchNorm3d(planes[0]),
            nn.ReLU(),
            nn.AvgPool3d(2, 2),
        ]
        c = planes[0]
        for p in planes:
            layers += [DenseBlock(c, p, 2), DenseBlock(p, p, 1)]
            c = p
        layers += [nn.Conv3d(c, k, 3, 1, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).amax(dim=(2, 3, 4))


def time_call(fn, repeats: int, device: str) -> float:
    fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def sparse_vs_dense(planes, device: str, repeats: int) -> dict:
    from points2sound.models.vision import SparseResNet18

    rng = np.random.default_rng(0)
    coords, feats = concert_scene(rng)
    sparse = SparseResNet18(3, 16, planes).to(device).eval()
    dense = DenseResNet18(planes).to(device).eval()
    lo = coords.min(0)
    shape = tuple(int(s) for s in coords.max(0) - lo + 1)
    grid = torch.zeros((1, 3, *shape), device=device)
    idx = torch.as_tensor(coords - lo, device=device).long()
    grid[0, :, idx[:, 0], idx[:, 1], idx[:, 2]] = torch.as_tensor(feats, device=device).T

    def run_sparse():
        with torch.inference_mode():
            sparse(sparse.collate([coords], [feats], device=device))

    def run_dense():
        with torch.inference_mode():
            dense(grid)

    out = {
        "voxels": int(len(coords)),
        "grid": list(shape),
        "grid_cells": int(np.prod(shape)),
        "sparse_forward_s": time_call(run_sparse, repeats, device),
    }
    try:
        out["dense_forward_s"] = time_call(run_dense, max(1, repeats // 3), device)
    except (RuntimeError, MemoryError) as exc:  # the dense grid may not fit
        out["dense_forward_s"] = None
        out["dense_error"] = str(exc)[:200]
    return out


def training_summaries(profile: str) -> dict:
    """Per training run: iterations and parameters (its summary), speed, memory and device (its run record)."""
    out = {}
    for path in sorted((ROOT / "results" / profile / "train").glob("*/metrics.json")):  # dvclive folders
        s, name = json.loads(path.read_text()), path.parent.name
        rule = name if name.startswith("pretrain_") else f"train_{name}"
        record = ROOT / "logs" / profile / f"{rule}.run.json"
        r = json.loads(record.read_text()) if record.is_file() else {}
        out[name] = {
            "iterations": s.get("iterations"),
            "parameters": s.get("parameters"),
            **{
                k: r.get(k)
                for k in (
                    "iterations_per_s",
                    "train_seconds",
                    "peak_memory_mb",
                    "device",
                    "iterations_run",
                    "wall_seconds",
                )
            },
            "torch_threads": r.get("machine", {}).get("torch_threads"),
            "run_record": str(record.relative_to(ROOT)) if r else None,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    result = {
        "machine": machine_facts(cwd=ROOT),
        "device": args.device,
        "threads": args.threads,
        "parameters": {p: parameter_counts(p) for p in ("paper", "demo")},
        "sparse_vs_dense": {
            name: sparse_vs_dense(planes, args.device, args.repeats)
            for name, planes in (("demo", (16, 32, 64, 128)), ("paper", (64, 128, 256, 512)))
        },
        "training_demo": training_summaries("demo"),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        write_text(args.out, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
