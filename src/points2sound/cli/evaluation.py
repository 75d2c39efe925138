"""The evaluation stage commands: per-scene scores, separation scores, listening examples, audio costs."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .. import stages
from ..config import load_params


def _cmd_audio_costs(args: argparse.Namespace, params: dict) -> None:
    """The active profile's audio networks beside the paper's sizes (V-SlowFast reports costs so)."""
    from ..atomic import atomic_path
    from ..models.cost import audio_network_costs

    profiles = {params["profile"]: params}
    if "paper" not in profiles:
        profiles["paper"] = load_params(args.params, "paper")
    df = audio_network_costs(
        {name: p["model"] for name, p in profiles.items()},
        {name: p["audio"]["sample_rate"] for name, p in profiles.items()},
    )
    with atomic_path(args.out) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n", float_format="%.9g")
    print(df.to_string(index=False))


def _add_separation(cmd: Callable[..., argparse.ArgumentParser]) -> None:
    p = cmd(
        "evaluate-separation",
        "bss_eval SDR/SIR/SAR of the separation network and, per ear, of binaural variants",
        lambda a, P: stages.evaluate_separation(P, a.dataset, a.model, a.models_dir, a.binaural, a.out_dir, a.threads),
    )
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--model", type=Path, required=True, help="the separation network's model.pt")
    p.add_argument("--models-dir", type=Path, required=True, help="trained variants: <dir>/<variant>/model.pt")
    p.add_argument(
        "--binaural",
        nargs="*",
        default=None,
        metavar="VARIANT",
        help="binaural variants scored per ear (default: pretrain_audio.per_ear_variants)",
    )
    p.add_argument("--out-dir", type=Path, required=True, help="writes mono.csv and <variant>_per_ear.csv")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default 1)")


def _add_scores(cmd: Callable[..., argparse.ArgumentParser]) -> None:
    p = cmd(
        "evaluate",
        "score a trained variant (or, without --variant, Mono-Mono) on test scenes",
        lambda a, P: stages.evaluate(P, a.variant, a.model, a.scenes_root, a.ir_sets, a.out_dir, a.threads),
    )
    p.add_argument("--variant", default=None)
    p.add_argument("--model", type=Path, default=None, help="the variant's model.pt")
    p.add_argument("--scenes-root", type=Path, required=True, help="folder of test_<ir_set>/ scene sets")
    p.add_argument("--ir-sets", default="all", help="comma-separated IR set names, or 'all'")
    p.add_argument("--out-dir", type=Path, required=True, help="writes <out-dir>/<ir_set>.csv")
    p.add_argument(
        "--threads", type=int, default=None, help="torch threads (default 1: scores do not depend on the machine)"
    )


def _add_foa(cmd: Callable[..., argparse.ArgumentParser]) -> None:
    p = cmd(
        "evaluate-foa",
        "score an FOA variant, the spatial prior, the omni field and the decoded truth on the anechoic test scenes",
        lambda a, P: stages.evaluate_foa(P, a.variant, a.model, a.dataset, a.scenes, a.ir, a.out_dir, a.threads),
    )
    p.add_argument("--variant", required=True, help="an FOA variant (model points2sound_foa)")
    p.add_argument("--model", type=Path, required=True, help="the variant's model.pt")
    p.add_argument("--dataset", type=Path, required=True, help="dataset root (train split: the spatial prior)")
    p.add_argument("--scenes", type=Path, required=True, help="the anechoic test scenes (test_<hrir>/)")
    p.add_argument("--ir", type=Path, required=True, help="the HRIR set the fields are decoded through (.sofa)")
    p.add_argument("--out-dir", type=Path, required=True, help="writes scores.csv and energy_maps.csv")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default 1)")


def _add_examples(cmd: Callable[..., argparse.ArgumentParser]) -> None:
    p = cmd(
        "examples",
        "write listening examples (one test scene per N)",
        lambda a, P: stages.examples(P, a.model, a.scenes, a.out, a.pictures),
    )
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--scenes", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--pictures",
        type=Path,
        default=None,
        help="also write a playable HTML page per example (into --out) and its scene's picture here",
    )


def add_evaluation_commands(cmd: Callable[..., argparse.ArgumentParser]) -> None:
    """Register `evaluate-separation`, `evaluate`, `examples` and `audio-costs` through the command factory."""
    _add_separation(cmd)
    _add_scores(cmd)
    _add_foa(cmd)
    _add_examples(cmd)
    p = cmd(
        "audio-costs",
        "parameters and GMACs per second of audio of the audio networks, this profile's and the paper's",
        _cmd_audio_costs,
    )
    p.add_argument("--out", type=Path, required=True, help="CSV to write (one row per profile and network)")
