"""Bootstrap confidence intervals of macro-averaged metrics, resampling clips (numpy only).

A resample draws the test clips with replacement (seeded); every instance of a drawn clip
comes along as often as its clip was drawn, and the macro average (mean per class, then
mean over the classes present in that resample) is recomputed. The interval is the
percentile interval of the resampled values. A paired difference applies the same draws to
two methods, so what the two share (the clips) cancels. Definitions: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BootstrapSettings:
    n_resamples: int = 1000
    level: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_resamples < 1:
            raise ValueError(f"n_resamples must be >= 1, got {self.n_resamples}")
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")


@dataclass(frozen=True)
class Interval:
    """A statistic, its percentile interval, and how many instances it rests on."""

    value: float
    low: float
    high: float
    n: int

    def excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)


def clip_draws(clip_ids: Sequence[str], settings: BootstrapSettings) -> np.ndarray:
    """(n_resamples, n_clips) times each of `clip_ids` (in that order) is drawn per resample."""
    n_clips = len(clip_ids)
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, n_clips]))
    draws = rng.integers(0, n_clips, size=(settings.n_resamples, n_clips))
    counts = np.zeros((settings.n_resamples, n_clips), dtype=np.float64)
    np.add.at(counts, (np.arange(settings.n_resamples)[:, None], draws), 1.0)
    return counts


def weighted_macro(
    values: np.ndarray, class_index: np.ndarray, weights: np.ndarray, n_classes: int
) -> np.ndarray:
    """(R,) macro averages of `values` (n,) under instance weights (R, n); NaN instances
    and classes without weight are left out."""
    values = np.asarray(values, dtype=np.float64)
    defined = ~np.isnan(values)
    weights = np.asarray(weights, dtype=np.float64) * defined
    one_hot = np.zeros((values.size, n_classes))
    one_hot[np.arange(values.size), np.asarray(class_index, dtype=np.int64)] = 1.0
    sums = (weights * np.where(defined, values, 0.0)) @ one_hot
    counts = weights @ one_hot
    means = np.full(sums.shape, np.nan)
    np.divide(sums, counts, out=means, where=counts > 0)
    present = counts > 0
    total = np.where(present, means, 0.0).sum(axis=-1)
    n_present = present.sum(axis=-1)
    out = np.full(total.shape, np.nan)
    np.divide(total, n_present, out=out, where=n_present > 0)
    return out


def percentile_interval(point: float, samples: np.ndarray, level: float, n: int) -> Interval:
    """`point` and the percentile interval of the defined resampled values (NaN if none)."""
    samples = samples[~np.isnan(samples)]
    if samples.size == 0 or np.isnan(point):
        return Interval(float("nan"), float("nan"), float("nan"), n)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return Interval(float(point), float(low), float(high), n)


@dataclass(frozen=True)
class InstanceValues:
    """One method's per-instance values of one metric, with the clip and class of each."""

    values: np.ndarray  # (n,)
    clip_ids: Sequence[str]
    class_index: np.ndarray  # (n,)


def _instance_weights(
    data: InstanceValues, clip_order: dict[str, int], draws: np.ndarray
) -> np.ndarray:
    columns = np.array([clip_order[c] for c in data.clip_ids], dtype=np.int64)
    return draws[:, columns] if columns.size else np.zeros((draws.shape[0], 0))


def _point_and_samples(
    data: InstanceValues, order: dict[str, int], draws: np.ndarray, n_classes: int
) -> tuple[float, np.ndarray]:
    """The macro average of `data` on the test set itself and under every clip draw."""
    ones = np.ones((1, len(data.values)))
    point = float(weighted_macro(data.values, data.class_index, ones, n_classes)[0])
    weights = _instance_weights(data, order, draws)
    return point, weighted_macro(data.values, data.class_index, weights, n_classes)


def _defined(data: InstanceValues) -> int:
    return int(np.count_nonzero(~np.isnan(data.values)))


def bootstrap_macro(
    data: InstanceValues,
    clip_ids: Sequence[str],
    draws: np.ndarray,
    level: float,
    n_classes: int,
) -> Interval:
    """The macro average of `data` and its percentile interval over the clip draws."""
    order = {clip_id: i for i, clip_id in enumerate(clip_ids)}
    point, samples = _point_and_samples(data, order, draws, n_classes)
    return percentile_interval(point, samples, level, _defined(data))


def bootstrap_difference(
    first: InstanceValues,
    second: InstanceValues,
    clip_ids: Sequence[str],
    draws: np.ndarray,
    level: float,
    n_classes: int,
) -> Interval:
    """Macro(first) - macro(second) and its interval, both under the same clip draws."""
    order = {clip_id: i for i, clip_id in enumerate(clip_ids)}
    point_first, samples_first = _point_and_samples(first, order, draws, n_classes)
    point_second, samples_second = _point_and_samples(second, order, draws, n_classes)
    n = min(_defined(first), _defined(second))
    return percentile_interval(point_first - point_second, samples_first - samples_second, level, n)


def _weighted_medians(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(R,) medians of `values` (n,) repeated by integer `weights` (R, n); NaN if empty.

    With T copies in all, the median averages the copies of ranks ceil(T/2) and
    floor(T/2) + 1 (one and the same copy when T is odd), as np.median would.
    """
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[:, order], axis=1)
    total = cumulative[:, -1] if cumulative.shape[1] else np.zeros(weights.shape[0])
    medians = np.full(weights.shape[0], np.nan)
    filled = total > 0
    if not filled.any():
        return medians
    ranks = np.stack([np.ceil(total / 2), np.floor(total / 2) + 1], axis=1)[filled]
    rows = cumulative[filled]
    positions = np.stack([np.argmax(rows >= ranks[:, [k]], axis=1) for k in range(2)], axis=1)
    medians[filled] = values[order][positions].mean(axis=1)
    return medians


def bootstrap_median(
    values: np.ndarray,
    value_clip_ids: Sequence[str],
    clip_ids: Sequence[str],
    draws: np.ndarray,
    level: float,
) -> Interval:
    """The median of `values` (one per instance, of the clips `value_clip_ids`) and its
    percentile interval over the clip draws; NaN values are left out."""
    values = np.asarray(values, dtype=np.float64)
    defined = ~np.isnan(values)
    order = {clip_id: i for i, clip_id in enumerate(clip_ids)}
    columns = np.array([order[c] for c, d in zip(value_clip_ids, defined, strict=True) if d])
    kept = values[defined]
    if kept.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    samples = _weighted_medians(kept, draws[:, columns.astype(np.int64)])
    return percentile_interval(float(np.median(kept)), samples, level, int(kept.size))
