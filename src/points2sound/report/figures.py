"""Figures 4 and 5 of the paper as box plots per N, from per-scene scores.

Drawn like the paper: boxes at the first and third quartiles, a line at the
median, whiskers at the data range (so no outlier markers). The figures are
made with matplotlib's object API on an Agg canvas (no pyplot state, no
display) and saved as PNG and PDF with the creation date left out, so
rerunning on the same scores gives identical bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..atomic import atomic_path
from ..errors import InputFileError
from ..evaluate.metrics import METRIC_LABELS
from .tables import HEADLINE, PAPER_NS, select_entry

FORMATS = ("png", "pdf")
_RC = {"svg.hashsalt": "points2sound", "pdf.fonttype": 42, "font.size": 9, "savefig.dpi": 150}
_METADATA = {
    "png": {"Software": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}
COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3")


def _groups_by_n(rows: pd.DataFrame, metric: str, ns: Sequence[int]) -> list[np.ndarray]:
    return [rows.loc[rows["n_sources"] == n, metric].to_numpy(float) for n in ns]


def _draw(series: list[tuple[str, pd.DataFrame]], metrics: Sequence[str], title: str) -> Figure:
    """One panel per metric; per N, one box per labelled series side by side."""
    present = [int(n) for _, rows in series for n in rows["n_sources"].unique()]
    ns = sorted(set(PAPER_NS) | set(present))
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(3.2 * len(metrics) + 0.6, 3.0), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, len(metrics), squeeze=False)[0]
        width = 0.8 / max(1, len(series))
        for ax, metric in zip(axes, metrics):
            drawn = False
            for k, (label, rows) in enumerate(series):
                data = _groups_by_n(rows, metric, ns)
                keep = [i for i, d in enumerate(data) if len(d)]
                if not keep:
                    continue
                pos = [i + 1 + (k - (len(series) - 1) / 2) * width for i in keep]
                color = COLORS[k % len(COLORS)]
                ax.boxplot(
                    [data[i] for i in keep],
                    positions=pos,
                    widths=width * 0.85,
                    whis=(0, 100),
                    showfliers=False,
                    patch_artist=True,
                    manage_ticks=False,
                    boxprops=dict(facecolor=color, alpha=0.55, edgecolor=color),
                    medianprops=dict(color="black"),
                    whiskerprops=dict(color=color),
                    capprops=dict(color=color),
                )
                ax.plot([], [], color=color, linewidth=6, alpha=0.55, label=label)  # legend handle
                drawn = True
            ax.set_xticks(range(1, len(ns) + 1), [str(n) for n in ns])
            ax.set_xlim(0.4, len(ns) + 0.6)
            ax.set_xlabel("number of sources N")
            ax.set_ylabel(METRIC_LABELS.get(metric, metric))
            if drawn:
                ax.legend(fontsize=7, frameon=False)
            else:
                missing = ", ".join(label for label, _ in series)
                ax.text(
                    0.5,
                    0.5,
                    f"n/a: no scores for\n{missing}",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    fontsize=8,
                )
        fig.suptitle(title, fontsize=9)
    return fig


def save_figure(fig: Figure, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Save `fig` as <stem>.png / <stem>.pdf atomically, without timestamps; return the paths."""
    stem = Path(stem)
    paths = []
    with matplotlib.rc_context(_RC):
        for fmt in formats:
            path = stem.with_name(f"{stem.name}.{fmt}")
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt, metadata=_METADATA.get(fmt))
            paths.append(path)
    return paths


def figure_rooms(
    df: pd.DataFrame,
    stem: str | Path,
    profile: str,
    anechoic: str,
    rooms: Sequence[str] | None = None,
    metrics: Sequence[str] = ("d_env", "d_stft"),
) -> list[Path]:
    """Figure 4: the headline model (p2s_rgb) per N, anechoic and in each room."""
    if rooms is None:
        rooms = sorted(set(df["ir_set"]) - {anechoic})
    series = [(f"anechoic ({anechoic})", select_entry(df, anechoic, **HEADLINE))]
    series += [(room, select_entry(df, room, **HEADLINE)) for room in rooms]
    title = f"Points2Sound (L_full, rgb-depth) by room, profile {profile}"
    return save_figure(_draw(series, metrics, title), stem)


def figure_p2s_vs_m2b(
    df: pd.DataFrame, stem: str | Path, profile: str, anechoic: str, metrics: Sequence[str] = ("d_env", "d_stft")
) -> list[Path]:
    """Figure 5: Points2Sound (p2s_rgb) against Mono2Binaural (m2b_rgb) per N, anechoic."""
    series = [
        ("Points2Sound", select_entry(df, anechoic, **HEADLINE)),
        ("Mono2Binaural", select_entry(df, anechoic, "mono2binaural", "m2b_rgb", "sum_lr")),
    ]
    title = f"Points2Sound vs Mono2Binaural (rgb-depth, {anechoic}), profile {profile}"
    return save_figure(_draw(series, metrics, title), stem)


AZIMUTH_SERIES = (
    ("Points2Sound (p2s_rgb)", "points2sound"),
    ("Rotated-Visual (p2s_rgb)", "rotated_visual"),
    ("Mono-Mono (s_L + s_R)", "mono_mono"),
)


