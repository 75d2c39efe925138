"""The report's first-order ambisonics section: the FOA variant against Morgado's baselines.

Reads the FOA stage's per-scene scores (`evaluate/foa.py`) and, for the decoded comparison, the binaural
scores of the headline model and Mono-Mono on the same anechoic scenes. Every number is a mean over
those scene rows; each verdict is a paired bootstrap interval over the same scenes (`report.stats`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..evaluate.foa import read_foa_scores
from ..settings.report import Bootstrap
from .figures import COLORS, save_figure
from .stats import HOLDS, Difference, bootstrap_difference
from .table_text import FrameTable
from .tables import HEADLINE, select_entry

FIELD_LABELS = {
    "points2sound_foa": "Points2Sound-FOA",
    "rotated_visual": "Rotated-Visual (scene turned by pi/2)",
    "turned_back": "Rotated-Visual, head turned by pi/2 to follow (rotation matrix)",
    "spatial_prior": "Spatial prior (training mean)",
    "omni": "Omni (W alone)",
    "truth": "True field (decoded: first-order ceiling)",
}
_FORMATS = {"foa_stft": ".3f", "foa_env": ".4f", "emd": ".3f", "d_env": ".4f", "d_stft": ".3f", "scenes": "d"}
_FORMATS["emd_vs_model"] = ".3f"


def _per_n(rows: pd.DataFrame, metrics: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in metrics:
        for n in sorted(rows["n_sources"].unique()):
            out[f"{m} N={n}"] = float(rows.loc[rows["n_sources"] == n, m].mean())
        out[f"{m} all"] = float(rows[m].mean())
    return out


def field_table(scores: pd.DataFrame, variant: str, profile: str) -> FrameTable:
    """Morgado's Table 1 on our scenes: field distances and EMD per N for every method."""
    metrics = ("foa_env", "foa_stft", "emd")
    rows = [
        {"method": FIELD_LABELS[m], **_per_n(scores[scores["method"] == m], metrics)}
        for m in FIELD_LABELS
        if m != "truth" and (scores["method"] == m).any()
    ]
    caption = (
        f"FOA field distances of `{variant}` ({profile}, anechoic test scenes): envelope and STFT distances "
        "of the first-order channels, EMD of the directional energy maps (radians); lower is better"
    )
    return _frame_table(f"foa_fields_{variant}", caption, rows)


def decoded_rows(scores: pd.DataFrame, binaural: pd.DataFrame, anechoic: str) -> dict[str, pd.DataFrame]:
    """Scene rows (scene_id, n_sources, d_env, d_stft) of each headphone signal on the FOA stage's scenes."""
    ids = set(scores["scene_id"])
    cols = ["scene_id", "n_sources", "d_env", "d_stft"]
    out = {
        "Points2Sound-FOA decoded": scores.loc[scores["method"] == "points2sound_foa", cols],
        "True field decoded (ceiling)": scores.loc[scores["method"] == "truth", cols],
        "Omni (W) decoded": scores.loc[scores["method"] == "omni", cols],
    }
    if len(binaural):
        for label, method, variant, mono in (
            ("Points2Sound (p2s_rgb, binaural)", HEADLINE["method"], HEADLINE["variant"], HEADLINE["mono_input"]),
            ("Mono-Mono (s_L + s_R)", "mono_mono", "", "sum_lr"),
        ):
            rows = select_entry(binaural, anechoic, method, variant, mono)
            out[label] = rows.loc[rows["scene_id"].isin(ids), cols]
    return {k: v for k, v in out.items() if len(v)}


def decoded_table(decoded: dict[str, pd.DataFrame], variant: str, profile: str) -> FrameTable:
    rows = [{"signal": label, "scenes": len(r), **_per_n(r, ("d_env", "d_stft"))} for label, r in decoded.items()]
    caption = (
        f"Decoded to headphones ({profile}, anechoic test scenes): `{variant}`'s field and the true field "
        "through the HRIR set's magLS decoder, beside the binaural headline model and Mono-Mono on the same scenes"
    )
    return _frame_table(f"foa_decoded_{variant}", caption, rows)


def _frame_table(name: str, caption: str, rows: list[dict]) -> FrameTable:
    """A table of per-N means: the first column labels the rows, each other's format follows its metric."""
    frame = pd.DataFrame(rows)
    formats = {c: _FORMATS[c.split()[0]] for c in frame.columns[1:]}
    return FrameTable(name, caption, frame, formats=formats)


