"""Scenes on which copying the mono input is already exact, and what they do to the report's numbers.

With a left-right symmetric HRIR set (the rigid sphere) a source on the median plane reaches both
ears identically, so for s_L and s_L + s_R input the Mono-Mono copy equals the truth on scenes whose
sources all sit there: its distances are 0 and its SNR sits at the metric's cap (`SNR_FLOOR`). Such
scenes lower Mono-Mono's mean distances, raise its mean SNR far above its median, and so move every
ratio to Mono-Mono. These notes count and name them from the scores and give the numbers without
them; nothing here is written by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..evaluate.metrics import METRIC_LABELS
from .entries import MONO_INPUTS, by_scene, mono_mono_rows, select_entry


def exact_copy_scenes(df: pd.DataFrame, ir_set: str, mono_input: str) -> pd.DataFrame:
    """Mono-Mono's rows where the copy equals the truth (zero waveform error)."""
    rows = mono_mono_rows(df, ir_set, mono_input)
    return rows.loc[rows["wave_mse"] == 0] if "wave_mse" in rows else rows.iloc[:0]


def _azimuths(rows: pd.DataFrame) -> list[int]:
    values = {int(float(a)) for text in rows["azimuths_deg"] for a in str(text).split(";") if a != ""}
    return sorted(values)


def _ratio(model: pd.Series, base: pd.Series) -> float:
    common = model.index.intersection(base.index)
    return float(model.loc[common].mean() / base.loc[common].mean()) if len(common) else math.nan


def symmetry_note(df: pd.DataFrame, ir_set: str, metrics: Sequence[str] = ("d_env", "d_stft")) -> str:
    """Beside Table 1: how many scenes Mono-Mono gets exactly right, and each ratio at N = 1 without them."""
    parts = []
    for label, mono_input, variant in MONO_INPUTS:
        exact = exact_copy_scenes(df, ir_set, mono_input)
        base = mono_mono_rows(df, ir_set, mono_input)
        if not len(exact) or not len(base):
            continue
        n1 = base.loc[base["n_sources"] == 1]
        exact_n1 = exact.loc[exact["n_sources"] == 1]
        text = (
            f"With {label} input, Mono-Mono is exact on {len(exact)} of {len(base)} scenes ({len(exact_n1)} of "
            f"{len(n1)} at N = 1): every source of those scenes sits at azimuth "
            f"{' or '.join(f'{a} degrees' for a in _azimuths(exact))}, on the median plane."
        )
        model = select_entry(df, ir_set, "points2sound", variant, mono_input)
        model_n1 = model.loc[model["n_sources"] == 1]
        if len(model_n1) and len(n1):
            keep = ~n1["scene_id"].isin(set(exact["scene_id"]))
            ratios = []
            for m in metrics:
                all_ = _ratio(by_scene(model_n1, m), by_scene(n1, m))
                lateral = _ratio(by_scene(model_n1, m), by_scene(n1.loc[keep], m))
                ratios.append(f"{METRIC_LABELS.get(m, m)} ×{lateral:.2f} (×{all_:.2f} with them)")
            text += (
                f" Without them, Points2Sound's ({variant}) ratio to Mono-Mono at N = 1 over the "
                f"{int(keep.sum())} remaining scenes is " + ", ".join(ratios) + "."
            )
        parts.append(text)
    if not parts:
        return ""
    return (
        "**Scenes the copy gets right.** A left-right symmetric HRIR set (such as the rigid sphere) gives both "
        "ears the same signal for a source on the median plane, so there copying the mono input is the "
        "truth. " + " ".join(parts)
    )


def snr_note(df: pd.DataFrame, ir_set: str, metric: str = "snr_db") -> str:
    """Beside the field's metrics: SNR's cap, which entries reach it, and the comparison it cannot skew."""
    if metric not in df.columns:
        return ""
    parts = []
    for label, mono_input, variant in MONO_INPUTS:
        exact = exact_copy_scenes(df, ir_set, mono_input)
        base = by_scene(mono_mono_rows(df, ir_set, mono_input), metric).dropna()
        model = by_scene(select_entry(df, ir_set, "points2sound", variant, mono_input), metric).dropna()
        common = model.index.intersection(base.index)
        if not len(common):
            continue
        wins = int((model.loc[common] > base.loc[common]).sum())
        text = f"{label}: Points2Sound ({variant}) has the higher SNR on {wins} of {len(common)} scenes"
        if len(exact):
            cap = float(exact[metric].max())
            rest = common.difference(pd.Index(exact["scene_id"]))
            names = ", ".join(sorted(exact["scene_id"]))
            text += (
                f"; Mono-Mono is exact on {len(exact)} of them ({names}), each at the cap of {cap:.0f} dB, "
                f"which lifts its mean to {base.loc[common].mean():.2f} dB against a median of "
                f"{float(np.median(base.loc[common])):.2f} dB; without them its mean is {base.loc[rest].mean():.2f} "
                f"dB against Points2Sound's {model.loc[rest].mean():.2f} dB"
            )
        parts.append(text + ".")
    if not parts:
        return ""
    return (
        "**SNR is capped where the prediction equals the truth**, so a few exact copies dominate a mean: the "
        "SNR column shows the median over the scenes, and Δ the median of the per-scene difference to "
        "Mono-Mono. " + " ".join(parts)
    )
