"""Training speed of the demo variants: iterations per second of two code versions, in one run.

For each variant (default p2s_rgb, p2s_depth, m2b_rgb and the separation pre-training step) and
each code version (the working tree's `src/` and `--baseline-rev`, checked out into a temporary git
worktree), a worker subprocess with that version's PYTHONPATH runs the training step as
`train.loop.fit` does (one thread, `setup_runtime`'s deterministic CPU settings, Adam, the
variant's scene sampler and batch plan from the demo profile; no validation or checkpoints): the
source cache is first warmed with `--warm-scenes` scenes (a 2000-iteration run spends almost all
its time with a full cache), then `--warmup` iterations, then `--iterations` timed ones. Versions
alternate within each round and the order flips between rounds, so a load change hits both. Each
worker also times the parts of a few more iterations (scene building; vision forward, of which
kernel-map building; audio forward and loss; backward; optimizer step) and hashes its weights
after the timed iterations: equal hashes mean the two versions train bit-identically.

    python benchmarks/bench_train_speed.py --baseline-rev main --data data/demo
    python benchmarks/bench_train_speed.py --baseline-rev HEAD~3 --variants p2s_rgb --iterations 20

Writes results/benchmarks/train_speed.json (figures, machine facts, load before and after). On a
shared machine compare the per-CPU-second rates too (process time of the timed loop): they move
less with the load than wall-clock rates. Each version reads its own params.yaml unless --params.
The worker is this file run with --worker; it only uses calls both versions have, which are those of
the package layout of docs/architecture.md (typed settings, models.loading): a --baseline-rev from
commit b0c9fae on. Older revisions are measured with this file as it was at their time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VARIANTS = ("p2s_rgb", "p2s_depth", "m2b_rgb", "separation")


# ---------------------------------------------------------------------------
# Worker: one variant, one code version (imports from its PYTHONPATH)
# ---------------------------------------------------------------------------


def _separation_sampler(params: dict[str, Any], root: Path) -> tuple[dict[str, Any], Any]:
    """The separation config and training mixtures, through the typed settings."""
    from points2sound.data.scenes import SceneSources
    from points2sound.data.scenes.mixtures import MixtureSampler
    from points2sound.settings import stage_seed
    from points2sound.settings.train import separation_config

    sources = SceneSources.from_dataset(root, "train", params["hrir"]["name"], require_renders=False)
    seed = stage_seed(params, "separation_mixtures")
    settings = separation_config(params)
    return dict(settings.network), MixtureSampler(sources, seed, settings.scenes, settings.mixtures, augment=True)


def _variant_sampler(params: dict[str, Any], variant: str, sources: Any) -> tuple[dict[str, Any], Any]:
    """A variant's system config and training scenes, through the typed settings."""
    from points2sound.settings import stage_seed
    from points2sound.settings.train import variant_config
    from points2sound.train.variant import make_sampler

    seed = stage_seed(params, f"train_scenes_{variant}")
    run = variant_config(params, variant)
    return dict(run.system), make_sampler(run, sources, seed, True, None)


