"""The per-scene score CSV format, its reader, and per-N summaries.

The evaluation stage writes one CSV per (entry, ir_set), one row per test
scene; every table, figure and claim of the report is computed from these
rows, so a table cell can be traced back to the scenes it averages.

Means over all N: the paper's tables give per-N means and "average values
for any number of sources". `summarize` defines the latter as the mean over
all scenes of the row (a scene-weighted mean). On the paper's test sets
(504 scenes, 168 per N) this equals the mean of the three per-N means, and the
paper's numbers are consistent with exactly that: for every row of Tables 1
and 2 the overall mean equals the mean of the three per-N values up to
rounding (e.g. Mono-Mono, true mono: d_STFT (26.719 + 26.414 + 26.747) / 3 =
26.627, printed 26.626), and among all splits n1 + n2 + n3 = 504, only
168 / 168 / 168 makes a scene-weighted mean agree with every row. Our test sets
also have equal counts per N (`make_scene_specs(per_n_equal=True)`); with
unequal counts pass ``overall="per_n"`` to get the mean of per-N means.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..errors import InputFileError, ParameterError
from .metrics import FIELD_METRICS, PAPER_METRICS, SIGNED

PAPER_COLUMNS = (
    "scene_id",
    "ir_set",
    "method",
    "variant",
    "mono_input",
    "features",
    "loss",
    "n_sources",
    "instruments",
    "azimuths_deg",
    "same_side",
    "d_env",
    "d_stft",
    "d_env_paper",
    "d_stft_paper",
)
# the field's wider metric set (evaluate.metrics.FIELD_METRICS); files written before it
# existed lack these columns: read_scores fills them with NaN (shown as n/a)
COLUMNS = (*PAPER_COLUMNS, *FIELD_METRICS)
METRICS = (*PAPER_METRICS, *FIELD_METRICS)
STRING_COLUMNS = (
    "scene_id",
    "ir_set",
    "method",
    "variant",
    "mono_input",
    "features",
    "loss",
    "instruments",
    "azimuths_deg",
)
METHODS = ("mono_mono", "rotated_visual", "points2sound", "mono2binaural")
MONO_INPUTS = ("true_mono", "left", "sum_lr")
FEATURES = ("rgb", "xyz", "")
LOSSES = ("full", "diff", "mse", "")
# the columns that identify one evaluated entry (one row of a table)
GROUP_COLUMNS = ("ir_set", "method", "variant", "mono_input", "features", "loss")
SOURCE_COLUMN = "source_file"  # added by read_scores: the CSV each row came from

_ALLOWED = {"method": METHODS, "mono_input": MONO_INPUTS, "features": FEATURES, "loss": LOSSES}
_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False}


def _check_frame(df: pd.DataFrame, path: Path, strict: bool = True) -> pd.DataFrame:
    """Validate score rows; `strict=False` (reading) accepts files without the FIELD_METRICS columns."""
    required = COLUMNS if strict else PAPER_COLUMNS
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputFileError(path, f"missing score columns {missing}", f"expected {list(COLUMNS)}")
    df = df.copy()
    absent = [c for c in COLUMNS if c not in df.columns]
    for col in absent:
        df[col] = np.nan
    df = df.loc[:, list(COLUMNS)]
    for col in STRING_COLUMNS:
        df[col] = df[col].astype(object).where(df[col].notna(), "").map(str)
    for col, allowed in _ALLOWED.items():
        bad = sorted(set(df[col]) - set(allowed))
        if bad:
            raise InputFileError(path, f"column {col!r} has values {bad}", f"allowed: {list(allowed)}")
    if (df["scene_id"] == "").any() or (df["ir_set"] == "").any():
        raise InputFileError(path, "empty scene_id or ir_set")
    n = pd.to_numeric(df["n_sources"], errors="coerce")
    if n.isna().any() or (n < 1).any() or (n != np.round(n)).any():
        raise InputFileError(path, "column 'n_sources' must hold integers >= 1")
    df["n_sources"] = n.astype(int)
    side = df["same_side"].map(lambda v: _BOOL_TEXT.get(str(v).strip().lower()))
    if side.isna().any():
        raise InputFileError(path, "column 'same_side' must hold True/False")
    df["same_side"] = side.astype(bool)
    for col in METRICS:
        values = pd.to_numeric(df[col], errors="coerce")
        if col in absent:
            df[col] = values.astype(float)
            continue
        if values.isna().any() or not np.isfinite(values).all() or (col not in SIGNED and (values < 0).any()):
            bound = "" if col in SIGNED else " >= 0"
            raise InputFileError(path, f"column {col!r} must hold finite numbers{bound}")
        df[col] = values.astype(float)
    dup = df.duplicated(["scene_id", *GROUP_COLUMNS])
    if dup.any():
        raise InputFileError(path, f"scene {df.loc[dup, 'scene_id'].iloc[0]!r} is scored twice for one entry")
    return df


def read_scores(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Read and validate per-scene score CSVs into one frame (plus a `source_file` column).

    Every problem is reported as an InputFileError naming the file, so a broken
    evaluation output is caught before it turns into a wrong table cell.
    """
    frames = []
    for path in map(Path, paths):
        if not path.is_file():
            raise InputFileError(path, "score file not found", "run the evaluation stage first")
        try:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputFileError(path, f"not a readable CSV ({exc})") from exc
        df = _check_frame(raw, path, strict=False)
        df[SOURCE_COLUMN] = str(path)
        frames.append(df)
    if not frames:
        return empty_scores()
    out = pd.concat(frames, ignore_index=True)
    dup = out.duplicated(["scene_id", *GROUP_COLUMNS])
    if dup.any():
        row = out.loc[dup].iloc[0]
        raise InputFileError(row[SOURCE_COLUMN], f"scene {row['scene_id']!r} of this entry is also in another file")
    return out


