"""The report's 3D-against-2D section: the sparse 3D net on the voxels against torchvision's 2D
ResNet18 on the panorama of the same voxels, each feeding the same conditioned Demucs.

Both variants are scored on the very same test scenes of every IR set, so each comparison is a paired
bootstrap interval over scene ids (`report.stats`). How much each model uses the scene is read from its
Rotated-Visual rows (the same model fed the scene turned by pi/2): a model that ignores the scene scores
the same either way. The pretext accuracies come from the two pre-trainings' dvclive summaries.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..model_kinds import HEADLINE_VARIANT
from ..settings.report import Bootstrap
from .claims import Entry
from .spread import PairSpread, SeedSpread
from .stats import FAILS, HOLDS, bootstrap_difference
from .table_text import FrameTable
from .tables import HEADLINE, select_entry

_METRICS = ("d_env", "d_stft")
_FORMATS = {"d_env": ".4f", "d_stft": ".3f", "scenes": "d"}
PRETRAININGS = {"pretrain_vision": "3D sparse ResNet18 (voxels)", "pretrain_vision_2d": "2D ResNet18 (panorama)"}


def _rows(df: pd.DataFrame, ir_set: str, method: str, variant: str) -> pd.DataFrame:
    return select_entry(df, ir_set, method, variant, HEADLINE["mono_input"])


def comparison_table(df: pd.DataFrame, variant: str, ir_sets: Sequence[str], profile: str) -> FrameTable:
    """d_ENV and d_STFT per N of the 3D headline, the 2D variant and their Rotated-Visual inputs, per IR set."""
    rows = []
    for ir in ir_sets:
        for label, method, v in (
            ("3D (p2s_rgb)", "points2sound", HEADLINE["variant"]),
            (f"2D ({variant})", "points2sound", variant),
            ("3D, Rotated-Visual", "rotated_visual", HEADLINE["variant"]),
            ("2D, Rotated-Visual", "rotated_visual", variant),
        ):
            r = _rows(df, ir, method, v)
            if not len(r):
                continue
            row: dict = {"ir_set": ir, "model": label, "scenes": len(r)}
            for m in _METRICS:
                for n in sorted(r["n_sources"].unique()):
                    row[f"{m} N={n}"] = float(r.loc[r["n_sources"] == n, m].mean())
                row[f"{m} all"] = float(r[m].mean())
            rows.append(row)
    frame = pd.DataFrame(rows)
    formats = {c: _FORMATS[c.split()[0]] for c in frame.columns[2:]}
    caption = (
        f"3D against 2D conditioning ({profile}): the headline p2s_rgb (sparse 3D ResNet18 on the voxels) and "
        f"`{variant}` (torchvision's 2D ResNet18 on the rgb-depth panorama of the same voxels), the same "
        "conditioned Demucs, recipe and scenes; lower is better"
    )
    return FrameTable(f"vision_3d_2d_{variant}", caption, frame, formats=formats)


def _pretext_lines(summaries: Sequence[Path]) -> list[str]:
    """The scene pretext's test accuracy of each vision pre-training (its dvclive metrics.json)."""
    lines = []
    for summary in map(Path, summaries):
        name = summary.parent.name
        if name in PRETRAININGS and summary.is_file():
            s = json.loads(summary.read_text())
            if "scene_test_azimuth_accuracy" in s:
                lines.append(
                    f"- Scene pretext ({s.get('scene_target', '?')}), {PRETRAININGS[name]}: test accuracy "
                    f"{s['scene_test_azimuth_accuracy']:.3f} (chance {s.get('scene_azimuth_chance', float('nan')):.3f}) "
                    f"after {s.get('scene_iterations', '?')} iterations."
                )
    return lines


def _word(verdict: str, better: str, worse: str) -> str:
    if verdict == HOLDS:
        return f"{better} is closer"
    if verdict == FAILS:
        return f"{worse} is closer"
    return "no resolved difference"


