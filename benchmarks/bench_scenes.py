"""Throughput of scene generation: training scenes per second per core, and voxelization alone.

Training scenes as the paper draws them (Sec. 3.4): N uniform in 1..3, a
131072-sample segment of each source's binaural render, each performer's frame
augmented, placed, merged and voxelized at 0.02 m (rgb features, s_L + s_R
input). Timed twice: with a cold cache (every file read from disk) and a warm one
(the sampler's LRU cache holds the frames and short renders), plus a breakdown
of one scene's time into spec, audio, cloud (read + augment + place) and
voxelization, and test-scene materialization (no augmentation, all variants).

Without --dataset-root it writes a synthetic dataset to a temporary folder:
5 instruments x 2 recordings of 6 s at 44.1 kHz, renders at the 8 azimuths,
2 performers x 4 frames of ~30k surface points each. Threads are pinned to one,
so figures are per core. Usage:

    python benchmarks/bench_scenes.py --out results/benchmarks/scenes.json
    python benchmarks/bench_scenes.py --dataset-root data/embedded --split train --ir-set kemar_anechoic
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core: per-core figures

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import soundfile as sf  # noqa: E402

from points2sound.atomic import write_text  # noqa: E402
from points2sound.config import load_params  # noqa: E402
from points2sound.data.scenes import (  # noqa: E402
    SceneSampler,
    SceneSources,
    SourceCache,
    make_scene_specs,
    materialize_scenes,
    sample_scene_spec,
    scene_audio,
    scene_cloud,
)
from points2sound.geometry.pointcloud import PointCloud, write_ply  # noqa: E402
from points2sound.geometry.voxelize import scene_features, voxelize  # noqa: E402
from points2sound.settings.scenes import SceneConfig, scene_config  # noqa: E402

INSTRUMENTS = ("cello", "doublebass", "guitar", "saxophone", "violin")
AZIMUTHS = tuple(range(0, 360, 45))
# (centre, radii) in metres of ellipsoids forming a seated performer facing +z
BODY = [
    ((0.0, 1.45, 0.0), (0.10, 0.12, 0.11)),
    ((0.0, 1.05, 0.0), (0.20, 0.30, 0.13)),
    ((-0.1, 0.45, 0.1), (0.08, 0.42, 0.08)),
    ((0.1, 0.45, 0.1), (0.08, 0.42, 0.08)),
    ((-0.28, 1.0, 0.08), (0.05, 0.30, 0.05)),
    ((0.28, 1.0, 0.08), (0.05, 0.30, 0.05)),
    ((0.0, 0.9, 0.3), (0.22, 0.40, 0.10)),
]


def synthetic_performer(rng: np.random.Generator, n_points: int) -> PointCloud:
    """~n_points on ellipsoid surfaces (front half only, like a single depth camera)."""
    radii = np.array([r for _, r in BODY]) * rng.uniform(0.9, 1.1, (len(BODY), 3))
    weights = np.prod(radii, axis=1) ** (2 / 3)
    counts = rng.multinomial(2 * n_points, weights / weights.sum())
    pts, cols = [], []
    for (centre, _), r, n in zip(BODY, radii, counts):
        d = rng.standard_normal((n, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        d = d[d[:, 2] > 0]  # the side the camera sees
        pts.append(d * r + centre)
        cols.append(np.clip(rng.uniform(0.1, 0.9, 3) + 0.03 * rng.standard_normal((len(d), 3)), 0, 1))
    return PointCloud(np.concatenate(pts), np.concatenate(cols))


def synthetic_dataset(root: Path, sample_rate: int, seconds: float, n_points: int, seed: int) -> tuple[Path, str, str]:
    """A small dataset in the data contract's layout; returns (root, split, ir_set)."""
    rng = np.random.default_rng(seed)
    audio_rows, perf_rows = [], []
    n = int(seconds * sample_rate)
    for inst in INSTRUMENTS:
        for k in range(2):
            name = f"{inst}{k}"
            mono = (0.1 * rng.standard_normal(n)).astype(np.float32)
            (root / "audio" / inst).mkdir(parents=True, exist_ok=True)
            sf.write(root / "audio" / inst / f"{name}.wav", mono, sample_rate, subtype="FLOAT")
            for az in AZIMUTHS:
                out = root / "binaural" / "synthetic" / inst / f"{name}_{az}.wav"
                out.parent.mkdir(parents=True, exist_ok=True)
                sf.write(out, np.stack([mono, np.roll(mono, az // 10)], axis=1), sample_rate, subtype="FLOAT")
            audio_rows.append(
                dict(
                    recording=name,
                    instrument=inst,
                    path=f"audio/{inst}/{name}.wav",
                    duration_s=n / sample_rate,
                    sample_rate=sample_rate,
                )
            )
        for k in range(2):
            for f in range(4):
                write_ply(root / "frames" / inst / f"p{k}" / f"{f:05d}.ply", synthetic_performer(rng, n_points))
            perf_rows.append(dict(performer=f"p{k}", instrument=inst, n_frames=4, frames_dir=f"frames/{inst}/p{k}"))
    (root / "splits").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(audio_rows).to_csv(root / "splits" / "train_audio.csv", index=False)
    pd.DataFrame(perf_rows).to_csv(root / "splits" / "train_performers.csv", index=False)
    return root, "train", "synthetic"


def time_sampler(sampler: SceneSampler, count: int, offset: int) -> dict:
    times, voxels = [], []
    for i in range(offset, offset + count):
        t0 = time.perf_counter()
        scene = sampler[i]
        times.append(time.perf_counter() - t0)
        voxels.append(len(scene.coords))
    return dict(
        scenes=count,
        scenes_per_s=count / sum(times),
        median_ms=1e3 * statistics.median(times),
        mean_voxels=float(np.mean(voxels)),
    )


def paper_scenes(sources: SceneSources, segment_samples: int, fps: float) -> SceneConfig:
    """The paper's scene settings (params.yaml's base) at this benchmark's clip length and frame rate."""
    params = load_params(Path(__file__).resolve().parents[1] / "params.yaml", "paper")
    return scene_config(params).replace(
        segment_samples=segment_samples, fps=fps, sample_rate=sources.sample_rate, ir_set=sources.ir_set
    )


def breakdown(sources: SceneSources, scenes: SceneConfig, count: int, seed: int) -> dict:
    """Milliseconds per scene in each step (warm cache)."""
    parts = {"spec": [], "audio": [], "cloud": [], "voxelize": []}
    points = []
    for i in range(count):
        rng = np.random.default_rng([seed, 10_000 + i])
        t0 = time.perf_counter()
        spec = sample_scene_spec(rng, sources, scenes)
        t1 = time.perf_counter()
        scene_audio(spec, sources, scale_by_n=scenes.scale_by_n, with_true_mono=False)
        t2 = time.perf_counter()
        cloud = scene_cloud(spec, sources, augment=scenes.augment, rng=rng, listener_height_m=scenes.listener_height_m)
        t3 = time.perf_counter()
        voxelize(cloud.xyz, scene_features(cloud, "rgb"), scenes.voxel_size_m)
        t4 = time.perf_counter()
        for key, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            parts[key].append(dt)
        points.append(len(cloud))
    out = {f"{k}_ms": 1e3 * float(np.mean(v)) for k, v in parts.items()}
    out["mean_points"] = float(np.mean(points))
    return out


def voxelize_alone(n_points: int, repeats: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    clouds = [synthetic_performer(rng, n_points) for _ in range(3)]
    out = {}
    for k in (1, 3):
        cloud = PointCloud.concatenate(clouds[:k])
        for reduce in ("mean", "first"):
            ts = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                coords, _ = voxelize(cloud.xyz, cloud.rgb, 0.02, reduce=reduce)
                ts.append(time.perf_counter() - t0)
            out[f"{len(cloud)}_points_{reduce}"] = dict(median_ms=1e3 * statistics.median(ts), voxels=len(coords))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset-root", type=Path, help="a dataset in the data contract's layout (default: synthetic)")
    ap.add_argument("--split", default="train")
    ap.add_argument("--ir-set", help="binaural/<ir-set> to use (default: the first one found)")
    ap.add_argument("--scenes", type=int, default=100, help="scenes per timing")
    ap.add_argument("--segment-samples", type=int, default=131072)
    ap.add_argument("--sample-rate", type=int, default=44100, help="synthetic data only")
    ap.add_argument("--points", type=int, default=30000, help="points per synthetic frame")
    ap.add_argument("--fps", type=float, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("results/benchmarks/scenes.json"))
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_scenes_") as tmp:
        if args.dataset_root is None:
            t0 = time.perf_counter()
            seconds = max(6.0, 2 * args.segment_samples / args.sample_rate)
            root, split, ir_set = synthetic_dataset(
                Path(tmp) / "data", args.sample_rate, seconds, args.points, args.seed
            )
            data_desc = dict(
                kind="synthetic",
                seconds=seconds,
                sample_rate=args.sample_rate,
                points_per_frame=args.points,
                generation_s=time.perf_counter() - t0,
            )
        else:
            root, split = args.dataset_root, args.split
            ir_set = args.ir_set or sorted(p.name for p in (root / "binaural").iterdir() if p.is_dir())[0]
            data_desc = dict(kind="dataset", root=str(root), split=split, ir_set=ir_set)
        sources = SceneSources.from_dataset(root, split, ir_set)
        scenes = paper_scenes(sources, args.segment_samples, args.fps)
        kw = dict(scenes=scenes, mono_input="sum_lr", features="rgb", augment=True)
        sampler = SceneSampler(sources, args.seed, **kw)
        cold = time_sampler(sampler, args.scenes, 0)
        warm = time_sampler(sampler, args.scenes, args.scenes)
        # a zero-byte cache: every read from disk, as with 5-minute renders and a large frame set
        uncached = SceneSampler(
            SceneSources.from_dataset(root, split, ir_set, cache=SourceCache(0, 0)), args.seed, **kw
        )
        no_cache = time_sampler(uncached, args.scenes, 0)
        parts = breakdown(sources, scenes, args.scenes, args.seed)
        specs = make_scene_specs(sources, scenes, 30, args.seed)
        t0 = time.perf_counter()
        materialize_scenes(specs, sources, Path(tmp) / "scenes", scenes)
        materialize_s = time.perf_counter() - t0
        vox = voxelize_alone(args.points, 20, args.seed)

    result = dict(
        benchmark="scene generation (paper Sec. 3.4): training scenes with augmentation, rgb features, voxel 0.02 m",
        machine=dict(
            platform=platform.platform(),
            processor=platform.processor(),
            cpu_count=os.cpu_count(),
            threads=1,
            load_average_1min=os.getloadavg()[0],
        ),
        data=data_desc,
        segment_samples=args.segment_samples,
        training_cold_cache=cold,
        training_warm_cache=warm,
        training_no_cache=no_cache,
        per_scene_breakdown_warm=parts,
        materialize_test_scenes=dict(scenes=len(specs), scenes_per_s=len(specs) / materialize_s),
        voxelize=vox,
    )
    print(json.dumps(result, indent=2))
    write_text(args.out, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
