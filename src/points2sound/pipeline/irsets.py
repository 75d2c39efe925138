"""What the stages that read an IR set share: which azimuths it renders at."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def rendered_azimuths(params: Mapping[str, Any], irset: Any) -> list[int]:
    """A room's azimuths are its measured ones (head rotations); an HRIR set's are the paper's eight."""
    if irset.kind == "brir":
        return sorted({int(round(a)) % 360 for a in irset.azimuths_deg})
    return list(params["render"]["azimuths_deg"])
