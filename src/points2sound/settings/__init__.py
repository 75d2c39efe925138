"""Typed settings, built once from the resolved parameters (config.py) by the glue layer.

Library code below the glue (data, render, models, train, evaluate, infer, report)
takes these dataclasses, never the parameter mapping: a function's signature then
says which settings it reads, and the defaults live only in params.yaml and its
schema. Each module here holds the settings of one topic and the one function
that reads them off the parameters.
"""

import hashlib
import json
import zlib
from collections.abc import Mapping
from typing import Any


def section_digest(params: Mapping[str, Any], *keys: str) -> str:
    """A short hash of some parameter sections: Snakemake reruns a rule when it changes."""
    blob = json.dumps({k: params.get(k) for k in keys}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def stage_seed(params: Mapping[str, Any], stage: str) -> int:
    """A per-stage seed derived from the global seed, so stages draw independent streams."""
    return (int(params["seed"]) * 1_000_003 + zlib.crc32(stage.encode())) % (2**31 - 1)