def _verdicts(scores: pd.DataFrame, decoded: dict[str, pd.DataFrame], boot: Bootstrap, variant: str) -> list[str]:
    """Paired intervals of the questions the section answers, at N = 1 and over all scenes."""
    model = scores[scores["method"] == "points2sound_foa"]
    lines = []
    checks = [
        ("spatial prior", scores[scores["method"] == "spatial_prior"], m, n)
        for m in ("emd", "foa_env")
        for n in (1, None)
    ]
    checks += [("Rotated-Visual", scores[scores["method"] == "rotated_visual"], "emd", n) for n in (1, None)]
    for name, base, metric, n in checks:
        d, where, verdict = _paired(model, base, metric, n, boot, f"foa/{variant}/{name}/{metric}/{n}")
        lines.append(
            f"- Points2Sound-FOA below the {name} on {metric} ({where}): {verdict}; "
            f"{d.better_mean:.4g} against {d.worse_mean:.4g}, difference {d.interval_text()} "
            f"({boot.confidence:.0%} interval, {d.scenes})."
        )
    lines += _rotation_lines(scores)
    binaural = decoded.get("Points2Sound (p2s_rgb, binaural)")
    ours = decoded.get("Points2Sound-FOA decoded")
    if binaural is not None and ours is not None:
        for n in (1, None):
            d, where, _ = _paired(binaural, ours, "d_env", n, boot, f"foa/{variant}/decoded/{n}")
            lines.append(
                f"- Binaural p2s_rgb against the decoded FOA prediction on d_ENV ({where}): {d.better_mean:.4g} "
                f"against {d.worse_mean:.4g}, difference (FOA - binaural) {d.interval_text()}, {d.verdict} "
                f"that the binaural model is closer ({d.scenes})."
            )
    return lines


def _paired(
    better: pd.DataFrame, worse: pd.DataFrame, metric: str, n: int | None, boot: Bootstrap, key: str
) -> tuple[Difference, str, str]:
    """The paired interval of `metric` at N = n (None: all scenes), where it was taken, and yes / no (why)."""
    a = better if n is None else better[better["n_sources"] == n]
    b = worse if n is None else worse[worse["n_sources"] == n]
    d = bootstrap_difference(a, b, metric, True, boot, key)
    return d, "all scenes" if n is None else f"N = {n}", "yes" if d.verdict == HOLDS else f"no ({d.verdict})"


def _baseline_lines(scores: pd.DataFrame, unet: pd.DataFrame, name: str, boot: Bootstrap) -> list[str]:
    """The variant against the U-Net baseline's prediction (the same audio net without vision), same scenes."""
    model = scores[scores["method"] == "points2sound_foa"]
    base = unet[unet["method"] == "points2sound_foa"]
    lines = []
    for metric in ("emd", "foa_env"):
        for n in (1, None):
            d, where, verdict = _paired(model, base, metric, n, boot, f"foa/unet/{name}/{metric}/{n}")
            lines.append(
                f"- Below the U-Net baseline `{name}` (no vision) on {metric} ({where}): {verdict}; "
                f"{d.better_mean:.4g} against {d.worse_mean:.4g}, difference {d.interval_text()} ({d.scenes})."
            )
    return lines


def _rotation_lines(scores: pd.DataFrame) -> list[str]:
    """Rotation consistency: the prediction for the scene turned by pi/2, turned back by the head (a rotation
    matrix), against the prediction itself. It matches when that EMD is below both the model's own error (its
    EMD to the truth) and the EMD the turn makes uncompensated (Rotated-Visual against the prediction), which a
    model that ignores the scene has near zero."""
    back = scores[scores["method"] == "turned_back"]
    turned = scores[scores["method"] == "rotated_visual"]
    model = scores[scores["method"] == "points2sound_foa"]
    if not len(back):
        return []
    out = []
    for n in (1, None):
        b, t, m = (x if n is None else x[x["n_sources"] == n] for x in (back, turned, model))
        gap, raw, own = (float(v) for v in (b["emd_vs_model"].mean(), t["emd_vs_model"].mean(), m["emd"].mean()))
        where = "all scenes" if n is None else f"N = {n}"
        verdict = "matches" if gap < min(raw, own) else "does not match"
        out.append(
            f"- Head turned by pi/2 after synthesis against the scene turned the other way ({where}): mean EMD "
            f"between the two fields {gap:.4g} rad, against {raw:.4g} rad uncompensated and the model's own EMD "
            f"to the truth {own:.4g} rad: it {verdict}."
        )
    return out


