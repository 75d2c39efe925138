"""What the scoring stages share: their options, which IR sets a command names, how their CSVs are shown."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .declare import Opt, Report

SCENES_ROOT = Opt("--scenes-root", Path, required=True, help="folder of test_<ir_set>/ scene sets")
IR_SETS = Opt("--ir-sets", default="all", help="comma-separated IR set names, or 'all'")
OUT_DIR = Opt("--out-dir", Path, required=True, help="writes <out-dir>/<ir_set>.csv")


def scores_report(entry: str, irset: str) -> Report:
    return Report(
        "scores", "scene_scores.rst", subcategory="per-scene scores", labels={"entry": entry, "IR set": irset}
    )


def chosen_ir_sets(params: Mapping[str, Any], names: str) -> list[str]:
    """The IR sets a scoring command names (comma-separated, or 'all': the HRIR set and every room)."""
    from ..errors import ParameterError

    everything = [params["hrir"]["name"], *params["rooms"]["sets"]]
    if names == "all":
        return everything
    chosen = [n for n in names.split(",") if n]
    unknown = sorted(set(chosen) - set(everything))
    if unknown or not chosen:
        raise ParameterError("ir_sets", f"unknown IR set(s) {unknown or names!r}; known: {everything} or 'all'")
    return chosen
