"""Training noise: the seed-to-seed spread of the headline numbers of one profile.

For each seed of `--seeds`, the training stages of `--variants` (default p2s_rgb and p2s_depth)
run again with the top-level `seed` replaced (as `overrides.seed`, so every training draw moves:
the vision pre-training and its scene pretext, the initialization, the training scenes and the
validation scenes) on the data of an existing run, and the variants are scored on that run's
materialized test scenes (every IR set of the profile). The data, the test scenes and the
Mono-Mono baseline stay fixed: the spread is the training's alone. The existing run's own
scores count as one more seed (its `seed`), so `--seeds 1 2` gives three.

    python benchmarks/seed_spread.py --profile demo --seeds 1 2

Writes results/benchmarks/seed_spread_<profile>.json: per seed and entry (method, variant,
mono input, IR set, N, same side) the mean of each metric over the test scenes, and per seed the
difference of every paired ordering check of the report (`report.claims`) whose sides these
variants are; the report (`report.seed_spread`) marks the checks whose difference lies within
this spread. Each seed's CLI logs and models stay under --work (default work/seed_spread/<profile>).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from points2sound.atomic import write_text  # noqa: E402
from points2sound.config import freeze_run_params, load_params, read_params_file, with_overrides  # noqa: E402
from points2sound.evaluate.scores import read_scores  # noqa: E402
from points2sound.model_kinds import init_pretraining  # noqa: E402
from points2sound.report.spread import SPREAD_METRICS, entry_means, pair_differences  # noqa: E402

DEFAULT_VARIANTS = ("p2s_rgb", "p2s_depth")


def _run(args: list[str], log: Path, cwd: Path) -> float:
    """One CLI command, its output appended to `log`; the wall seconds it took."""
    t0 = time.perf_counter()
    with log.open("a") as fh:
        fh.write("$ " + " ".join(args) + "\n")
        fh.flush()
        proc = subprocess.run(args, stdout=fh, stderr=subprocess.STDOUT, cwd=cwd)
    if proc.returncode:
        raise SystemExit(f"seed_spread: `{' '.join(args[:3])} ...` failed (exit {proc.returncode}); see {log}")
    return time.perf_counter() - t0


def train_and_score(root: Path, profile: str, seed: int, variants: list[str], ir_sets: list[str], work: Path) -> dict:
    """Pre-train, train and score `variants` with `seed`; the score CSVs and each step's wall time."""
    out = work / f"seed_{seed}"
    out.mkdir(parents=True, exist_ok=True)
    frozen = freeze_run_params(with_overrides(read_params_file(root / "params.yaml"), {"seed": seed}, profile), out)

    def cli(command: str, *args: object) -> list[str]:
        return [sys.executable, "-m", "points2sound", command, "--params", str(frozen), "--profile", profile,
                *map(str, args)]  # fmt: skip

    data, log, times = root / "data" / profile, out / "commands.log", {}
    params = load_params(frozen, profile)
    pretrainings = {
        "pretrain_vision": ("pretrain", "--shapes", data / "shapes", "--dataset", data),
        "pretrain_vision_2d": ("pretrain-panorama", "--dataset", data),  # the 2D net's (vision_net: panorama2d)
    }
    needed = {init_pretraining(params["variants"][v]) for v in variants}
    for name in sorted(needed):
        if name not in pretrainings:
            raise SystemExit(f"seed_spread: variants starting from {name} are not supported")
        if not (out / "models" / name / "model.pt").is_file():
            times[name] = _run(
                cli(*pretrainings[name], "--out", out / "models" / name, "--live", out / "live" / name,
                    "--checkpoints", out / "checkpoints" / name),
                log,
                root,
            )  # fmt: skip
    files = []
    for variant in variants:
        model = out / "models" / variant
        vision = out / "models" / init_pretraining(params["variants"][variant])
        if not (model / "model.pt").is_file():
            times[f"train_{variant}"] = _run(
                cli("train", "--variant", variant, "--dataset", data, "--pretrained", vision / "model.pt",
                    "--out", model, "--live", out / "live" / variant, "--checkpoints", out / "checkpoints" / variant),
                log,
                root,
            )  # fmt: skip
        scores = out / "scores" / variant
        todo = [s for s in ir_sets if not (scores / f"{s}.csv").is_file()]
        if todo:
            times[f"evaluate_{variant}"] = _run(
                cli("evaluate", "--variant", variant, "--model", model / "model.pt", "--scenes-root", data / "scenes",
                    "--ir-sets", ",".join(todo), "--out-dir", scores),
                log,
                root,
            )  # fmt: skip
        files += [scores / f"{s}.csv" for s in ir_sets]
    return {
        "files": files,
        "wall_s": {k: round(v, 1) for k, v in times.items()},
        "val": _val_losses(out / "live", variants),
    }


