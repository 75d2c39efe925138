"""The stage graph of one resolved profile: every stage kind's stages, in the order of `stages.KINDS`.

Both engines are driven from `stage_graph(params)`: the Snakefile makes one rule of each stage
(workflow/rules/stages.smk) and `points2sound dvc-yaml` renders dvc.yaml from the same list.
Each stage's code dependencies are read off its kind module's imports (`codedeps`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

from .codedeps import code_paths
from .declare import TOPICS, Stage
from .layout import Layout
from .stages import KINDS


def kind_modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__package__}.stages.{name}") for name in KINDS.values()]


def stage_graph(params: Mapping[str, Any], root: Path | str = ".") -> list[Stage]:
    """Every stage of one resolved profile, in a topological order, with its code paths filled in."""
    layout = Layout(params, Path(root).resolve())
    for module in kind_modules():
        name = module.__name__.removeprefix("points2sound.")
        for stage in module.stages(layout):
            if stage.kind is not module.KIND:
                raise ValueError(f"{name} made a stage of another kind: {stage.name}")
            layout.built.append(replace(stage, module=name, code=code_paths(name)))
    names = [s.name for s in layout.built]
    if len(set(names)) != len(names):
        raise ValueError(f"two stages share a name: {sorted({n for n in names if names.count(n) > 1})}")
    return layout.built


def by_topic(stages: list[Stage], topic: str) -> list[Stage]:
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    return [s for s in stages if s.topic == topic]


def final_outputs(stages: list[Stage]) -> list[str]:
    """What `snakemake` builds by default: the report (everything else is upstream of it)."""
    return [o.path for s in stages if s.name == "report" for o in s.outs.values()]
