"""The report section "Audio pre-training by separation", computed from score files.

Inputs: the separation network's bss_eval scores (`mono.csv`, one row per source of each
test mixture), optional per-ear scores of binaural variants (`<variant>_per_ear.csv`, the
same plus `ear`), the per-scene binaural scores the report already reads, and the audio
cost table of `points2sound audio-costs`. Every number and every verdict in the section
is computed here from those files; a missing file becomes a sentence saying what is
missing, so a profile that did not run the separation stages still gets its report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..evaluate.separation_metrics import METRICS as SEP_METRICS
from ..evaluate.separation_metrics import per_n_summary
from ..model_kinds import HEADLINE_VARIANT
from .page import _rel
from .table_text import FrameTable
from .tables import METRIC_LABELS

MONO_COLUMNS = ("scene_id", "n_sources", "source_index", "instrument", "azimuth_deg", "sdr", "sir", "sar")
EARS = ("left", "right")
COST_REQUIRED = ("profile", "network", "parameters", "gmacs_per_s")
BASELINE, PRETRAINED = HEADLINE_VARIANT, "p2s_audiopt"  # Points2Sound without / with audio pre-training
BINAURAL_METRICS = ("d_env", "d_stft")
HELPED, NOT_HELPED, MIXED = "helped", "did not help", "mixed"
SEP_LABELS = {"sdr": "SDR", "sir": "SIR", "sar": "SAR"}


# ---------------------------------------------------------------------------
# Reading the inputs
# ---------------------------------------------------------------------------


@dataclass
class SeparationInputs:
    """What was found: the separation network's scores, per-ear scores by variant, what is missing."""

    mono: pd.DataFrame | None = None
    per_ear: dict[str, pd.DataFrame] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def read_separation_csv(path: str | Path, ear: bool = False) -> pd.DataFrame:
    """Read and check one separation score file (mono.csv, or a per-ear file with ear=True).

    A present but malformed file is an error naming the file (it would otherwise turn into a
    wrong table cell); SIR may be +inf (N = 1 in bss_eval), but no metric may be NaN.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"not a readable CSV ({exc})") from exc
    required = [*MONO_COLUMNS, *(("ear",) if ear else ())]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputFileError(path, f"missing separation score columns {missing}", f"expected {required}")
    n = pd.to_numeric(df["n_sources"], errors="coerce")
    if n.isna().any() or (n < 1).any() or (n != np.round(n)).any():
        raise InputFileError(path, "column 'n_sources' must hold integers >= 1")
    df["n_sources"] = n.astype(int)
    for col in SEP_METRICS:
        values = pd.to_numeric(df[col], errors="coerce")
        if values.isna().any():
            raise InputFileError(path, f"column {col!r} must hold numbers (dB)")
        df[col] = values.astype(float)
    if ear and not df["ear"].isin(EARS).all():
        raise InputFileError(path, f"column 'ear' must hold {list(EARS)}")
    return df


def _classify(path: Path) -> str | None:
    """'mono', a variant name for <variant>_per_ear.csv, or None."""
    if path.name == "mono.csv":
        return "mono"
    if path.name.endswith("_per_ear.csv") and len(path.name) > len("_per_ear.csv"):
        return path.name[: -len("_per_ear.csv")]
    return None


def find_separation_files(paths: Sequence[str | Path]) -> tuple[list[Path], dict[str, Path], list[str]]:
    """(mono files, per-ear file by variant, missing paths) among files and folders of them."""
    monos: list[Path] = []
    per_ear: dict[str, Path] = {}
    missing: list[str] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = [p for p in sorted(path.glob("*.csv")) if _classify(p)]
            if not (path / "mono.csv").is_file():
                missing.append(f"`{path / 'mono.csv'}` (the separation network's scores)")
        elif path.is_file():
            if _classify(path) is None:
                raise InputFileError(path, "not a separation score file", "expected mono.csv or <variant>_per_ear.csv")
            found = [path]
        else:
            missing.append(f"`{path}` (not found)")
            found = []
        for p in found:
            kind = _classify(p)
            if kind == "mono":
                monos.append(p)
            elif kind in per_ear:
                raise InputFileError(p, f"per-ear scores of {kind!r} are also in {per_ear[kind]}")
            else:
                per_ear[kind] = p
    return monos, per_ear, missing


def load_separation_inputs(
    paths: Sequence[str | Path] | None, per_ear_variants: Sequence[str] = ()
) -> SeparationInputs:
    """Read what exists of the separation scores; list what is missing (never raises for absence)."""
    if not paths:
        return SeparationInputs(missing=["no separation scores were given (`--separation-scores`)"])
    monos, per_ear_paths, missing = find_separation_files(paths)
    if len(monos) > 1:
        raise InputFileError(monos[1], f"a second mono.csv (the first: {monos[0]})")
    out = SeparationInputs(missing=missing)
    if monos:
        out.mono = read_separation_csv(monos[0])
        if not len(out.mono):
            out.mono = None
            out.missing.append(f"rows in `{monos[0]}` (it has none)")
    out.per_ear = {v: read_separation_csv(p, ear=True) for v, p in sorted(per_ear_paths.items())}
    for variant in per_ear_variants:
        if variant not in out.per_ear:
            out.missing.append(f"per-ear scores of `{variant}` (`{variant}_per_ear.csv`)")
    return out


def read_costs(path: str | Path) -> pd.DataFrame:
    """The CSV of `points2sound audio-costs`, checked for the columns the section uses."""
    path = Path(path)
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"not a readable CSV ({exc})") from exc
    missing = [c for c in COST_REQUIRED if c not in df.columns]
    if missing:
        raise InputFileError(path, f"missing cost columns {missing}", "write it with `points2sound audio-costs`")
    if "note" in df.columns:
        df["note"] = df["note"].astype(object).where(df["note"].notna(), "").map(str)
    return df


# ---------------------------------------------------------------------------
# (a), (b): separation scores per N
# ---------------------------------------------------------------------------

_DB_FORMATS = {f"{m}_{s}": ".2f" for m in SEP_METRICS for s in ("mean", "median")}


def _sep_headers() -> dict[str, str]:
    return {f"{m}_{s}": f"{SEP_LABELS[m]} {s} (dB)" for m in SEP_METRICS for s in ("mean", "median")} | {
        "n_sources": "N",
        "count": "sources scored",
        "variant": "variant",
        "ear": "ear",
    }


def separation_table(mono: pd.DataFrame, profile: str) -> FrameTable:
    """(a) SDR, SIR and SAR of the separation network, mean and median per N."""
    caption = (
        f"Separation by the audio pre-training network (profile {profile}): bss_eval of each source's "
        f"mono estimate from the mono mixture, conditioned on that performer's cloud; higher is better."
    )
    return FrameTable("separation_mono", caption, per_n_summary(mono), _sep_headers(), _DB_FORMATS)


def per_ear_table(per_ear: Mapping[str, pd.DataFrame], profile: str) -> FrameTable:
    """(b) Per-ear scores of binaural variants conditioned on one performer at a time, per N and ear."""
    frames = [per_n_summary(df, by=("n_sources", "ear")).assign(variant=v) for v, df in per_ear.items()]
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[["variant", *[c for c in frame.columns if c != "variant"]]]
    caption = (
        f"Per-ear separation by binaural models (profile {profile}): the mixture in, one performer's cloud "
        f"as the scene, each ear of the output scored against that source's binaural render; higher is better."
    )
    return FrameTable("separation_per_ear", caption, frame, _sep_headers(), _DB_FORMATS)


# ---------------------------------------------------------------------------
# (c) Points2Sound with vs without audio pre-training
# ---------------------------------------------------------------------------


def _variant_rows(df: pd.DataFrame, variant: str) -> pd.DataFrame:
    return df[(df["method"] == "points2sound") & (df["variant"] == variant)]


def pretraining_comparison(
    scores: pd.DataFrame, ir_sets: Sequence[str] | None = None, baseline: str = BASELINE, pretrained: str = PRETRAINED
) -> pd.DataFrame:
    """Per (IR set, N): mean d_ENV, d_STFT of both variants, their difference and paired scene counts.

    Columns: ir_set, n_sources, scenes (paired: scored by both), then per metric
    `<m>_<baseline>`, `<m>_<pretrained>`, `<m>_diff` (pretrained - baseline; negative:
    pre-training lowered the error) and `<m>_lower` (paired scenes where pretrained is lower).
    Only cells that both variants scored are kept.
    """
    a, b = _variant_rows(scores, baseline), _variant_rows(scores, pretrained)
    sets = list(ir_sets) if ir_sets else sorted(set(a["ir_set"]) | set(b["ir_set"]))
    rows = []
    for ir_set in sets:
        ns = set(a.loc[a["ir_set"] == ir_set, "n_sources"]) & set(b.loc[b["ir_set"] == ir_set, "n_sources"])
        for n in sorted(ns):
            ca = a[(a["ir_set"] == ir_set) & (a["n_sources"] == n)]
            cb = b[(b["ir_set"] == ir_set) & (b["n_sources"] == n)]
            paired = ca.merge(cb, on="scene_id", suffixes=("_a", "_b"))
            row = {"ir_set": ir_set, "n_sources": int(n), "scenes": len(paired)}
            for m in BINAURAL_METRICS:
                row[f"{m}_{baseline}"], row[f"{m}_{pretrained}"] = ca[m].mean(), cb[m].mean()
                row[f"{m}_diff"] = row[f"{m}_{pretrained}"] - row[f"{m}_{baseline}"]
                row[f"{m}_lower"] = int((paired[f"{m}_b"] < paired[f"{m}_a"]).sum())
            rows.append(row)
    columns = ["ir_set", "n_sources", "scenes"] + [
        f"{m}_{s}" for m in BINAURAL_METRICS for s in (baseline, pretrained, "diff", "lower")
    ]
    return pd.DataFrame(rows, columns=columns)


def _metric_outcome(comparison: pd.DataFrame, metric: str) -> tuple[int, int, float, str]:
    """(cells lowered, cells, mean difference, 'better' | 'not better' | 'split') for one metric."""
    diff = comparison[f"{metric}_diff"]
    k, m, mean = int((diff < 0).sum()), len(diff), float(diff.mean())
    if k > m / 2 and mean < 0:
        return k, m, mean, "better"
    if k <= m / 2 and mean >= 0:
        return k, m, mean, "not better"
    return k, m, mean, "split"


VERDICT_RULE = (
    "Rule: for each of d_ENV and d_STFT, pre-training counts as better when it lowered the mean in more "
    "than half of the (N, IR set) cells and the difference averaged over the cells is negative, and "
    "as not better when neither holds; the verdict is *helped* when both metrics are better, *did not "
    "help* when both are not better, and *mixed* otherwise. No significance test is made."
)


def pretraining_verdict(
    comparison: pd.DataFrame, baseline: str = BASELINE, pretrained: str = PRETRAINED
) -> tuple[str, list[str]]:
    """The verdict (helped / did not help / mixed, by VERDICT_RULE) and the sentences behind it."""
    outcomes, lines = [], []
    for metric in BINAURAL_METRICS:
        k, m, mean, outcome = _metric_outcome(comparison, metric)
        outcomes.append(outcome)
        base = comparison[f"{metric}_{baseline}"].mean()
        change = "lowered" if mean < 0 else "raised" if mean > 0 else "left unchanged"
        lower, scenes = int(comparison[f"{metric}_lower"].sum()), int(comparison["scenes"].sum())
        share = f" ({abs(mean) / base:.1%} of {baseline}'s average cell mean {base:.4g})" if base > 0 else ""
        lines.append(
            f"Audio pre-training lowered mean {METRIC_LABELS[metric]} in {k} of {m} (N, IR set) cells; "
            f"on average over the cells it {change} it by {abs(mean):.4g}{share}. Scene by scene, "
            f"{pretrained} had the lower {METRIC_LABELS[metric]} in {lower} of {scenes} paired test scenes."
        )
    verdict = HELPED if outcomes == ["better"] * 2 else NOT_HELPED if outcomes == ["not better"] * 2 else MIXED
    return verdict, lines


def comparison_table(
    comparison: pd.DataFrame, profile: str, baseline: str = BASELINE, pretrained: str = PRETRAINED
) -> FrameTable:
    headers = {"ir_set": "IR set", "n_sources": "N", "scenes": "paired scenes"}
    formats = {}
    for m in BINAURAL_METRICS:
        label = METRIC_LABELS[m]
        headers |= {
            f"{m}_{baseline}": f"{label} {baseline}",
            f"{m}_{pretrained}": f"{label} {pretrained}",
            f"{m}_diff": f"{label} difference",
            f"{m}_lower": f"{label}: {pretrained} lower (scenes)",
        }
        formats |= {f"{m}_{s}": ".4g" for s in (baseline, pretrained, "diff")}
    caption = (
        f"Points2Sound with audio pre-training ({pretrained}) against without ({baseline}), profile "
        f"{profile}: mean per N and IR set; difference = {pretrained} - {baseline} (negative: lower error "
        f"with pre-training); lower is better."
    )
    return FrameTable("audiopt_vs_rgb", caption, comparison, headers, formats)


# ---------------------------------------------------------------------------
# (d) separation quality beside the headline's binaural errors
# ---------------------------------------------------------------------------


def separation_vs_binaural(
    mono: pd.DataFrame, scores: pd.DataFrame, anechoic: str, headline: str = BASELINE
) -> pd.DataFrame:
    """Per N: the separation network's SDR (mean, median) and the headline's mean binaural errors."""
    sep = per_n_summary(mono, metrics=("sdr",))[["n_sources", "sdr_mean", "sdr_median"]]
    rows = _variant_rows(scores, headline)
    rows = rows[rows["ir_set"] == anechoic]
    binaural = rows.groupby("n_sources")[list(BINAURAL_METRICS)].mean().reset_index()
    binaural.columns = ["n_sources", *(f"{m}_{headline}" for m in BINAURAL_METRICS)]
    binaural["n_sources"] = binaural["n_sources"].astype(int)
    return sep.merge(binaural, on="n_sources", how="outer").sort_values("n_sources").reset_index(drop=True)


def co_movement(table: pd.DataFrame, headline: str = BASELINE) -> str:
    """Whether separation SDR and the headline's binaural errors change the same way over N.

    "Together" means: at each step to the next N both get better (SDR up, error down) or
    both get worse. Nothing causal follows; the two come from different networks.
    """
    common = table.dropna()
    ns = common["n_sources"].tolist()
    if len(ns) < 2:
        have = ", ".join(f"N = {n}" for n in ns) or "no N"
        return f"Whether separation and binaural quality move together cannot be read here: {have} has both scores."
    parts, verdicts = [], []
    sdr = common["sdr_mean"].to_numpy()
    for m in BINAURAL_METRICS:
        d = common[f"{m}_{headline}"].to_numpy()
        steps = np.sign(np.diff(sdr)) * -np.sign(np.diff(d))  # +1: same direction in quality
        verdicts.append(
            "move together"
            if (steps > 0).all()
            else "move in opposite directions"
            if (steps < 0).all()
            else "do not move consistently"
        )
        parts.append(f"{METRIC_LABELS[m]} from {d[0]:.4g} to {d[-1]:.4g}")
    sentence = (
        f"From N = {ns[0]} to N = {ns[-1]}, the separation network's mean SDR went from {sdr[0]:.2f} to "
        f"{sdr[-1]:.2f} dB, {headline}'s mean anechoic " + " and ".join(parts) + ". "
    )
    per_metric = "; ".join(f"with {METRIC_LABELS[m]} they {v}" for m, v in zip(BINAURAL_METRICS, verdicts))
    return (
        sentence + f"Step by step over N = {', '.join(map(str, ns))} (higher SDR and lower error counting as "
        f"better): {per_metric}. This is a co-occurrence over {len(ns)} values of N, not evidence that one "
        f"causes the other: the separation scores are another network's, on mono mixtures."
    )


def separation_vs_binaural_table(
    table: pd.DataFrame, profile: str, anechoic: str, headline: str = BASELINE
) -> FrameTable:
    headers = {"n_sources": "N", "sdr_mean": "separation SDR mean (dB)", "sdr_median": "separation SDR median (dB)"}
    headers |= {f"{m}_{headline}": f"{METRIC_LABELS[m]} {headline}" for m in BINAURAL_METRICS}
    formats = {"sdr_mean": ".2f", "sdr_median": ".2f"} | {f"{m}_{headline}": ".4g" for m in BINAURAL_METRICS}
    caption = (
        f"Separation SDR per N beside the headline's binaural errors ({headline}, {anechoic}, profile "
        f"{profile}); SDR higher is better, distances lower is better."
    )
    return FrameTable("separation_vs_binaural", caption, table, headers, formats)


# ---------------------------------------------------------------------------
# (e) cost of the audio networks
# ---------------------------------------------------------------------------


def costs_table(costs: pd.DataFrame) -> FrameTable:
    headers = {
        "profile": "profile",
        "network": "network",
        "sample_rate": "sample rate (Hz)",
        "parameters": "parameters",
        "gmacs_per_s": "GMACs, one pass on 1 s",
        "gmacs_per_s_test": "GMACs per s at test",
        "cond_dim": "conditioning dim",
        "note": "note",
    }
    formats = {"parameters": ",d", "gmacs_per_s": ".3g", "gmacs_per_s_test": ".3g"}
    caption = (
        "Audio networks: parameters and multiply-accumulates (MACs) per second of mono audio, batch 1 "
        "(convolutions, linear layers and LSTMs; as V-SlowFast reports audio costs)."
    )
    return FrameTable("audio_costs", caption, costs, headers, formats)


def costs_sentence(costs: pd.DataFrame) -> str:
    """Per profile: the Points2Sound Demucs (L_full) against Mono2Binaural, in parameters and MACs."""
    from ..models.cost import DEMUCS_FULL, MONO2BINAURAL

    rate = "gmacs_per_s_test" if "gmacs_per_s_test" in costs.columns else "gmacs_per_s"
    when = " at test" if rate == "gmacs_per_s_test" else ""
    parts = []
    for profile, g in costs.groupby("profile", sort=False):
        rows = g.set_index("network")
        if not {DEMUCS_FULL, MONO2BINAURAL} <= set(rows.index):
            continue
        d, m = rows.loc[DEMUCS_FULL], rows.loc[MONO2BINAURAL]
        parts.append(
            f"In profile {profile} the Points2Sound Demucs (L_full) has {int(d['parameters']):,} parameters, "
            f"{d['parameters'] / m['parameters']:.3g} times Mono2Binaural's {int(m['parameters']):,}, and "
            f"needs {d[rate]:.3g} GMACs per second of audio{when} against Mono2Binaural's {m[rate]:.3g} "
            f"({d[rate] / m[rate]:.3g} times)."
        )
    return " ".join(parts) or "The cost table has no Demucs and Mono2Binaural rows to compare."


# ---------------------------------------------------------------------------
# The section
# ---------------------------------------------------------------------------


def _table_lines(table: FrameTable, out_dir: Path) -> list[str]:
    paths = table.write(out_dir / "tables")
    links = ", ".join(f"[{p.suffix[1:]}]({_rel(p, out_dir)})" for p in paths)
    return [table.to_markdown(), f"Files: {links}.", ""]


def _mono_lines(inputs: SeparationInputs, out_dir: Path, profile: str) -> list[str]:
    lines = ["### Separation by the pre-training network", ""]
    if inputs.mono is None:
        return lines + ["Not available: the separation network's scores (`mono.csv`) were not found.", ""]
    mono = inputs.mono
    lines += [
        f"{len(mono)} sources in {mono['scene_id'].nunique()} test mixtures "
        f"(N = {', '.join(map(str, sorted(mono['n_sources'].unique())))}). bss_eval allows a 512-tap "
        "distortion filter per source; medians are shown because a few failed separations pull means down.",
        "",
    ]
    return lines + _table_lines(separation_table(mono, profile), out_dir)


def _per_ear_lines(inputs: SeparationInputs, out_dir: Path, profile: str) -> list[str]:
    lines = ["### Per-ear separation by the binaural models", ""]
    if not inputs.per_ear:
        return lines + ["Not available: no `<variant>_per_ear.csv` was found.", ""]
    return lines + _table_lines(per_ear_table(inputs.per_ear, profile), out_dir)


def _comparison_lines(scores: pd.DataFrame, out_dir: Path, profile: str, ir_sets: Sequence[str] | None) -> list[str]:
    lines = [f"### Points2Sound with and without audio pre-training ({PRETRAINED} against {BASELINE})", ""]
    absent = [v for v in (BASELINE, PRETRAINED) if not len(_variant_rows(scores, v))]
    if absent:
        return lines + [
            f"Not available: no binaural scores of {' and '.join(f'`{v}`' for v in absent)} in this "
            f"run (expected `scores/<variant>/<ir_set>.csv`).",
            "",
        ]
    comparison = pretraining_comparison(scores, ir_sets)
    if not len(comparison):
        return lines + [f"Not available: `{BASELINE}` and `{PRETRAINED}` share no (IR set, N) cell.", ""]
    verdict, sentences = pretraining_verdict(comparison)
    lines += _table_lines(comparison_table(comparison, profile), out_dir)
    lines += [
        " ".join(sentences),
        "",
        VERDICT_RULE,
        "",
        f"**Did audio pre-training help on this run? Verdict: {verdict}.**",
        "",
    ]
    return lines


def _co_movement_lines(
    inputs: SeparationInputs, scores: pd.DataFrame, out_dir: Path, profile: str, anechoic: str
) -> list[str]:
    lines = ["### Separation quality beside the binaural errors", ""]
    if inputs.mono is None or not len(_variant_rows(scores, BASELINE)):
        what = "the separation scores" if inputs.mono is None else f"binaural scores of `{BASELINE}`"
        return lines + [f"Not available: {what} are missing.", ""]
    table = separation_vs_binaural(inputs.mono, scores, anechoic)
    return (
        lines + _table_lines(separation_vs_binaural_table(table, profile, anechoic), out_dir) + [co_movement(table), ""]
    )


def _cost_lines(costs_path: Path | None, out_dir: Path) -> list[str]:
    lines = ["### Cost of the audio networks", ""]
    if costs_path is None:
        return lines + [
            "Not available: no cost table was given (`--costs`, written by `points2sound audio-costs`).",
            "",
        ]
    if not Path(costs_path).is_file():
        return lines + [f"Not available: the cost table `{costs_path}` was not found (`points2sound audio-costs`).", ""]
    costs = read_costs(costs_path)
    return lines + _table_lines(costs_table(costs), out_dir) + [costs_sentence(costs), ""]


def separation_section(
    out_dir: str | Path,
    scores: pd.DataFrame,
    separation_paths: Sequence[str | Path] | None,
    costs_path: str | Path | None,
    profile: str,
    anechoic: str,
    ir_sets: Sequence[str] | None = None,
    per_ear_variants: Sequence[str] = (),
) -> list[str]:
    """Write the section's tables under <out_dir>/tables and return its Markdown lines.

    `scores` is the binaural per-scene frame of `read_scores`; `separation_paths` are
    mono.csv / <variant>_per_ear.csv files or folders holding them; `per_ear_variants`
    are the variants whose per-ear scores are expected (absent ones are listed as missing).
    """
    out_dir = Path(out_dir)
    inputs = load_separation_inputs(separation_paths, per_ear_variants)
    lines = [
        "## Audio pre-training by separation",
        "",
        "Not in the paper (as LAVSS pre-trains on MUSIC): a conditioned Demucs learns to separate one "
        "performer's mono signal from a mono mixture of N sources, conditioned on that performer's point "
        f"cloud; `{PRETRAINED}` is Points2Sound (as `{BASELINE}`) with its audio network initialized from "
        "those weights. Separation scores are bss_eval's (mir_eval): SDR, SIR and SAR in dB, higher is better.",
        "",
    ]
    if inputs.missing:
        lines += ["Missing from this run:", "", *(f"- {m}" for m in inputs.missing), ""]
    lines += _mono_lines(inputs, out_dir, profile)
    lines += _per_ear_lines(inputs, out_dir, profile)
    lines += _comparison_lines(scores, out_dir, profile, ir_sets)
    lines += _co_movement_lines(inputs, scores, out_dir, profile, anechoic)
    lines += _cost_lines(None if costs_path is None else Path(costs_path), out_dir)
    return lines