def _val_losses(live_root: Path, variants: list[str]) -> dict[str, dict[str, float]]:
    """Final validation L1 of each variant (and of the copy) from its dvclive summary, `<live_root>/<variant>/`."""
    out = {}
    for v in variants:
        path = live_root / v / "metrics.json"
        if path.is_file():
            summary = json.loads(path.read_text())
            out[v] = {k: summary[k] for k in ("val_l1", "val_l1_mono_copy", "val_l1_rotated") if k in summary}
    return out


def variant_means(df, variants: list[str], ir_sets: list[str]) -> dict:
    """Each variant's mean of each metric per IR set, over all test scenes and per N (variants outside the
    report's claims, such as p2s_2d, have no claim entries)."""
    out: dict = {}
    for v in variants:
        for ir in ir_sets:
            rows = df[(df["variant"] == v) & (df["method"] == "points2sound") & (df["ir_set"] == ir)]
            cell = {m: {"all": float(rows[m].mean())} for m in SPREAD_METRICS}
            for n, part in rows.groupby("n_sources"):
                for m in SPREAD_METRICS:
                    cell[m][f"N={n}"] = float(part[m].mean())
            out.setdefault(v, {})[ir] = cell
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="seeds to train beside the run's own")
    ap.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS))
    ap.add_argument("--root", type=Path, default=ROOT, help="the project folder of the finished run (default: here)")
    ap.add_argument(
        "--work", type=Path, default=None, help="scratch folder (default <root>/work/seed_spread/<profile>)"
    )
    ap.add_argument("--out", type=Path, default=None, help="default results/benchmarks/seed_spread_<profile>.json")
    args = ap.parse_args(argv)

    root = args.root.resolve()
    params = load_params(root / "params.yaml", args.profile)
    ir_sets = [params["hrir"]["name"], *params["rooms"]["sets"]]
    base_scores = root / "results" / args.profile / "scores"
    reference = [base_scores / v / f"{s}.csv" for v in args.variants for s in ir_sets]
    mono = [base_scores / "mono_mono" / f"{s}.csv" for s in ir_sets]
    missing = [str(p) for p in reference + mono if not p.is_file()]
    if missing:
        raise SystemExit(f"seed_spread: the run's scores are missing ({missing[0]}, ...): run the pipeline first")
    work = (args.work or root / "work" / "seed_spread" / args.profile).resolve()

    runs = {int(params["seed"]): {"files": reference, "wall_s": {}, "val": _val_losses(
        root / "results" / args.profile / "train", args.variants)}}  # fmt: skip
    for seed in args.seeds:
        if seed in runs:
            raise SystemExit(f"seed_spread: seed {seed} is the run's own seed; pick another")
        print(f"seed {seed}: training {', '.join(args.variants)} ...", flush=True)
        runs[seed] = train_and_score(root, args.profile, seed, args.variants, ir_sets, work)
        print(f"seed {seed}: done in {sum(runs[seed]['wall_s'].values()):.0f} s", flush=True)

    anechoic, rooms = params["hrir"]["name"], list(params["rooms"]["sets"])
    rt60 = {r: params["rooms"]["sets"][r]["rt60_s"] for r in rooms}
    seeds_out = {}
    for seed, run in runs.items():
        df = read_scores([*run["files"], *mono])
        seeds_out[str(seed)] = {
            "entries": entry_means(df, anechoic, rooms, rt60, SPREAD_METRICS),
            "pairs": pair_differences(df, anechoic, rooms, rt60, SPREAD_METRICS),
            "val": run["val"],
            "wall_s": run["wall_s"],
            "variant_means": variant_means(df, args.variants, ir_sets),
        }
    result = {
        "profile": args.profile,
        "variants": args.variants,
        "reference_seed": int(params["seed"]),
        "seeds": sorted(runs),
        "metrics": list(SPREAD_METRICS),
        "per_seed": seeds_out,
        "git_commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
    }
    out = args.out or ROOT / "results" / "benchmarks" / f"seed_spread_{args.profile}.json"
    write_text(out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
