"""Wall time of the data half of the pipeline for one profile, from a clean folder.

Copies the project's workflow files into a scratch folder, runs `snakemake --cores N`
for the profile, and reports the total wall time and each stage's own time (read
from the stage logs). Usage:

    python benchmarks/bench_data_half.py --profile demo --cores 2 --out results/benchmarks/data_half_demo.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temporary one, removed)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    scratch = args.workdir or Path(tempfile.mkdtemp(prefix="p2s-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "params.yaml", "workflow"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, scratch / name)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    start = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "snakemake"),
            "--cores",
            str(args.cores),
            "--quiet",
            "--config",
            f"profile={args.profile}",
        ],
        cwd=scratch,
        env=env,
        check=True,
    )
    wall = time.perf_counter() - start

    stages = {}
    for log in sorted((scratch / "logs" / args.profile).glob("*.log")):
        m = re.search(r"finished in ([0-9.]+) s", log.read_text())
        if m:
            stages[log.stem] = float(m.group(1))
    size = sum(p.stat().st_size for p in (scratch / "data").rglob("*") if p.is_file())
    result = {
        "profile": args.profile,
        "cores": args.cores,
        "wall_s": round(wall, 1),
        "stage_s": stages,
        "data_bytes": size,
        "cpu": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    if args.workdir is None:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