def figure_energy_maps(maps: pd.DataFrame, stem: Path, variant: str) -> list[Path]:
    """Directional energy of a few test scenes: the true field, the prediction and the spatial prior."""
    scenes = list(dict.fromkeys(maps["scene_id"]))
    fig = Figure(figsize=(2.6 * len(scenes), 2.8))
    FigureCanvasAgg(fig)
    for k, scene in enumerate(scenes, 1):
        ax = fig.add_subplot(1, len(scenes), k, projection="polar")
        rows = maps[maps["scene_id"] == scene]
        for (method, label), color in zip(
            (("truth", "true"), ("points2sound_foa", "predicted"), ("spatial_prior", "prior")), COLORS
        ):
            r = rows[rows["method"] == method].sort_values("direction_deg")
            theta = np.deg2rad(np.append(r["direction_deg"].to_numpy(), r["direction_deg"].iloc[0]))
            ax.plot(theta, np.append(r["share"].to_numpy(), r["share"].iloc[0]), color=color, label=label, lw=1.2)
        ax.set_theta_zero_location("N")  # straight ahead up, azimuth counter-clockwise (to the left)
        ax.set_yticklabels([])
        ax.set_title(
            f"N = {rows['n_sources'].iloc[0]}: {rows['azimuths_deg'].iloc[0].replace(';', ', ')} deg", fontsize=8
        )
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.suptitle(f"Directional energy maps, {variant}", fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    return save_figure(fig, stem)


def _rel(path: Path, out_dir: Path) -> str:
    return str(Path(path).relative_to(out_dir))


def _table_lines(table: FrameTable, out_dir: Path) -> list[str]:
    paths = table.write(out_dir / "tables")
    return [
        table.to_markdown(),
        "Files: " + ", ".join(f"[{p.suffix[1:]}]({_rel(p, out_dir)})" for p in paths) + ".",
        "",
    ]


def foa_section(
    out_dir: Path,
    binaural: pd.DataFrame,
    foa_paths: Sequence[Path],
    profile: str,
    anechoic: str,
    boot: Bootstrap,
    baselines: Sequence[str] = (),
) -> list[str]:
    """Write the section's tables and figure; return its Markdown lines. `baselines` are the FOA variants
    without vision (the U-Net baseline): each other variant is also checked against them."""
    lines = [
        "## Beyond the paper: first-order ambisonics",
        "",
        "Not in the paper (Morgado et al., seed paper 003): the same vision net and conditioned Demucs predict the "
        "first-order channels (Y, Z, X, ambiX) of the scene's sound field from its omni channel W, the true mono "
        "mixture, so the field can be turned with the listener's head and decoded through any HRIR set afterwards. "
        "The true field encodes each source's mono segment at its azimuth with the binaural target's 1/N scaling. "
        "Baselines of Morgado's Table 1 on our scenes: the spatial prior (the training scenes' mean first-order "
        "direction and mean energy map) and the omni field (W alone, the ambisonic Mono-Mono); Rotated-Visual "
        "feeds the scene turned by pi/2. Energy maps: the field steered by cardioid beams to 36 directions on "
        "the horizontal circle (`foa.n_directions`), EMD with the angle between directions as ground distance.",
        "",
    ]
    score_paths = {Path(p).parent.name: Path(p) for p in foa_paths if Path(p).name == "scores.csv"}
    all_scores = {v: read_foa_scores(p) for v, p in score_paths.items()}
    for variant, path in score_paths.items():
        scores = all_scores[variant]
        decoded = decoded_rows(scores, binaural, anechoic)
        blind = variant in baselines
        lines += [f"### `{variant}`" + (" (U-Net baseline: no visual feature)" if blind else ""), ""]
        lines += _table_lines(field_table(scores, variant, profile), out_dir)
        lines += _table_lines(decoded_table(decoded, variant, profile), out_dir)
        verdicts = _verdicts(scores, decoded, boot, variant)
        if not blind:
            for b in baselines:
                if b in all_scores:
                    verdicts += _baseline_lines(scores, all_scores[b], b, boot)
        lines += ["Verdicts (paired bootstrap over the same scenes):", "", *verdicts, ""]
        maps_path = path.with_name("energy_maps.csv")
        if maps_path.is_file():
            maps = pd.read_csv(maps_path, dtype={"scene_id": str, "azimuths_deg": str})
            figs = figure_energy_maps(maps, out_dir / "figures" / f"foa_energy_maps_{variant}", variant)
            lines += [f"![Directional energy maps of {variant}]({_rel(figs[0], out_dir)})", ""]
    return lines
