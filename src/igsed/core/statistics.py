"""Bootstrap confidence intervals of macro-averaged metrics over test clips (numpy only).

Two resamplings (`BootstrapSettings.resampling`), both seeded and by clip, so instances of
one clip are never treated as independent:

- "wild" (the default): a wild cluster bootstrap. Every class keeps all its instances, so
  every resample averages over the same classes as the point estimate. A resample gives
  each test clip a random sign and moves each instance's class mean by its residual (its
  value minus its class mean, inflated by sqrt(n/(n - 1)) so its variance is unbiased)
  times its clip's sign. A class with fewer than MIN_OWN_SPREAD instances has no usable
  spread of its own: its instances take, per resample, the residual of a random instance
  of the classes with two or more (pooled within-class spread).
- "clips": the test clips drawn with replacement, every instance of a drawn clip counted as
  often as its clip; the macro average is over the classes present in each resample, so a
  resample that loses a rare class averages over other classes (biased on small,
  unbalanced sets; kept for comparison and for statistics that are not class averages).

The interval is the percentile interval of the resampled values. A paired difference uses
the same resamples for two methods, so what the two share (the clips) cancels.
Definitions and the measured coverage of both: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLINGS: tuple[str, ...] = ("wild", "clips")
# One instance has no spread; two give one degree of freedom, too few to rest an interval
# on (measured in docs/metrics.md): such classes take the pooled spread of the others.
MIN_OWN_SPREAD = 3


@dataclass(frozen=True)
class BootstrapSettings:
    n_resamples: int = 1000
    level: float = 0.95
    seed: int = 0
    resampling: str = "wild"

    def __post_init__(self) -> None:
        if self.n_resamples < 1:
            raise ValueError(f"n_resamples must be >= 1, got {self.n_resamples}")
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        if self.resampling not in RESAMPLINGS:
            raise ValueError(f"resampling must be one of {RESAMPLINGS}, got {self.resampling!r}")


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


@dataclass(frozen=True)
class Resamples:
    """What every interval of one test set shares, so that paired differences cancel: per
    resample, the times each clip is drawn ("clips") or its sign, +1 or -1 ("wild")."""

    clip_ids: tuple[str, ...]
    settings: BootstrapSettings
    weights: np.ndarray  # (n_resamples, n_clips), clips in the order of clip_ids

    def columns(self, clip_ids: Sequence[str]) -> np.ndarray:
        order = {clip_id: i for i, clip_id in enumerate(self.clip_ids)}
        return np.array([order[c] for c in clip_ids], dtype=np.int64)


def clip_signs(clip_ids: Sequence[str], settings: BootstrapSettings) -> np.ndarray:
    """(n_resamples, n_clips) random signs of `clip_ids` (in that order), seeded."""
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, len(clip_ids), 1]))
    return rng.integers(0, 2, size=(settings.n_resamples, len(clip_ids))) * 2.0 - 1.0


def resample(clip_ids: Sequence[str], settings: BootstrapSettings) -> Resamples:
    """The resamples of `settings.resampling` over `clip_ids`."""
    draw = clip_signs if settings.resampling == "wild" else clip_draws
    return Resamples(tuple(clip_ids), settings, draw(clip_ids, settings))


def _donor_uniforms(resamples: Resamples, columns: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(n_resamples, k) uniforms, one stream per (clip, class) instance, so that two methods
    with the same instances borrow the same donors (paired) whatever else they hold."""
    settings = resamples.settings
    n_clips = len(resamples.clip_ids)
    streams = [
        np.random.default_rng(np.random.SeedSequence([settings.seed, n_clips, 2, int(j), int(c)]))
        for j, c in zip(columns, classes, strict=True)
    ]
    out = np.empty((settings.n_resamples, len(streams)))
    for k, rng in enumerate(streams):
        out[:, k] = rng.random(settings.n_resamples)
    return out


def class_residuals(values: np.ndarray, class_index: np.ndarray) -> np.ndarray:
    """Each value minus its class mean, times sqrt(n / (n - 1)) for its class's n; 0 for
    a class with one value (no spread of its own)."""
    counts = np.bincount(class_index)
    means = np.bincount(class_index, weights=values) / np.maximum(counts, 1)
    n = counts[class_index]
    return (values - means[class_index]) * np.sqrt(n / np.maximum(n - 1, 1))