def empty_scores() -> pd.DataFrame:
    """A frame with the score columns and no rows."""
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in (*COLUMNS, SOURCE_COLUMN)})
    df["n_sources"] = df["n_sources"].astype(int)
    df["same_side"] = df["same_side"].astype(bool)
    for col in METRICS:
        df[col] = df[col].astype(float)
    return df


def summarize(
    df: pd.DataFrame,
    metric_cols: Sequence[str] = ("d_env", "d_stft"),
    group_cols: Sequence[str] = GROUP_COLUMNS,
    overall: str = "scenes",
) -> pd.DataFrame:
    """Per-N means and the mean over all N of each metric, one row per group.

    Columns: the group columns, then for each metric `<metric>_n<N>` for every N
    present in `df` and `<metric>_all`, then `count_n<N>` and `count_all`.
    `overall="scenes"` (default) averages all scenes of the group; `"per_n"`
    averages the per-N means (identical when every N has the same count; see
    the module docstring for why the paper's numbers fit both).
    """
    if overall not in ("scenes", "per_n"):
        raise ParameterError("overall", f"must be 'scenes' or 'per_n', got {overall!r}")
    unknown = [c for c in (*metric_cols, *group_cols, "n_sources") if c not in df.columns]
    if unknown:
        raise ParameterError("df", f"has no columns {unknown}")
    ns = sorted(int(n) for n in df["n_sources"].unique())
    group_cols = list(group_cols)
    rows = []
    for key, g in df.groupby(group_cols, sort=True, dropna=False) if len(df) else []:
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(group_cols, key)), **entry_means(g, metric_cols, ns, overall)})
    columns = group_cols + [f"{m}_{s}" for m in metric_cols for s in [*(f"n{n}" for n in ns), "all"]]
    columns += [f"count_n{n}" for n in ns] + ["count_all"]
    return pd.DataFrame(rows, columns=columns)


def entry_means(
    rows: pd.DataFrame, metric_cols: Sequence[str], ns: Sequence[int], overall: str = "scenes"
) -> dict[str, float | int]:
    """Means of one entry's scene rows: `<metric>_n<N>`, `<metric>_all`, `count_n<N>`, `count_all`.

    NaN (and count 0) where the entry has no scene with that N; see `summarize`
    for `overall`.
    """
    if overall not in ("scenes", "per_n"):
        raise ParameterError("overall", f"must be 'scenes' or 'per_n', got {overall!r}")
    out: dict[str, float | int] = {}
    per_n = rows.groupby("n_sources")
    for m in metric_cols:
        means = per_n[m].mean()
        for n in ns:
            out[f"{m}_n{n}"] = float(means.get(n, np.nan))
        overall_mean = rows[m].mean() if overall == "scenes" else means.mean()
        out[f"{m}_all"] = float(overall_mean) if len(rows) else float("nan")
    counts = per_n.size()
    for n in ns:
        out[f"count_n{n}"] = int(counts.get(n, 0))
    out["count_all"] = int(len(rows))
    return out


def write_scores(path: str | Path, rows: pd.DataFrame | Sequence[dict]) -> Path:
    """Write per-scene scores atomically in the column order of `COLUMNS`.

    The rows are validated as `read_scores` would, so a bad row fails at the
    writer instead of at the report.
    """
    path = Path(path)
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=list(COLUMNS))
    df = _check_frame(df, path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.12g", lineterminator="\n")
    return path
