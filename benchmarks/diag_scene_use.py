"""Diagnostic: does a trained rgb model use the scene? Two probes of one checkpoint.

1. Azimuth from the visual feature: a linear probe (multinomial logistic regression on the
   standardized h, L2 0.001, LBFGS) is fitted on h of N = 1 scenes drawn from the train split
   and scores the 8-way azimuth on N = 1 scenes of the val split and on the N = 1 scenes of
   the materialized test set. Chance is 1/8.
2. Interaural level: on every lateral N = 1 test scene (azimuth not 0 or 180 deg), the sign
   of the predicted ILD, 10 log10(E_L / E_R) over the clip, against the truth's.

    python benchmarks/diag_scene_use.py --model models/demo/p2s_rgb/model.pt \
        --out results/benchmarks/scene_use_p2s_rgb.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from points2sound.atomic import write_text
from points2sound.config import load_params
from points2sound.data.scenes import SceneSources, load_materialized_scene, read_scene_specs
from points2sound.evaluate.run import binauralize_scene
from points2sound.models.loading import load_system
from points2sound.settings import stage_seed
from points2sound.settings.scenes import scene_config
from points2sound.train.scene_pretext import PlacedScenes, PlacementLabels, collate_placed

ROOT = Path(__file__).resolve().parents[1]


@torch.no_grad()
def features(vision: nn.Module, items: list) -> torch.Tensor:
    out = []
    for j in range(0, len(items), 32):
        coords, feats, _, _ = collate_placed(items[j : j + 32])
        out.append(vision(vision.collate(coords, feats)))
    return torch.cat(out)


def fit_probe(h: torch.Tensor, y: torch.Tensor, classes: int) -> tuple[nn.Linear, torch.Tensor, torch.Tensor]:
    mean, std = h.mean(0), h.std(0) + 1e-6
    x = (h - mean) / std
    probe = nn.Linear(h.shape[1], classes)
    torch.manual_seed(0)
    opt = torch.optim.LBFGS(probe.parameters(), max_iter=500)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(probe(x), y) + 1e-3 * probe.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return probe, mean, std


def ild_db(x: np.ndarray) -> float:
    e = (x.astype(np.float64) ** 2).sum(axis=-1) + 1e-12
    return float(10 * np.log10(e[0] / e[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--dataset", type=Path, default=None, help="default data/<profile>")
    ap.add_argument("--probe-scenes", type=int, default=400, help="N = 1 train-split scenes the probe is fitted on")
    ap.add_argument("--val-scenes", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    params = load_params(args.params, args.profile)
    data = args.dataset or ROOT / "data" / params["profile"]
    system, blob = load_system(args.model)
    config = blob["config"]
    hrir = params["hrir"]["name"]
    azimuths = tuple(int(a) for a in params["render"]["azimuths_deg"])
    labels = PlacementLabels(tuple(params["instruments"]), azimuths, "azimuth")
    seed = stage_seed(params, "diag_scene_use")
    scenes = scene_config(params)

    def placed(split: str, s: int) -> PlacedScenes:
        return PlacedScenes(
            SceneSources.from_dataset(data, split, hrir, require_renders=False),
            labels,
            scenes,
            seed=s,
            features=config["features"],
            max_sources=1,
            augment=False,
            n_sources=1,
        )

    fit_set = placed("train", seed)
    val_set = placed("val", seed + 1)
    fit_items = [fit_set[i] for i in range(args.probe_scenes)]
    val_items = [val_set[i] for i in range(args.val_scenes)]
    h_fit, h_val = features(system.vision, fit_items), features(system.vision, val_items)
    y_fit = torch.tensor([s.azimuth_index for s in fit_items])
    y_val = torch.tensor([s.azimuth_index for s in val_items])
    probe, mean, std = fit_probe(h_fit, y_fit, len(azimuths))

    def accuracy(h: torch.Tensor, y: torch.Tensor) -> float:
        with torch.no_grad():
            return float((probe((h - mean) / std).argmax(1) == y).float().mean())

    scenes_dir = data / "scenes" / f"test_{hrir}"
    test_h, test_y, ild = [], [], []
    for spec in read_scene_specs(scenes_dir / "scenes.csv"):
        if spec.n_sources != 1:
            continue
        scene = load_materialized_scene(scenes_dir / f"{spec.scene_id}.npz")
        with torch.no_grad():
            test_h.append(
                system.vision(system.vision.collate([scene["coords"]], [scene[f"feats_{config['features']}"]]))
            )
        az = spec.sources[0].azimuth_deg
        test_y.append(azimuths.index(az))
        if az % 180:
            est = binauralize_scene(system, scene, config, torch.device("cpu"))
            ild.append(
                {
                    "scene_id": spec.scene_id,
                    "azimuth_deg": az,
                    "ild_db_true": ild_db(scene["binaural"]),
                    "ild_db_predicted": ild_db(est),
                }
            )
    test_acc = accuracy(torch.cat(test_h), torch.tensor(test_y)) if test_h else float("nan")
    signs = [np.sign(r["ild_db_true"]) == np.sign(r["ild_db_predicted"]) for r in ild]
    out = {
        "model": str(args.model),
        "variant": config["variant"],
        "chance": 1.0 / len(azimuths),
        "probe": {
            "fit_scenes": len(fit_items),
            "train_accuracy": accuracy(h_fit, y_fit),
            "val_scenes": len(val_items),
            "val_accuracy": accuracy(h_val, y_val),
            "test_scenes": len(test_y),
            "test_accuracy": test_acc,
        },
        "ild_sign": {
            "lateral_test_scenes": len(ild),
            "matching": int(sum(signs)),
            "share": float(np.mean(signs)) if signs else float("nan"),
            "scenes": ild,
        },
    }
    text = json.dumps(out, indent=2) + "\n"
    print(
        json.dumps(
            {k: out[k] for k in ("variant", "probe")}
            | {"ild_sign_share": out["ild_sign"]["share"], "lateral": len(ild)},
            indent=1,
        )
    )
    if args.out:
        write_text(args.out, text)


if __name__ == "__main__":
    main()