def verdict_lines(df: pd.DataFrame, variant: str, ir_sets: Sequence[str], boot: Bootstrap) -> list[str]:
    """Paired intervals (2D - 3D, positive: 3D closer) per IR set, metric and N, and each model's use of the scene."""
    lines = []
    for ir in ir_sets:
        three, two = _rows(df, ir, "points2sound", HEADLINE["variant"]), _rows(df, ir, "points2sound", variant)
        if not (len(three) and len(two)):
            continue
        for m in _METRICS:
            for n in [*sorted(three["n_sources"].unique()), None]:
                a = three if n is None else three[three["n_sources"] == n]
                b = two if n is None else two[two["n_sources"] == n]
                d = bootstrap_difference(a, b, m, True, boot, f"vision2d/{variant}/{ir}/{m}/{n}")
                where = "all scenes" if n is None else f"N = {n}"
                lines.append(
                    f"- {ir}, {m} ({where}): 3D {d.better_mean:.4g}, 2D {d.worse_mean:.4g}; 2D - 3D "
                    f"{d.interval_text()} ({boot.confidence:.0%} interval, {d.scenes}): "
                    f"{_word(d.verdict, '3D', '2D')}."
                )
        for label, v in (("3D", HEADLINE["variant"]), ("2D", variant)):
            model, turned = _rows(df, ir, "points2sound", v), _rows(df, ir, "rotated_visual", v)
            if len(turned):
                d = bootstrap_difference(model, turned, "d_env", True, boot, f"vision2d/{v}/{ir}/rotated")
                uses = "uses the scene" if d.verdict == HOLDS else f"scene use not shown ({d.verdict})"
                lines.append(
                    f"- {ir}, {label} model fed the scene turned by pi/2: d_ENV {d.worse_mean:.4g} against "
                    f"{d.better_mean:.4g}, difference {d.interval_text()}: {uses}."
                )
    return lines


def _overall(
    df: pd.DataFrame, variant: str, ir_sets: Sequence[str], boot: Bootstrap, spread: SeedSpread | None
) -> list[str]:
    """The plain verdict per IR set over all N: the paired interval, and whether another training seed could
    flip it (|difference| within 2 sigma_d of the seed spread; the 2D side's sigma is the 3D net's, a proxy)."""
    lines = []
    for ir in ir_sets:
        three, two = _rows(df, ir, "points2sound", HEADLINE["variant"]), _rows(df, ir, "points2sound", variant)
        if not (len(three) and len(two)):
            lines.append(f"- {ir}: no verdict, `{variant}` or p2s_rgb has no scores here.")
            continue
        words = []
        for m in _METRICS:
            d = bootstrap_difference(three, two, m, True, boot, f"vision2d/{variant}/{ir}/{m}/None")
            noise = ""
            if spread is not None:
                entry = Entry(HEADLINE_VARIANT, ir, "points2sound", HEADLINE["variant"], HEADLINE["mono_input"])
                sigma, _ = spread.entry_sigma(entry, m)
                if math.isfinite(sigma):
                    noise = ", " + PairSpread(math.hypot(sigma, sigma), False, len(spread.seeds)).text(d.diff)
            words.append(f"{m} {_word(d.verdict, 'the 3D net', 'the 2D net')} (2D - 3D {d.interval_text()}{noise})")
        lines.append(f"- {ir} (all N, paired over {d.n_better} scenes): " + "; ".join(words) + ".")
    return lines


def vision2d_section(
    out_dir: Path,
    df: pd.DataFrame,
    variants: Sequence[str],
    profile: str,
    ir_sets: Sequence[str],
    boot: Bootstrap,
    pretext: Sequence[Path] = (),
    spread: SeedSpread | None = None,
) -> list[str]:
    """Write the section's table; return its Markdown lines (none when no 2D variant was scored)."""
    scored = [v for v in variants if (df["variant"] == v).any()]
    if not scored:
        return []
    lines = [
        "## Beyond the paper: 3D point cloud against 2D image conditioning",
        "",
        "Not in the paper, which argues for 3D over the 2D images of earlier work but never compares them on the "
        "same data. Here the same scenes condition the same conditioned Demucs either as the voxelized point cloud "
        "(the sparse 3D ResNet18 of p2s_rgb) or as the equirectangular rgb-depth panorama of the same voxels seen "
        "from the listener's head, as a 360 camera there would see it (torchvision's 2D ResNet18 with a 4-channel "
        "stem, no ImageNet weights). Both give the same K-wide feature, start from the same scene pretext (the 3D "
        "net after its shape pre-training, which has no 2D counterpart in the pipeline) and train with the same "
        "recipe, budget and seed scheme.",
        "",
    ]
    lines += _pretext_lines(pretext)
    lines.append("")
    for variant in scored:
        table = comparison_table(df, variant, ir_sets, profile)
        paths = table.write(out_dir / "tables")
        lines += [
            f"### `{variant}` against `p2s_rgb`",
            "",
            table.to_markdown(),
            "Files: " + ", ".join(f"[{p.suffix[1:]}]({p.relative_to(out_dir)})" for p in paths) + ".",
            "",
            "Verdict per IR set:",
            "",
            *_overall(df, variant, ir_sets, boot, spread),
            "",
            "Paired intervals over the same scenes:",
            "",
            *verdict_lines(df, variant, ir_sets, boot),
            "",
        ]
    return lines
