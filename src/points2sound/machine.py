"""Facts about the machine and the software a run used (never part of an artifact).

Float results depend on the CPU kind (the ISA torch dispatches to), on thread counts and
on library versions, so every run record (cli,  `<log>.run.json`) and the reproduction
report state them. Nothing here is written into a checkpoint, a summary or a table:
artifacts hold only what the parameters and the data determine.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

CPU_FLAGS_OF_NOTE = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx_vnni",
    "avx512f",
    "avx512dq",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "MKL_DYNAMIC",
    "OMP_DYNAMIC",
    "KMP_AFFINITY",
    "OMP_PROC_BIND",
)
DISTRIBUTIONS = ("torch", "numpy", "scipy", "soundfile", "pandas", "snakemake", "dvc", "points2sound")


def cpu_facts(cpuinfo: str | Path = "/proc/cpuinfo") -> dict[str, Any]:
    """CPU model name and the ISA flags of note (from /proc/cpuinfo where there is one)."""
    model, flags = None, set()
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:  # x86, ARM
            flags = set(value.split())
    return {
        "cpu_model": model or platform.processor() or platform.machine(),
        "cpu_flags": [f for f in CPU_FLAGS_OF_NOTE if f in flags],
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }


def versions() -> dict[str, str | None]:
    """Python and the installed versions of the libraries results depend on (None: not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in DISTRIBUTIONS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def torch_facts(import_torch: bool = True) -> dict[str, Any]:
    """Torch's thread count, the CPU capability its kernels dispatch to, and the CUDA device if any.

    With import_torch False, torch is only asked when the process has already loaded it
    (a command that never used torch need not pay for the import).
    """
    if "torch" not in sys.modules and not import_torch:
        return {"torch_threads": None, "torch_interop_threads": None, "torch_cpu_capability": None}
    try:
        import torch
    except ImportError:
        return {"torch_threads": None, "torch_interop_threads": None, "torch_cpu_capability": None}
    out: dict[str, Any] = {
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
    }
    try:
        out["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # older torch
        out["torch_cpu_capability"] = None
    if torch.cuda.is_available():
        out["cuda_device"] = torch.cuda.get_device_name()
        out["cuda_version"] = torch.version.cuda
    return out


def git_state(cwd: str | Path | None = None) -> dict[str, Any]:
    """The commit checked out in `cwd` and whether tracked files differ from it (empty: not a git checkout)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"git_commit": commit, "git_dirty": dirty}


def machine_facts(import_torch: bool = True, cwd: str | Path | None = None) -> dict[str, Any]:
    """Everything about the machine and software a float result may depend on, as one JSON-able dict."""
    return {
        **cpu_facts(),
        "platform": platform.platform(),
        **torch_facts(import_torch),
        "thread_env": {k: os.environ[k] for k in THREAD_ENV if k in os.environ},
        "versions": versions(),
        **git_state(cwd),
    }
