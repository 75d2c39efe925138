"""The data-building stage commands: embedded sources, IR sets, splits, binaural renders and test scenes."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .. import stages


def _out_only(cmd: Callable[..., argparse.ArgumentParser], name: str, help_: str, stage: Callable) -> None:
    """A stage command whose one option is the file or folder it writes."""
    p = cmd(name, help_, lambda a, P: stage(P, a.out))
    p.add_argument("--out", type=Path, required=True)


def add_building_commands(cmd: Callable[..., argparse.ArgumentParser]) -> None:
    """Register the data-building stages through the CLI's command factory."""
    _out_only(cmd, "embed-audio", "generate the embedded mono recordings", stages.embed_audio)
    _out_only(cmd, "embed-frames", "generate the embedded point-cloud videos", stages.embed_frames)
    _out_only(cmd, "embed-shapes", "generate the embedded pre-training shapes", stages.embed_shapes)
    _out_only(cmd, "make-hrir", "compute the rigid-sphere HRIR set as SOFA", stages.make_hrir)
    p = cmd("make-brir", "simulate a room's BRIR set as SOFA", lambda a, P: stages.make_brir(P, a.room, a.hrir, a.out))
    p.add_argument("--room", required=True)
    p.add_argument("--hrir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p = cmd("split", "write the split index files", lambda a, P: stages.split(P, a.dataset))
    p.add_argument("--dataset", type=Path, required=True)
    p = cmd(
        "render-split",
        "render the recordings of some splits binaurally through a SOFA IR set (pipeline stage)",
        lambda a, P: stages.render(P, a.dataset, a.ir, a.out, a.splits.split(",")),
    )
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--ir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--splits", default="train,val,test")
    p = cmd(
        "scenes",
        "materialize the test scenes of one IR set",
        lambda a, P: stages.scenes(P, a.dataset, a.ir_set, a.out, a.split),
    )
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--ir-set", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--split", default="test")
