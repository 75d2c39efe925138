"""Where one profile's stages read and write (the data contract of README.md), and what it declares.

The graph hands a `Layout` to each stage kind's `stages()`; the kinds build their stages
through it, so every path of a profile is written here once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from ..model_kinds import binaural_output, init_pretraining, vision_net
from .declare import Out, Report, Stage, StageKind

NAME = re.compile(r"^[A-Za-z0-9_]+$")


def check_name(name: str, what: str) -> str:
    if not NAME.match(name):
        raise ParameterError(what, f"{name!r} cannot name a stage: use letters, digits and _ only")
    return name


class Layout:
    """One resolved profile's paths and declarations; `built` holds the stages made so far, in order."""

    def __init__(self, params: Mapping[str, Any], root: Path):
        self.P = params
        self.root = root
        self.profile = params["profile"]
        self.data = f"data/{self.profile}"
        self.models = f"models/{self.profile}"
        self.results = f"results/{self.profile}"
        self.logs = f"logs/{self.profile}"
        self.checkpoints = f"checkpoints/{self.profile}"
        self.built: list[Stage] = []

    def stage(
        self,
        kind: StageKind,
        name: str,
        values: Mapping[str, Any],
        deps: Mapping[str, Any],
        outs: Mapping[str, Out],
        params: tuple[str, ...] = (),
    ) -> Stage:
        """A stage of `kind`: its command line is written from the kind's options and these values."""
        log = f"{self.logs}/{check_name(name, 'stage')}.log"
        args = kind.command_line(self.profile, log, values)
        return Stage(name, kind, "", args, dict(deps), dict(outs), (*kind.params, *params), log)

    def training(
        self,
        kind: StageKind,
        name: str,
        values: Mapping[str, Any],
        deps: Mapping[str, Any],
        params: tuple[str, ...] = (),
    ) -> Stage:
        """A training run: its model folder, its dvclive folder (summary a metric, history the plots), its
        resume checkpoints."""
        run = name.removeprefix("train_")
        live = f"{self.results}/train/{run}"
        values = {**values, "out": f"{self.models}/{run}", "live": live, "checkpoints": f"{self.checkpoints}/{run}"}
        outs = {
            "model": Out(f"{self.models}/{run}", True),
            "metrics": Out(
                f"{live}/metrics.json",
                cache=False,
                metric=True,
                report=Report("training", "training_summary.rst", subcategory=run),
            ),
            "plots": Out(f"{live}/plots/metrics", True, cache=False, plot={"x": "step"}),
        }
        return self.stage(kind, name, values, deps, outs, params)

    # ---- what the profile declares ----
    @property
    def hrir(self) -> str:
        return self.P["hrir"]["name"]

    def measured_rooms(self) -> list[str]:
        return [r for r, c in self.P["rooms"]["sets"].items() if (c or {}).get("source") == "measured"]

    def rooms(self) -> list[str]:
        return [check_name(r, "rooms.sets") for r in self.P["rooms"]["sets"]]

    def rendered_ir_sets(self) -> list[tuple[str, str, list[str]]]:
        """(stage suffix, IR set, splits): the HRIR set renders every split, a room those `render.room_splits` names."""
        rooms = [(f"room_{r}", r, list(self.P["render"]["room_splits"])) for r in self.rooms()]
        return [("hrir", self.hrir, ["train", "val", "test"]), *rooms]

    def ir_sets(self) -> list[str]:
        return [self.hrir, *self.P["rooms"]["sets"]]

    def variants(self) -> dict[str, Mapping[str, Any]]:
        return {check_name(v, "variants"): spec for v, spec in self.P["variants"].items()}

    def binaural_variants(self) -> list[str]:
        """The variants that output binaural signals (an FOA variant is scored as a field)."""
        return [v for v, spec in self.variants().items() if binaural_output(spec)]

    def foa_variants(self) -> list[str]:
        return [v for v, spec in self.variants().items() if not binaural_output(spec)]

    def panorama_variants(self) -> list[str]:
        """The variants whose vision net is the 2D one (they need its own pre-training)."""
        return [v for v, spec in self.variants().items() if vision_net(spec) == "panorama2d"]

    def pretraining_of(self, variant: str) -> str:
        """The pre-training stage a variant starts from (`variants.<name>.init`)."""
        return init_pretraining(self.P["variants"][variant])

    def score_path(self, entry: str, irset: str) -> str:
        return f"{self.results}/scores/{entry}/{irset}.csv"

    def named(self, prefix: str) -> list[Stage]:
        return [s for s in self.built if s.name.startswith(prefix)]
