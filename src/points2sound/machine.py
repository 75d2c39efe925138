"""Machine facts of a run (TEMPORARY: replaced by the runrecord branch)."""

from __future__ import annotations

import os
import platform
from typing import Any


def machine_facts() -> dict[str, Any]:
    model, flags = "unknown", []
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = sorted(set(line.split(":", 1)[1].split()) & {"avx2", "avx512f", "amx_tile", "fma"})
    except OSError:
        pass
    import numpy
    import torch

    return {"cpu": {"model": model, "flags": flags}, "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "versions": {"torch": torch.__version__, "numpy": numpy.__version__}}
