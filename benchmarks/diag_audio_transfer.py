"""Why `p2s_audiopt` ends at the mono copy: which part of the separation network's audio weights to transfer.

`p2s_audiopt` is `p2s_rgb` with its audio network initialized from the separation pre-training
(`init: separation_audio`). Transferring every weight, the demo run's `p2s_audiopt` ended at the
copy of the mono input (validation L1 0.3 % below it) where `p2s_rgb` ended 36 % below it. This
script trains the variant again on the data and pre-training checkpoints of a finished run, once
per transfer rule (`variants.p2s_audiopt.transfer`), and reports each run's validation L1 against
the copy and against the scene turned by pi/2:

    all             every audio weight from the separation network (the pipeline's rule until
                    it measured this)
    all_but_output  all but the last decoder block, which produces the waveform (it is trained
                    to output the separated source; with the residual copy path that doubles the
                    input); the pipeline's rule now (`variants.p2s_audiopt.transfer`)
    encoder         the encoder and the LSTM bottleneck only; every decoder block as a fresh init

The vision network comes from the shape and scene pretext pre-training in every case, as in the
pipeline. Nothing of the run is changed: models and logs go to --work.

    python benchmarks/diag_audio_transfer.py --root . --profile demo --rules all all_but_output encoder

Writes results/benchmarks/audio_transfer_<profile>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from points2sound.atomic import write_text  # noqa: E402
from points2sound.config import load_params  # noqa: E402
from points2sound.pipeline.stages import train as train_stage  # noqa: E402
from points2sound.settings.train import SEPARATION_TRANSFERS  # noqa: E402


def run_rule(root: Path, profile: str, rule: str, work: Path) -> dict:
    params = load_params(root / "params.yaml", profile)
    params["variants"]["p2s_audiopt"]["transfer"] = rule
    models = root / "models" / profile
    out = work / rule
    t0 = time.perf_counter()
    train_stage.run(
        params,
        "p2s_audiopt",
        root / "data" / profile,
        models / "pretrain_separation" / "model.pt",
        out / "model",
        out / "live",
        out / "checkpoints",
        pretrained_vision=models / "pretrain_vision" / "model.pt",
    )
    summary = json.loads((out / "live" / "metrics.json").read_text())
    keys = ("val_l1", "val_l1_mono_copy", "val_l1_rotated")
    result = {k: summary[k] for k in keys if k in summary}
    result["below_copy"] = 1.0 - result["val_l1"] / result["val_l1_mono_copy"]
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="a project with a finished run of --profile")
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--rules", nargs="+", choices=sorted(SEPARATION_TRANSFERS), default=["all_but_output", "encoder"])
    ap.add_argument("--work", type=Path, default=None, help="default: <root>/work/audio_transfer/<profile>")
    ap.add_argument("--out", type=Path, default=None, help="default: results/benchmarks/audio_transfer_<profile>.json")
    args = ap.parse_args()
    root = args.root.resolve()
    work = args.work or root / "work" / "audio_transfer" / args.profile
    results = {rule: run_rule(root, args.profile, rule, work) for rule in args.rules}
    for rule, r in results.items():
        print(f"{rule:15s} val L1 {r['val_l1']:.5f}  copy {r['val_l1_mono_copy']:.5f}  "
              f"rotated {r.get('val_l1_rotated', float('nan')):.5f}  {100 * r['below_copy']:+.1f} % below the copy")  # fmt: skip
    out = args.out or ROOT / "results" / "benchmarks" / f"audio_transfer_{args.profile}.json"
    write_text(out, json.dumps({"profile": args.profile, "variant": "p2s_audiopt", "rules": results}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