def spread_pool(values: np.ndarray, class_index: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The residuals the small classes borrow from, in clip-then-class order: those of the
    classes with two or more values; if there is none, every value around their mean (the
    classes collapsed into one: conservative, as it adds the spread between classes)."""
    order = np.lexsort((class_index, columns))
    counts = np.bincount(class_index)
    pooled = counts[class_index] >= 2
    if pooled.any():
        return class_residuals(values, class_index)[order][pooled[order]]
    if values.size < 2:
        return np.zeros(0)
    return class_residuals(values, np.zeros(values.size, dtype=np.int64))[order]


def wild_deviations(
    values: np.ndarray,
    class_index: np.ndarray,
    signs: np.ndarray,
    donors: np.ndarray,
    pool: np.ndarray,
) -> np.ndarray:
    """(R,) moves of the macro average of `values` (n,) under clip `signs` (R, n) given
    per instance; the instances of classes under MIN_OWN_SPREAD take the pool residuals
    `pool[donors]` (`donors`: (R, number of such instances), in instance order)."""
    counts = np.bincount(class_index)
    n = counts[class_index]
    weight = 1.0 / (np.count_nonzero(counts) * n)
    own = n >= MIN_OWN_SPREAD
    moves = signs[:, own] @ (class_residuals(values, class_index)[own] * weight[own])
    if (~own).any():
        moves = moves + (signs[:, ~own] * pool[donors] * weight[~own]).sum(axis=1)
    return moves


def _wild_point_and_samples(
    data: InstanceValues, resamples: Resamples, n_classes: int
) -> tuple[float, np.ndarray]:
    defined = ~np.isnan(np.asarray(data.values, dtype=np.float64))
    values = np.asarray(data.values, dtype=np.float64)[defined]
    classes = np.asarray(data.class_index, dtype=np.int64)[defined]
    columns = resamples.columns(data.clip_ids)[defined]
    n_resamples = resamples.weights.shape[0]
    if values.size == 0:
        return float("nan"), np.full(n_resamples, np.nan)
    point = float(weighted_macro(values, classes, np.ones((1, values.size)), n_classes)[0])
    pool = spread_pool(values, classes, columns)
    small = np.bincount(classes)[classes] < MIN_OWN_SPREAD
    if small.any() and pool.size == 0:
        # One value in all: nothing to take a spread from.
        return point, np.full(n_resamples, np.nan)
    uniforms = _donor_uniforms(resamples, columns[small], classes[small])
    donors = np.minimum((uniforms * pool.size).astype(np.int64), max(pool.size - 1, 0))
    signs = resamples.weights[:, columns]
    return point, point + wild_deviations(values, classes, signs, donors, pool)


def _point_and_resampled(
    data: InstanceValues, resamples: Resamples, n_classes: int
) -> tuple[float, np.ndarray]:
    if resamples.settings.resampling == "wild":
        return _wild_point_and_samples(data, resamples, n_classes)
    order = {clip_id: i for i, clip_id in enumerate(resamples.clip_ids)}
    return _point_and_samples(data, order, resamples.weights, n_classes)


Bounds = tuple[float, float]
UNBOUNDED: Bounds = (-np.inf, np.inf)


def _interval(point: float, samples: np.ndarray, level: float, n: int, bounds: Bounds) -> Interval:
    """As percentile_interval of the samples held within `bounds` (the wild moves can pass
    a metric's range on a few instances; clipping each sample clips the percentiles), but
    a defined point without any defined resample keeps its value (its interval unknown)."""
    if np.isnan(samples).all() and not np.isnan(point):
        return Interval(float(point), float("nan"), float("nan"), n)
    return percentile_interval(point, np.clip(samples, *bounds), level, n)


def macro_interval(
    data: InstanceValues, resamples: Resamples, n_classes: int, bounds: Bounds = UNBOUNDED
) -> Interval:
    """The macro average of `data` and its percentile interval over `resamples`; `bounds`:
    the range of the metric's values."""
    point, samples = _point_and_resampled(data, resamples, n_classes)
    return _interval(point, samples, resamples.settings.level, _defined(data), bounds)


def macro_difference(
    first: InstanceValues,
    second: InstanceValues,
    resamples: Resamples,
    n_classes: int,
    bounds: Bounds = UNBOUNDED,
) -> Interval:
    """Macro(first) - macro(second) and its interval, both under the same resamples;
    `bounds`: the range of the metric's values (a difference lies within +-their width)."""
    point_first, samples_first = _point_and_resampled(first, resamples, n_classes)
    point_second, samples_second = _point_and_resampled(second, resamples, n_classes)
    n = min(_defined(first), _defined(second))
    width = bounds[1] - bounds[0]
    level = resamples.settings.level
    points, samples = point_first - point_second, samples_first - samples_second
    return _interval(points, samples, level, n, (-width, width))
