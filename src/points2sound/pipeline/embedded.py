"""What the embedded generators' stages share: they run only for the embedded source, and write atomically."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import atomic_dir
from ..errors import ParameterError

log = logging.getLogger(__name__)


def require_embedded(params: Mapping[str, Any], what: str) -> None:
    if params["dataset"]["source"] != "embedded":
        raise ParameterError(
            "dataset.source",
            f"is {params['dataset']['source']!r}: the embedded {what} generator only runs for the embedded source; "
            "place the real files in data/<profile>/ following the data contract in README.md",
        )


def write_generated(out_dir: Path, what: str, generate: Callable[[Path], pd.DataFrame]) -> pd.DataFrame:
    """Run an embedded generator into a temporary folder that replaces `out_dir` only when it succeeds."""
    with atomic_dir(out_dir) as tmp:
        table = generate(tmp)
    log.info("wrote %d %s to %s", len(table), what, out_dir)
    return table