def _worker(args: argparse.Namespace) -> dict[str, Any]:
    import hashlib

    import numpy as np
    import torch

    from points2sound.config import load_params
    from points2sound.data.scenes import SceneSources
    from points2sound.sparse import coords as sparse_coords
    from points2sound.train.data import BatchPlan, IndexedScenes, micro_batches
    from points2sound.train.runtime import setup_runtime

    params = load_params(Path(args.params), args.profile)
    device, _ = setup_runtime("cpu", args.threads, int(params["seed"]))
    root = Path(args.data)
    hrir = params["hrir"]["name"]
    if args.variant == "separation":
        from points2sound.models.loading import build_separation
        from points2sound.train.separation import SeparationTask, collate_mixtures

        config, sampler = _separation_sampler(params, root)
        system = build_separation(config)
        task, collate = SeparationTask(system, []), collate_mixtures
        batch_size = micro = int(params["pretrain_audio"]["batch_size"])
    else:
        from points2sound.models.loading import build_from_config
        from points2sound.train.data import collate_scenes
        from points2sound.train.variant import SceneTask

        config, sampler = _variant_sampler(params, args.variant, SceneSources.from_dataset(root, "train", hrir))
        system = build_from_config(config)
        task, collate = SceneTask(system, config, []), collate_scenes
        batch_size, micro = int(params["train"]["batch_size"]), int(params["train"]["micro_batch_size"])
    target_of = lambda b: b.target  # noqa: E731
    plan = BatchPlan(batch_size, micro, 1)
    for i in range(args.warm_scenes):  # fill the source caches as a long run has them (indices no batch uses)
        sampler[10**9 + i]
    system.to(device).train()
    optimizer = torch.optim.Adam(system.parameters(), lr=float(params["train"]["lr"]))
    dataset = IndexedScenes(sampler.__getitem__)

    def step(group: list) -> None:
        optimizer.zero_grad(set_to_none=True)
        for batch in group:
            (task.loss(system, batch, device) / len(group)).backward()
        optimizer.step()

    n_warm, n_timed, n_parts = args.warmup, args.iterations, args.parts_iterations
    batches = micro_batches(dataset, plan, 0, n_warm + n_timed + n_parts, 0, collate, 0)
    for _ in range(n_warm):
        step(next(batches))
    data_s = model_s = 0.0
    t_start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(n_timed):
        t0 = time.perf_counter()
        group = next(batches)
        t1 = time.perf_counter()
        step(group)
        t2 = time.perf_counter()
        data_s += t1 - t0
        model_s += t2 - t1
    wall, cpu = time.perf_counter() - t_start, time.process_time() - cpu_start
    digest = hashlib.sha256()
    for name, value in sorted(system.state_dict().items()):
        digest.update(name.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())

    # parts of a few more iterations (synchronous timers; kernel maps timed inside the vision forward)
    km_s = [0.0]
    original = sparse_coords.CoordinateManager.kernel_map

    def timed_kernel_map(self, *a, **k):
        t = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            km_s[0] += time.perf_counter() - t

    sparse_coords.CoordinateManager.kernel_map = timed_kernel_map
    parts = dict(data=0.0, vision_forward=0.0, kernel_maps=0.0, audio_forward_loss=0.0, backward=0.0, optimizer=0.0)
    voxels = []
    for _ in range(n_parts):
        t0 = time.perf_counter()
        group = next(batches)
        parts["data"] += time.perf_counter() - t0
        optimizer.zero_grad(set_to_none=True)
        for batch in group:
            b = batch.to(device)
            voxels += [len(c) for c in b.coords]
            km_s[0] = 0.0
            t0 = time.perf_counter()
            h = system.vision(system.vision.collate(b.coords, b.feats, device=device))
            t1 = time.perf_counter()
            out = system.audio(b.mono, h)
            if hasattr(system, "output_from_audio"):
                out = system.output_from_audio(b.mono, out)
            loss = system.objective(out, b.mono, target_of(b)) / len(group)
            t2 = time.perf_counter()
            loss.backward()
            t3 = time.perf_counter()
            parts["vision_forward"] += t1 - t0
            parts["kernel_maps"] += km_s[0]
            parts["audio_forward_loss"] += t2 - t1
            parts["backward"] += t3 - t2
        t0 = time.perf_counter()
        optimizer.step()
        parts["optimizer"] += time.perf_counter() - t0
    sparse_coords.CoordinateManager.kernel_map = original
    return {
        "variant": args.variant,
        "iterations": n_timed,
        "batch_size": batch_size,
        "wall_s": wall,
        "iterations_per_s": n_timed / wall,
        "iterations_per_cpu_s": n_timed / cpu,
        "data_s_per_it": data_s / n_timed,
        "model_s_per_it": model_s / n_timed,
        "parts_s_per_it": {k: v / max(n_parts, 1) for k, v in parts.items()},
        "mean_voxels_per_scene": float(np.mean(voxels)) if voxels else None,
        "weights_sha256": digest.hexdigest(),
        "torch_threads": torch.get_num_threads(),
    }


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _load() -> dict[str, Any]:
    one, five, fifteen = os.getloadavg()
    return {
        "loadavg_1_5_15": [round(one, 2), round(five, 2), round(fifteen, 2)],
        "cpus": os.cpu_count(),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    }


