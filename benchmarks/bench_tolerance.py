"""How far the fast inference paths move a trained model's output, and its evaluation scores.

Speed-ups that change the arithmetic (int8, BiLSTM windows) are only worth having while
the output stays within tolerance of fp32. Random weights say little about that, so this
runs a *trained* checkpoint (default: the demo profile's headline model,
models/demo/p2s_rgb/model.pt) over the materialized test scenes of every IR set and
reports, per inference path:

- the relative RMS difference from the evaluation's output (module, fp32, whole clip),
  mean and worst over scenes; and the same relative to the learned part of that output
  (the output less the mono copy, for models with the residual path such as the demo's,
  where the copy carries most of the signal);
- the mean d_ENV and d_STFT against the true binaural render, next to the evaluation's,
  and the largest per-scene change of either.

The tolerance we hold the paths to: the mean d_ENV and d_STFT move by less than 1 %
of their value (the paper's differences between methods are 5-40 %).

    python benchmarks/bench_tolerance.py                      # writes results/inference_tolerance.json
    python benchmarks/bench_tolerance.py --profile demo --max-scenes 30
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import torch

from points2sound.atomic import write_text
from points2sound.config import load_params
from points2sound.errors import InputFileError
from points2sound.evaluate.metrics import binaural_scores
from points2sound.evaluate.run import binauralize_scene, iter_scenes
from points2sound.infer.binauralize import Binauralizer, InferenceOptions
from points2sound.models.loading import load_system

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.01  # largest relative change of a mean score


def paths(segment_s: float) -> dict[str, dict]:
    """The inference paths compared (InferenceOptions fields), by name."""
    win = {"engine": "gemm", "lstm_overlap_s": 0.5 * min(1.0, segment_s)}
    return {
        "module_int8": {"precision": "int8"},
        "gemm": {"engine": "gemm"},
        "gemm_lstm3s": {**win, "lstm_window_s": 3.0},
        "gemm_int8 (--fast)": {**win, "lstm_window_s": 3.0, "precision": "int8"},
        "gemm_int8_segment": {**win, "lstm_window_s": segment_s, "precision": "int8"},
        "gemm_int8_all_gemms": {**win, "lstm_window_s": 3.0, "precision": "int8", "int8_min_inner": 1},
    }


def not_learned(system: torch.nn.Module, mono: np.ndarray) -> np.ndarray:
    """The part of a Points2Sound output that does not come from the network: its binaural for a Demucs
    output of zeros (the mono copy of the residual path, or the mono half of L and R under L_diff)."""
    x = torch.from_numpy(np.ascontiguousarray(mono))[None, None]
    zeros = x.new_zeros(1, system.audio.out_channels, x.shape[-1])
    return system.binaural_from_audio(x, zeros)[0].numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--variant", default="p2s_rgb")
    ap.add_argument("--max-scenes", type=int, default=None, help="per IR set (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "inference_tolerance.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    params = load_params(ROOT / "params.yaml", args.profile)
    model_path = ROOT / "models" / args.profile / args.variant / "model.pt"
    if not model_path.exists():
        raise InputFileError(
            model_path, "no trained checkpoint", f"run `snakemake --config profile={args.profile}` first"
        )
    system, blob = load_system(model_path)
    config = blob["config"]
    sr = int(config["sample_rate"])
    segment_s = int(params["scenes"]["segment_samples"]) / sr
    runners = {
        name: Binauralizer(system, config, InferenceOptions(max_whole_s=1e9, **opts))
        for name, opts in paths(segment_s).items()
    }
    dirs = sorted((ROOT / "data" / args.profile / "scenes").glob("test_*"))
    if not dirs:
        raise InputFileError(
            ROOT / "data" / args.profile / "scenes",
            "no test scenes",
            f"run `snakemake --config profile={args.profile}` first",
        )
    rows: dict[str, list[dict]] = {"eval": [], **{name: [] for name in runners}}
    t0 = time.perf_counter()
    for d in dirs:
        for scene in itertools.islice(iter_scenes(d), args.max_scenes):
            ref = binauralize_scene(system, scene, config, torch.device("cpu"))
            rows["eval"].append({**binaural_scores(ref, scene["binaural"], sr), "rel_rms": 0.0})
            mono = scene["mono"][config["mono_input"]]
            learned = ref - not_learned(system, mono)
            coords, feats = scene["coords"], scene[f"feats_{config['features']}"]
            for name, runner in runners.items():
                out = runner(mono, runner.visual_feature(coords, feats))
                rel = float(np.sqrt(np.mean((out - ref) ** 2) / np.mean(ref**2)))
                rel_learned = float(np.sqrt(np.mean((out - ref) ** 2) / np.mean(learned**2)))
                rows[name].append(
                    {**binaural_scores(out, scene["binaural"], sr), "rel_rms": rel, "rel_rms_learned": rel_learned}
                )
    ev = {k: float(np.mean([r[k] for r in rows["eval"]])) for k in ("d_env", "d_stft")}
    report = {
        "profile": args.profile,
        "variant": args.variant,
        "checkpoint": str(model_path.relative_to(ROOT)),
        "scenes": len(rows["eval"]),
        "scene_sets": [d.name for d in dirs],
        "tolerance": TOLERANCE,
        "segment_s": segment_s,
        "eval": ev,
        "paths": {},
    }
    print(
        f"{args.profile}/{args.variant}, {len(rows['eval'])} test scenes; eval: d_ENV {ev['d_env']:.5f}, "
        f"d_STFT {ev['d_stft']:.5f}"
    )
    print(
        "| path | rel. RMS vs eval (mean / worst) | vs its learned part (mean / worst) | d_ENV (change) "
        "| d_STFT (change) | within 1 % |"
    )
    print("|---|---|---|---|---|---|")
    for name, opts in paths(segment_s).items():
        r = rows[name]
        mean = {k: float(np.mean([x[k] for x in r])) for k in ("d_env", "d_stft")}
        change = {k: mean[k] / ev[k] - 1.0 for k in mean}
        worst = max(abs(x[k] - e[k]) / e[k] for x, e in zip(r, rows["eval"]) for k in ("d_env", "d_stft"))
        ok = all(abs(c) < TOLERANCE for c in change.values())
        report["paths"][name] = {
            "options": opts,
            "rel_rms_mean": float(np.mean([x["rel_rms"] for x in r])),
            "rel_rms_worst": float(max(x["rel_rms"] for x in r)),
            "rel_rms_learned_mean": float(np.mean([x["rel_rms_learned"] for x in r])),
            "rel_rms_learned_worst": float(max(x["rel_rms_learned"] for x in r)),
            "d_env": mean["d_env"],
            "d_stft": mean["d_stft"],
            "d_env_change": change["d_env"],
            "d_stft_change": change["d_stft"],
            "worst_scene_score_change": worst,
            "within_tolerance": ok,
        }
        p = report["paths"][name]
        print(
            f"| {name} | {p['rel_rms_mean']:.1e} / {p['rel_rms_worst']:.1e} | {p['rel_rms_learned_mean']:.1e} / "
            f"{p['rel_rms_learned_worst']:.1e} | {mean['d_env']:.5f} "
            f"({change['d_env']:+.2%}) | {mean['d_stft']:.5f} ({change['d_stft']:+.2%}) | {'yes' if ok else 'no'} |"
        )
    report["wall_s"] = round(time.perf_counter() - t0, 1)
    write_text(args.out, json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out} ({report['wall_s']} s)")


if __name__ == "__main__":
    main()
