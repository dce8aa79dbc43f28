"""Ranks with ties, and the Spearman rank correlation (numpy only).

Its own module so that the sanity check (which needs only Spearman) does not digest the
evaluation's metrics: an edit to IoU must not re-run the cascading randomisation.
"""

from __future__ import annotations

import numpy as np


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of a 1-D array, ties given the mean of the ranks they span."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], values.size]
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two 1-D score vectors (the sanity check's similarity).

    The Pearson correlation of their ranks, tied values given the mean of the ranks they span
    (scipy.stats.spearmanr's definition). NaN where either vector is constant (its ranks have
    no spread, so no correlation is defined) or has fewer than two values.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"spearman needs two 1-D arrays of one length, got {a.shape}, {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("spearman needs finite values")
    if a.size < 2:
        return float("nan")
    ranks_a = average_ranks(a) - (a.size + 1) / 2.0
    ranks_b = average_ranks(b) - (b.size + 1) / 2.0
    spread = np.sqrt(np.sum(ranks_a**2) * np.sum(ranks_b**2))
    if spread == 0:
        return float("nan")
    return float(np.clip(np.sum(ranks_a * ranks_b) / spread, -1.0, 1.0))
