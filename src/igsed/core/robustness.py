"""The robustness and agreement measures of the sanity stage (numpy only; docs/metrics.md
"Robustness" and "Seed agreement"): max-sensitivity, the absent class that the random-logit
check compares with, and the agreement of one instance's maps across retrained heads.

Its own module, like core/ranks.py, so that the sanity job does not digest the evaluation's
metrics.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from igsed.core.ranks import spearman


def max_sensitivity(reference: np.ndarray, perturbed: Sequence[np.ndarray]) -> float:
    """max_j ||perturbed_j - reference||_2 / ||reference||_2 (Yeh et al., 2019, with the
    norm relative to the unperturbed scores); NaN without draws or when reference is 0."""
    reference = np.asarray(reference, dtype=np.float64)
    norm = float(np.linalg.norm(reference))
    if not perturbed or norm == 0.0:
        return float("nan")
    changes = [np.linalg.norm(np.asarray(p, np.float64) - reference) for p in perturbed]
    return float(max(changes) / norm)


def absent_class(
    detected: Sequence[str], classes: Sequence[str], generator: np.random.Generator
) -> str | None:
    """One class of `classes` not in `detected`, drawn uniformly by `generator` (the random
    logit of Sixt et al., 2020); None if every class is detected."""
    candidates = [name for name in classes if name not in set(detected)]
    if not candidates:
        return None
    return candidates[int(generator.integers(len(candidates)))]


def noisy_copies(
    waveform: np.ndarray, n_draws: int, noise_fraction: float, generator: np.random.Generator
) -> list[np.ndarray]:
    """`n_draws` copies of `waveform` plus Gaussian noise of standard deviation
    noise_fraction * max|waveform| (float32, as the clip)."""
    scale = noise_fraction * float(np.max(np.abs(waveform))) if waveform.size else 0.0
    return [
        (waveform + scale * generator.standard_normal(waveform.shape)).astype(np.float32)
        for _ in range(n_draws)
    ]


def pairwise_agreement(maps: Sequence[np.ndarray]) -> float:
    """The mean Spearman correlation over every pair of `maps` (one instance's frame scores,
    one map per training seed), over the pairs where it is defined; NaN if none is."""
    pairs = [spearman(maps[i], maps[j]) for i in range(len(maps)) for j in range(i + 1, len(maps))]
    defined = [rho for rho in pairs if np.isfinite(rho)]
    return float(np.mean(defined)) if defined else float("nan")


def spread(values: Sequence[float]) -> float:
    """max - min of `values` (one instance's clip probability under each head)."""
    array = np.asarray(values, dtype=np.float64)
    return float(array.max() - array.min())
