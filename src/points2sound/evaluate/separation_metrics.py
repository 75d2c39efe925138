"""Source-separation scores: mir_eval's bss_eval (SDR, SIR, SAR) and their summaries per N.

bss_eval (Vincent et al. 2006, as mir_eval implements it) splits each estimate into
the part explained by its own reference (filtered by a 512-tap FIR), interference
(the part explained by the other references) and artifacts (the rest):

    SDR = 10 log10(|s_target|^2 / |e_interf + e_artif|^2)
    SIR = 10 log10(|s_target|^2 / |e_interf|^2)
    SAR = 10 log10(|s_target + e_interf|^2 / |e_artif|^2)

All in dB, higher is better. With one reference (N = 1) there is nothing to interfere,
e_interf is zero and mir_eval returns SIR = +inf; we keep that value rather than
invent one, so summaries over N = 1 rows give an infinite mean SIR.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import ParameterError

METRICS = ("sdr", "sir", "sar")


def _check_signals(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ParameterError(name, f"expected a 2-D array (sources, samples), got shape {x.shape}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ParameterError(name, f"needs at least one source and one sample, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise ParameterError(name, f"must hold real numbers, got dtype {x.dtype}")
    if not np.isfinite(x).all():
        raise ParameterError(name, "holds NaN or infinite samples")
    silent = np.flatnonzero(~x.any(axis=1))
    if silent.size:
        # mir_eval rejects silent signals with a generic ValueError; name which ones
        raise ParameterError(name, f"source(s) {silent.tolist()} are all zeros (bss_eval is undefined for silence)")
    return x.astype(np.float64, copy=False)


def bss_eval(references: np.ndarray, estimates: np.ndarray) -> dict[str, np.ndarray]:
    """SDR, SIR and SAR (dB) of estimate i against reference i, each an array of shape (N,).

    Estimates are taken in the given order (no permutation search): a conditioned
    separator is asked for a specific source, so a swap is an error, not a relabelling.
    N = 1 gives SIR = +inf (see the module docstring).
    """
    references = _check_signals("references", references)
    estimates = _check_signals("estimates", estimates)
    if references.shape != estimates.shape:
        raise ParameterError("estimates", f"shape {estimates.shape} differs from the references' {references.shape}")
    from mir_eval.separation import bss_eval_sources
    from threadpoolctl import threadpool_limits

    # bss_eval solves least-squares systems with the BLAS; its float sums depend on the BLAS thread
    # count, which engines set differently (Snakemake exports OMP_NUM_THREADS, DVC does not): use one
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        # deprecated in mir_eval 0.8, removed in 0.9: needs mir_eval < 0.9
        warnings.simplefilter("ignore", FutureWarning)
        sdr, sir, sar, _ = bss_eval_sources(references, estimates, compute_permutation=False)
    return {"sdr": np.asarray(sdr, float), "sir": np.asarray(sir, float), "sar": np.asarray(sar, float)}


def per_n_summary(
    df: pd.DataFrame, metrics: Sequence[str] = METRICS, by: Sequence[str] = ("n_sources",)
) -> pd.DataFrame:
    """Mean and median of each metric per group, plus the group's row count.

    Columns: the `by` columns, then `<metric>_mean` and `<metric>_median` per metric,
    then `count`; one row per group, sorted. Medians are reported beside means because
    bss_eval scores have long tails (a few failed separations drag the mean down).
    For per-ear scores pass by=("n_sources", "ear").
    """
    metrics, by = list(metrics), list(by)
    missing = [c for c in (*by, *metrics) if c not in df.columns]
    if missing:
        raise ParameterError("df", f"has no columns {missing} (has {list(df.columns)})")
    columns = by + [f"{m}_{s}" for m in metrics for s in ("mean", "median")] + ["count"]
    if not len(df):
        return pd.DataFrame(columns=columns)
    grouped = df.groupby(by, sort=True)
    out = grouped[metrics].agg(["mean", "median"])
    out.columns = [f"{m}_{s}" for m, s in out.columns]
    out["count"] = grouped.size()
    return out.reset_index()[columns]
