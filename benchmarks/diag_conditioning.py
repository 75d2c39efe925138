"""Diagnostic: can the conditioned Demucs learn the binaural difference from an oracle condition?

The demo models of the pipeline did not learn to use the scene within the CPU budget (their
L_diff variant converges to predicting L - R = 0). This separates the two suspects: the
audio network's use of a global condition, and the vision network's feature. It trains the
demo-size Demucs (L_diff, s_m = L + R) on single-source training scenes with h = a one-hot
code of the true azimuth (no vision at all), and reports the validation L1 of the recovered
binaural signal against copying the mono input to both ears, every `--val-every` steps.

    python benchmarks/diag_conditioning.py --iterations 1500 --out results/benchmarks/diag_conditioning.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from points2sound.atomic import write_text
from points2sound.config import load_params
from points2sound.data.scenes import SceneSources
from points2sound.models.demucs import ConditionedDemucs
from points2sound.models.objectives import loss_diff, recover_from_difference
from points2sound.settings.train import variant_config
from points2sound.train.variant import make_sampler

ROOT = Path(__file__).resolve().parents[1]


def batch(sampler, indices, azimuths):
    scenes = [sampler[i] for i in indices]
    mono = torch.from_numpy(np.stack([s.mono for s in scenes]))[:, None]
    binaural = torch.from_numpy(np.stack([s.binaural for s in scenes]))
    h = torch.zeros(len(scenes), len(azimuths))
    for row, s in enumerate(scenes):
        h[row, azimuths.index(s.spec.sources[0].azimuth_deg)] = 1.0
    return mono, binaural, h


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--iterations", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--val-every", type=int, default=250)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    params = load_params(ROOT / "params.yaml", args.profile)
    params["scenes"]["max_sources"] = 1
    run = variant_config(params, "p2s_diff")
    data = ROOT / "data" / params["profile"]
    hrir = params["hrir"]["name"]
    azimuths = list(params["render"]["azimuths_deg"])
    train = make_sampler(run, SceneSources.from_dataset(data, "train", hrir), 1, False, None)
    val = make_sampler(run, SceneSources.from_dataset(data, "val", hrir), 2, False, 48)
    d = params["model"]["demucs"]
    net = ConditionedDemucs(
        1,
        1,
        d["channels"],
        d["depth"],
        d["kernel_size"],
        d["stride"],
        d["growth"],
        d["context"],
        d["lstm_layers"],
        cond_dim=len(azimuths),
        rescale=d.get("rescale"),
        normalize=d.get("normalize", False),
        init_std=d.get("init_std"),
    )
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    vm, vb, vh = batch(val, range(48), azimuths)
    copy = float(F.l1_loss((vm * 0.5).expand(-1, 2, -1), vb))
    history, t0 = [], time.perf_counter()
    for it in range(1, args.iterations + 1):
        m, b, h = batch(train, range(it * args.batch, (it + 1) * args.batch), azimuths)
        loss = loss_diff(net(m, h), b)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it % args.val_every == 0:
            with torch.no_grad():
                net.eval()
                l1 = float(F.l1_loss(recover_from_difference(vm, net(vm, vh)), vb))
                shuffled = float(F.l1_loss(recover_from_difference(vm, net(vm, vh[torch.randperm(len(vh))])), vb))
                net.train()
            history.append(
                {
                    "iteration": it,
                    "val_l1": l1,
                    "val_l1_wrong_condition": shuffled,
                    "val_l1_mono_copy": copy,
                    "seconds": time.perf_counter() - t0,
                }
            )
            print(history[-1], flush=True)
    result = {"profile": params["profile"], "batch": args.batch, "lr": args.lr, "history": history}
    if args.out:
        write_text(args.out, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
