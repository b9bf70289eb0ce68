"""Statistics over seeds: mean ± standard deviation, and paired differences with a t confidence interval.

Every method of a comparison trains once per seed with the same initial
weights, data order and subset for that seed, so the fair test of "method A
beats the baseline" is paired: the per-seed differences d_s = A_s − B_s, their
mean, and the Student t interval mean(d) ± t_{(1+c)/2, n−1} · sd(d) / √n
(scipy.stats.t). With n seeds the interval has n − 1 degrees of freedom; it
is undefined (NaN) for one seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def mean_std(values: Sequence[float]) -> dict:
    """{"n", "mean", "std"}: the sample standard deviation (ddof=1); NaN for one value."""
    values = np.asarray(values, dtype="float64")
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"need a non-empty 1-D sequence of values; got shape {values.shape}")
    std = float(values.std(ddof=1)) if len(values) > 1 else math.nan
    return {"n": len(values), "mean": float(values.mean()), "std": std}


def paired_difference(values: Sequence[float], reference: Sequence[float], confidence: float = 0.95) -> dict:
    """Mean of values − reference over paired seeds, with its t confidence interval.

    {"n", "mean", "std" (of the differences), "ci_low", "ci_high", "t"
    (the t quantile used), "confidence"}; the interval is NaN for one pair.
    """
    values = np.asarray(values, dtype="float64")
    reference = np.asarray(reference, dtype="float64")
    if values.shape != reference.shape:
        raise ValueError(f"paired values need the same seeds: {values.shape} vs {reference.shape}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    summary = mean_std(values - reference)
    n = summary["n"]
    if n > 1:
        from scipy import stats  # the `examples` extra; only needed with several seeds

        t = float(stats.t.ppf((1.0 + confidence) / 2.0, df=n - 1))
        half = t * summary["std"] / math.sqrt(n)
    else:
        t = half = math.nan
    return {
        **summary,
        "ci_low": summary["mean"] - half,
        "ci_high": summary["mean"] + half,
        "t": t,
        "confidence": confidence,
    }


def excludes_zero(difference: dict) -> bool:
    """True when the confidence interval lies strictly on one side of 0 (False when undefined)."""
    low, high = difference["ci_low"], difference["ci_high"]
    return not (math.isnan(low) or math.isnan(high)) and (low > 0.0 or high < 0.0)
