"""The paper's published numbers (paper_numbers.yaml), for side-by-side tables and claims."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputFileError

PAPER_NUMBERS = Path(__file__).with_name("paper_numbers.yaml")
PAPER_METRICS = ("d_env", "d_stft")


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Any]:
    with open(path) as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict):
        raise InputFileError(path, "not a mapping of paper numbers")
    for table in ("table1", "table2"):
        rows = data.get(table, {}).get("rows")
        if not rows:
            raise InputFileError(path, f"{table} has no rows")
        for row in rows:
            for key in ("group", "label", "method", "variant", "mono_input", *PAPER_METRICS):
                if key not in row:
                    raise InputFileError(path, f"a {table} row lacks {key!r}: {row}")
            for m in PAPER_METRICS:
                if set(row[m]) != {1, 2, 3, "mean"}:
                    raise InputFileError(path, f"{table} row {row['label']!r} {m} needs keys 1, 2, 3, mean")
    for key in ("text", "performance"):
        if key not in data:
            raise InputFileError(path, f"missing section {key!r}")
    return data


def load_paper_numbers(path: str | Path | None = None) -> dict[str, Any]:
    """The paper's numbers as a dict (checked for the structure the report needs).

    Returns a cached object: treat it as read-only.
    """
    return _load(str(PAPER_NUMBERS if path is None else path))


def paper_table_rows(table: str, path: str | Path | None = None) -> list[dict[str, Any]]:
    """Rows of 'table1' or 'table2', each naming the pipeline entry it corresponds to."""
    return list(load_paper_numbers(path)[table]["rows"])


def paper_entry(method: str, variant: str, mono_input: str, path: str | Path | None = None) -> dict | None:
    """The Table 1 / Table 2 row of one (method, variant, mono_input) entry, or None."""
    for table in ("table1", "table2"):
        for row in paper_table_rows(table, path):
            if (row["method"], row["variant"], row["mono_input"]) == (method, variant, mono_input):
                return row
    return None
