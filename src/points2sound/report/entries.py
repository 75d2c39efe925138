"""Which scene rows make up an entry of the report, and the entries every section names.

An entry is (ir_set, method, variant, mono_input), optionally narrowed by column filters
(for example N = 2 and same_side); every table, claim and note selects its rows here.
"""

from __future__ import annotations

import pandas as pd

from ..model_kinds import HEADLINE_VARIANT

HEADLINE = dict(method="points2sound", variant=HEADLINE_VARIANT, mono_input="sum_lr")
MONO_INPUTS = (  # label, mono input, the Points2Sound variant trained on it
    ("true mono", "true_mono", "p2s_truemono"),
    ("s_L", "left", "p2s_left"),
    ("s_L + s_R", "sum_lr", HEADLINE_VARIANT),
)
MONO_LABELS = {mono_input: label for label, mono_input, _ in MONO_INPUTS}


def select_entry(
    df: pd.DataFrame, ir_set: str, method: str, variant: str, mono_input: str, **filters: object
) -> pd.DataFrame:
    """Scene rows of one entry; extra column=value filters (e.g. same_side=True) narrow it."""
    mask = (
        (df["ir_set"] == ir_set)
        & (df["method"] == method)
        & (df["variant"] == variant)
        & (df["mono_input"] == mono_input)
    )
    for col, value in filters.items():
        mask &= df[col] == value
    return df.loc[mask]


def mono_mono_rows(df: pd.DataFrame, ir_set: str, mono_input: str, **filters: object) -> pd.DataFrame:
    """The Mono-Mono baseline's scene rows for one mono input (the reference of every ratio)."""
    return select_entry(df, ir_set, "mono_mono", "", mono_input, **filters)


def by_scene(rows: pd.DataFrame, metric: str) -> pd.Series:
    """One value of `metric` per scene id."""
    return rows.drop_duplicates("scene_id").set_index("scene_id")[metric]