def azimuth_of_single_source(rows: pd.DataFrame) -> pd.Series:
    """The azimuth in degrees of each N = 1 row (its `azimuths_deg` holds one value)."""
    return rows["azimuths_deg"].map(lambda v: float(str(v).split(";")[0]))


def figure_azimuth(
    df: pd.DataFrame, stem: str | Path, profile: str, anechoic: str, metric: str = "d_env"
) -> list[Path]:
    """Error against source azimuth at N = 1: Points2Sound (p2s_rgb), Rotated-Visual and Mono-Mono
    (s_L + s_R), anechoic; the mean per azimuth with its standard error as a bar."""
    from .stats import standard_error

    variant, mono_input = HEADLINE["variant"], HEADLINE["mono_input"]
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(5.2, 3.0), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        drawn = False
        for k, (label, method) in enumerate(AZIMUTH_SERIES):
            rows = select_entry(df, anechoic, method, "" if method == "mono_mono" else variant, mono_input, n_sources=1)
            if not len(rows):
                continue
            az = azimuth_of_single_source(rows)
            groups = rows.groupby(az)[metric]
            x = np.array(sorted(groups.groups), dtype=float)
            means = np.array([groups.get_group(a).mean() for a in x])
            errors = np.array([standard_error(groups.get_group(a)) for a in x])
            color = COLORS[k % len(COLORS)]
            ax.errorbar(
                x + (k - 1) * 3.0,
                means,
                yerr=np.nan_to_num(errors),
                color=color,
                marker="o",
                markersize=3.5,
                capsize=2,
                linewidth=1.2,
                label=label,
            )
            drawn = True
        ax.set_xlabel("source azimuth (deg; 0 front, 90 left)")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        ax.set_xticks(range(0, 360, 45))
        ax.set_xlim(-20, 335)
        if drawn:
            ax.legend(fontsize=7, frameon=False)
        else:
            ax.text(
                0.5,
                0.5,
                "n/a: no N = 1 scores for these entries",
                ha="center",
                va="center",
                transform=ax.transAxes,
                fontsize=8,
            )
        fig.suptitle(
            f"{METRIC_LABELS.get(metric, metric)} against source azimuth, N = 1 ({anechoic}), profile {profile}",
            fontsize=9,
        )
    return save_figure(fig, stem)


CURVES = (  # dvclive history file stem -> legend label, line style
    ("val_l1", "validation L1", "-"),
    ("val_l1_mono_copy", "mono copied to both ears", "--"),
    ("val_l1_rotated", "scene turned by pi/2", ":"),
)
ROTATED = ("val_l1_rotated", "scene turned by pi/2 (best weights)")


def read_history(run_dir: str | Path, metric: str) -> pd.DataFrame | None:
    """One metric's history in a run's dvclive folder (`plots/metrics/<metric>.tsv`: step, value), or None."""
    path = Path(run_dir) / "plots" / "metrics" / f"{metric}.tsv"
    if not path.is_file():
        return None
    rows = pd.read_csv(path, sep="\t")
    if "step" not in rows.columns or metric not in rows.columns:
        raise InputFileError(path, f"not a dvclive history of {metric!r} (columns {list(rows.columns)})")
    return rows[["step", metric]]


def read_summary(run_dir: str | Path) -> dict:
    """A run's dvclive summary (`metrics.json`), or {} when absent."""
    path = Path(run_dir) / "metrics.json"
    if not path.is_file():
        return {}
    try:
        return dict(json.loads(path.read_text()))
    except ValueError as exc:
        raise InputFileError(path, f"not a dvclive summary ({exc})") from exc


def figure_learning_curves(runs: Mapping[str, str | Path], stem: str | Path, profile: str) -> list[Path]:
    """The validation L1 of each variant's training against its two sanity baselines over the iterations: the
    mono copy and the scene turned by pi/2 (for a run that logged only its best weights' turned L1, that point).
    One panel per run, from its dvclive folder (`runs`: name -> dir)."""
    names = list(runs)
    cols = min(4, max(1, len(names)))
    rows_n = max(1, -(-len(names) // cols))
    fig = Figure(figsize=(2.6 * cols + 0.4, 2.1 * rows_n + 0.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows_n, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(names):
            ax.set_axis_off()
            continue
        name, drawn = names[k], set()
        for j, (metric, label, style) in enumerate(CURVES):
            hist = read_history(runs[name], metric)
            if hist is not None and len(hist):
                ax.plot(hist["step"], hist[metric], style, marker="o", markersize=2, color=COLORS[j], label=label)
                drawn.add(metric)
        summary = read_summary(runs[name])
        if ROTATED[0] not in drawn and ROTATED[0] in summary and "best_iteration" in summary:  # an older run
            ax.plot(summary["best_iteration"], summary[ROTATED[0]], "x", color=COLORS[2], label=ROTATED[1])
            drawn.add(ROTATED[0])
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("iteration", fontsize=7)
        ax.tick_params(labelsize=6)
        if k % cols == 0:
            ax.set_ylabel("L1", fontsize=7)
        if not drawn:
            ax.text(0.5, 0.5, "no history", ha="center", va="center", transform=ax.transAxes, fontsize=8)
    legends = [ax.get_legend_handles_labels() for ax in axes.flat]
    handles, labels = max(legends, key=lambda hl: len(hl[0]))
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=len(handles), fontsize=7, frameon=False)
    fig.suptitle(f"Learning curves (validation scenes), profile {profile}", fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    return save_figure(fig, stem)