def _run_worker(src: Path, variant: str, args: argparse.Namespace) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    params = args.params or src.parent / "params.yaml"  # each version's own file: its schema may differ
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--variant",
        variant,
        "--params",
        str(params),
        "--profile",
        args.profile,
        "--data",
        str(args.data),
        "--threads",
        str(args.threads),
        "--iterations",
        str(args.iterations),
        "--warmup",
        str(args.warmup),
        "--warm-scenes",
        str(args.warm_scenes),
        "--parts-iterations",
        str(args.parts_iterations),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(src.parent))
    if proc.returncode:
        raise SystemExit(f"worker {variant} ({src}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline-rev", default="main", help="git revision to compare with (checked out in a worktree)")
    ap.add_argument(
        "--variants",
        nargs="+",
        default=list(DEFAULT_VARIANTS),
        help="variants of params.yaml, or 'separation' for the separation pre-training step",
    )
    ap.add_argument(
        "--params",
        type=Path,
        default=None,
        help="parameter file for both versions (default: each version's own params.yaml)",
    )
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "demo", help="the profile's dataset root")
    ap.add_argument("--iterations", type=int, default=30, help="timed iterations per worker")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--warm-scenes", type=int, default=400, help="scenes built first to fill the source caches")
    ap.add_argument("--parts-iterations", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2, help="rounds of both versions per variant, order alternating")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the demo trains with 1 per process)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks" / "train_speed.json")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--variant", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(_worker(args)))
        return
    args.params = args.params.resolve() if args.params else None
    args.data = args.data.resolve()
    if not (args.data / "splits").is_dir():
        raise SystemExit(f"{args.data} holds no dataset (splits/); run the data half first or pass --data")

    from points2sound.atomic import write_text
    from points2sound.machine import machine_facts

    baseline_commit = _git("rev-parse", args.baseline_rev)
    current = {"commit": _git("rev-parse", "HEAD"), "dirty": bool(_git("status", "--porcelain", "--", "src"))}
    results: dict[str, dict[str, list]] = {v: {"baseline": [], "current": []} for v in args.variants}
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="p2s-bench-") as tmp:
        tree = Path(tmp) / "baseline"
        _git("worktree", "add", "--detach", str(tree), baseline_commit)
        try:
            sources = {"baseline": tree / "src", "current": ROOT / "src"}
            for r in range(args.rounds):
                for v in args.variants:
                    order = (
                        ("baseline", "current") if (r + args.variants.index(v)) % 2 == 0 else ("current", "baseline")
                    )
                    for version in order:
                        res = _run_worker(sources[version], v, args)
                        res["round"], res["loadavg_1"] = r, round(os.getloadavg()[0], 2)
                        results[v][version].append(res)
                        print(
                            f"round {r} {v:11s} {version:8s} {res['iterations_per_s']:.3f} it/s "
                            f"({res['iterations_per_cpu_s']:.3f} per CPU s) "
                            f"(data {res['data_s_per_it'] * 1e3:.0f} ms, model {res['model_s_per_it'] * 1e3:.0f} ms; "
                            f"load {res['loadavg_1']})",
                            flush=True,
                        )
        finally:
            _git("worktree", "remove", "--force", str(tree))
    summary = {}
    for v, by in results.items():
        rate = {k: statistics.median(x["iterations_per_s"] for x in runs) for k, runs in by.items()}
        cpu_rate = {k: statistics.median(x["iterations_per_cpu_s"] for x in runs) for k, runs in by.items()}
        parts = {
            k: {p: statistics.median(x["parts_s_per_it"][p] for x in runs) for p in runs[0]["parts_s_per_it"]}
            for k, runs in by.items()
        }
        summary[v] = {
            "iterations_per_s": rate,
            "speedup": rate["current"] / rate["baseline"],
            "iterations_per_cpu_s": cpu_rate,
            "cpu_speedup": cpu_rate["current"] / cpu_rate["baseline"],
            "data_s_per_it": {k: statistics.median(x["data_s_per_it"] for x in runs) for k, runs in by.items()},
            "model_s_per_it": {k: statistics.median(x["model_s_per_it"] for x in runs) for k, runs in by.items()},
            "parts_s_per_it": parts,
            "bit_identical_weights": len({x["weights_sha256"] for runs in by.values() for x in runs}) == 1,
        }
    report = {
        "what": "training iterations per second, demo profile, two code versions alternating in one run",
        "baseline": {"rev": args.baseline_rev, "commit": baseline_commit},
        "current": current,
        "settings": {
            k: getattr(args, k)
            for k in ("profile", "iterations", "warmup", "warm_scenes", "parts_iterations", "rounds", "threads")
        },
        "data": str(args.data),
        "summary": summary,
        "runs": results,
        "load_before": load_before,
        "load_after": _load(),
        "machine": machine_facts(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.out, json.dumps(report, indent=2, default=str) + "\n")
    for v, s in summary.items():
        print(
            f"{v:11s} baseline {s['iterations_per_s']['baseline']:.3f} it/s  current {s['iterations_per_s']['current']:.3f}"
            f" it/s  x{s['speedup']:.2f} (per CPU second x{s['cpu_speedup']:.2f})  bit-identical weights: {s['bit_identical_weights']}"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
