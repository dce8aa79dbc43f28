"""Bootstrap intervals: hand-checked weights, pairing, and coverage on draws of known mean,
on a balanced set and on a small, unbalanced one."""

from __future__ import annotations

import numpy as np
import pytest

from igsed.core.statistics import (
    BootstrapSettings,
    InstanceValues,
    _weighted_medians,
    bootstrap_difference,
    bootstrap_macro,
    bootstrap_median,
    clip_draws,
    macro_difference,
    macro_interval,
    resample,
    spread_pool,
    weighted_macro,
    wild_deviations,
)


def test_weighted_macro_by_hand() -> None:
    values = np.array([1.0, 0.0, 0.5, np.nan])
    classes = np.array([0, 0, 1, 1])
    weights = np.array([[1, 1, 1, 1], [2, 0, 0, 1], [0, 0, 0, 1]], dtype=float)
    # Resample 1: class 0 (1 + 0) / 2, class 1 0.5. Resample 2: class 0 only, 1.0.
    # Resample 3: only the NaN instance drawn: no value.
    out = weighted_macro(values, classes, weights, 10)
    assert out[0] == pytest.approx(0.5) and out[1] == pytest.approx(1.0) and np.isnan(out[2])


def test_draws_are_seeded_and_keep_the_clip_count() -> None:
    clips = [f"c{i}" for i in range(7)]
    first = clip_draws(clips, BootstrapSettings(n_resamples=50, seed=3))
    again = clip_draws(clips, BootstrapSettings(n_resamples=50, seed=3))
    other = clip_draws(clips, BootstrapSettings(n_resamples=50, seed=4))
    assert first.shape == (50, 7) and np.all(first.sum(axis=1) == 7)
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_paired_difference_of_a_method_with_itself_is_zero() -> None:
    rng = np.random.default_rng(0)
    clips = [f"c{i}" for i in range(30)]
    data = InstanceValues(rng.random(30), clips, rng.integers(0, 3, 30))
    draws = clip_draws(clips, BootstrapSettings(n_resamples=200))
    same = bootstrap_difference(data, data, clips, draws, 0.95, 10)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0) and not same.excludes_zero()
    shifted = InstanceValues(data.values + 0.1, clips, data.class_index)
    diff = bootstrap_difference(shifted, data, clips, draws, 0.95, 10)
    assert diff.value == pytest.approx(0.1) and diff.low == pytest.approx(0.1)
    assert diff.excludes_zero()


def test_the_interval_covers_a_known_mean_in_about_95_percent_of_seeds() -> None:
    """Draws of mean 0.5 (one instance per clip, one class): the 95 % percentile interval
    should cover 0.5 in roughly 95 % of 300 independent data sets."""
    covered = 0
    n_sets = 300
    for seed in range(n_sets):
        rng = np.random.default_rng(1000 + seed)
        clips = [f"c{i}" for i in range(60)]
        data = InstanceValues(rng.normal(0.5, 0.2, 60), clips, np.zeros(60, dtype=int))
        draws = clip_draws(clips, BootstrapSettings(n_resamples=1000, seed=seed))
        interval = bootstrap_macro(data, clips, draws, 0.95, 10)
        covered += interval.low <= 0.5 <= interval.high
    assert 0.91 <= covered / n_sets <= 0.98, covered / n_sets


def test_the_wild_interval_covers_a_known_mean_in_about_95_percent_of_seeds() -> None:
    """The same data sets as above under the default (wild) resampling: 0.937 covered."""
    covered = 0
    n_sets = 300
    for seed in range(n_sets):
        rng = np.random.default_rng(1000 + seed)
        clips = [f"c{i}" for i in range(60)]
        data = InstanceValues(rng.normal(0.5, 0.2, 60), clips, np.zeros(60, dtype=int))
        interval = macro_interval(data, resample(clips, BootstrapSettings(seed=seed)), 10)
        covered += interval.low <= 0.5 <= interval.high
    assert 0.91 <= covered / n_sets <= 0.98, covered / n_sets


@pytest.mark.parametrize("seed", range(5))
def test_weighted_medians_equal_the_median_of_the_repeated_values(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=int(rng.integers(1, 9)))
    weights = rng.integers(0, 4, size=(20, values.size))
    medians = _weighted_medians(values, weights)
    for row, median in zip(weights, medians, strict=True):
        repeated = np.repeat(values, row)
        if repeated.size:
            assert median == pytest.approx(np.median(repeated), abs=1e-12)
        else:
            assert np.isnan(median)


def test_bootstrap_median_by_hand() -> None:
    # Clips a, b, c with instance values a: [0.1, 0.9], b: [0.5], c: [NaN] (left out).
    values = np.array([0.1, 0.9, 0.5, np.nan])
    draws = np.array([[1.0, 1.0, 1.0], [0.0, 2.0, 1.0], [2.0, 0.0, 1.0]])
    interval = bootstrap_median(values, ["a", "a", "b", "c"], ["a", "b", "c"], draws, 0.5)
    # Draw 1: {0.1, 0.9, 0.5} -> 0.5; draw 2: {0.5, 0.5} -> 0.5; draw 3: {0.1, 0.9} x 2 -> 0.5.
    assert (interval.value, interval.low, interval.high, interval.n) == (0.5, 0.5, 0.5, 3)
    empty = bootstrap_median(np.array([np.nan]), ["a"], ["a"], np.ones((3, 1)), 0.95)
    assert np.isnan(empty.value) and empty.n == 0


# A small, unbalanced test set like one built from real recordings: classes 0-4 have one or
# two instances (and a lower mean, as rare classes often score lower), classes 5-9 many.
UNBALANCED_COUNTS = (1, 1, 1, 2, 2, 10, 12, 15, 20, 25)
UNBALANCED_MEANS = np.array([0.15, 0.2, 0.25, 0.3, 0.2, 0.5, 0.55, 0.6, 0.5, 0.55])


def _unbalanced_design() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each instance's clip and class: the instances shuffled into clips of one to three
    distinct classes (89 instances in 46 clips), and the clip ids."""
    rng = np.random.default_rng(7)
    pending = [c for c, n in enumerate(UNBALANCED_COUNTS) for _ in range(n)]
    rng.shuffle(pending)
    clips: list[list[int]] = []
    while pending:
        size, clip, rest = int(rng.integers(1, 4)), [], []
        for c in pending:
            (clip if len(clip) < size and c not in clip else rest).append(c)
        clips.append(clip)
        pending = rest
    clip_of = np.array([j for j, classes in enumerate(clips) for _ in classes])
    class_index = np.array([c for classes in clips for c in classes])
    return clip_of, class_index, [f"c{j:03d}" for j in range(len(clips))]


def _unbalanced_coverage(resampling: str, n_sets: int) -> tuple[float, float]:
    """The share of `n_sets` simulated data sets whose 95 % interval covers the true macro
    mean, and the mean of (interval centre - point) over the sets. Values: class mean plus
    N(0, 0.25^2) noise, 30 % of its variance shared by the instances of one clip."""
    clip_of, class_index, clip_ids = _unbalanced_design()
    truth = UNBALANCED_MEANS.mean()
    covered, shift = 0, 0.0
    for seed in range(n_sets):
        rng = np.random.default_rng(5000 + seed)
        shared = rng.normal(size=len(clip_ids))[clip_of]
        noise = np.sqrt(0.3) * shared + np.sqrt(0.7) * rng.normal(size=class_index.size)
        values = UNBALANCED_MEANS[class_index] + 0.25 * noise
        data = InstanceValues(values, [clip_ids[j] for j in clip_of], class_index)
        settings = BootstrapSettings(seed=seed, resampling=resampling)
        interval = macro_interval(data, resample(clip_ids, settings), 10)
        covered += interval.low <= truth <= interval.high
        shift += (interval.low + interval.high) / 2 - interval.value
    return covered / n_sets, shift / n_sets


def test_on_a_small_unbalanced_set_only_the_wild_interval_keeps_its_coverage() -> None:
    """Measured on these 400 sets (on 1,000, in brackets): resampling clips covers the true
    mean in 0.82 (0.81) of them, its intervals centred 0.041 (0.040) above the point, as a
    resample that loses a rare, low class averages over the others; the wild resampling
    covers it in 0.928 (0.931), centred on the point (|shift| < 0.001). Resampling clips
    within strata of their rarest class (every class kept) covered 0.55 on the 1,000: a
    class of one instance then has no spread at all."""
    clips_coverage, clips_shift = _unbalanced_coverage("clips", 400)
    wild_coverage, wild_shift = _unbalanced_coverage("wild", 400)
    assert clips_coverage < 0.87 and clips_shift > 0.03, (clips_coverage, clips_shift)
    assert 0.91 <= wild_coverage <= 0.98 and abs(wild_shift) < 0.005, (wild_coverage, wild_shift)


def _hand_case() -> tuple[InstanceValues, list[str]]:
    """Clips a, b, c. Class 0: a 0.1, b 0.4, c 0.7 (mean 0.4, own spread). Class 1: a 0.9
    (one instance). Class 2: b 0.5, c 0.3 (two instances: borrows)."""
    values = np.array([0.1, 0.9, 0.4, 0.5, 0.7, 0.3])
    data = InstanceValues(values, ["a", "a", "b", "b", "c", "c"], np.array([0, 1, 0, 2, 0, 2]))
    return data, ["a", "b", "c"]


def test_wild_deviations_by_hand() -> None:
    data, _ = _hand_case()
    columns = np.array([0, 0, 1, 1, 2, 2])
    pool = spread_pool(data.values, data.class_index, columns)
    # Clip then class order, classes with two or more: a0, b0, b2, c0, c2, each residual
    # inflated by sqrt(n / (n - 1)).
    expected_pool = [-0.3 * np.sqrt(1.5), 0.0, 0.1 * np.sqrt(2), 0.3 * np.sqrt(1.5)]
    assert pool == pytest.approx([*expected_pool, -0.1 * np.sqrt(2)])
    # Signs a +1, b -1, c +1. Class 0 (weight 1 / (3 classes x 3)): -0.3 + 0 + 0.3 = 0
    # (times sqrt 1.5). Borrowers a1 (weight 1/3), b2, c2 (weight 1/6) take pool 3, 0, 2.
    signs = np.array([[1.0, 1.0, -1.0, -1.0, 1.0, 1.0]])
    moves = wild_deviations(data.values, data.class_index, signs, np.array([[3, 0, 2]]), pool)
    by_hand = (0.3 * np.sqrt(1.5)) / 3 + (0.3 * np.sqrt(1.5)) / 6 + (0.1 * np.sqrt(2)) / 6
    assert moves == pytest.approx([by_hand])


def test_the_wild_interval_keeps_every_class_and_centres_on_the_point() -> None:
    data, clips = _hand_case()
    interval = macro_interval(data, resample(clips, BootstrapSettings(n_resamples=2000)), 10)
    assert interval.value == pytest.approx((0.4 + 0.9 + 0.4) / 3) and interval.n == 6
    # Every resample averages the same three classes, moved by symmetric signs.
    assert interval.low < interval.value < interval.high
    assert (interval.low + interval.high) / 2 == pytest.approx(interval.value, abs=0.03)


def test_wild_intervals_are_seeded() -> None:
    data, clips = _hand_case()
    first = macro_interval(data, resample(clips, BootstrapSettings(n_resamples=300, seed=5)), 10)
    again = macro_interval(data, resample(clips, BootstrapSettings(n_resamples=300, seed=5)), 10)
    other = macro_interval(data, resample(clips, BootstrapSettings(n_resamples=300, seed=6)), 10)
    assert first == again and (first.low, first.high) != (other.low, other.high)


def test_wild_paired_differences_cancel_what_the_methods_share() -> None:
    data, clips = _hand_case()
    resamples = resample(clips, BootstrapSettings(n_resamples=300))
    same = macro_difference(data, data, resamples, 10)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)
    # A constant shift leaves every residual, so every resample, unchanged.
    shifted = InstanceValues(data.values + 0.1, data.clip_ids, data.class_index)
    diff = macro_difference(shifted, data, resamples, 10)
    assert diff.low == pytest.approx(0.1) and diff.high == pytest.approx(0.1)


def test_without_any_spread_the_interval_is_unknown() -> None:
    one = InstanceValues(np.array([0.3, np.nan]), ["a", "b"], np.array([0, 1]))
    interval = macro_interval(one, resample(["a", "b"], BootstrapSettings(n_resamples=50)), 10)
    assert interval.value == pytest.approx(0.3) and interval.n == 1
    assert np.isnan(interval.low) and np.isnan(interval.high)
    # Two singletons: the classes collapse into one pool (residuals +-0.2 x sqrt 2).
    two = InstanceValues(np.array([0.2, 0.6]), ["a", "b"], np.array([0, 1]))
    pool = spread_pool(two.values, two.class_index, np.array([0, 1]))
    assert pool == pytest.approx([-0.2 * np.sqrt(2), 0.2 * np.sqrt(2)])


def test_an_unknown_resampling_is_refused() -> None:
    with pytest.raises(ValueError, match="resampling"):
        BootstrapSettings(resampling="bca")


def test_intervals_keep_to_the_metric_range() -> None:
    """Two values of a 0/1 metric in two classes: the pooled residuals (+-0.5 x sqrt 2,
    times 1/2) move the macro 0.5 by up to 0.71, past [0, 1]; bounded, it stays inside."""
    data = InstanceValues(np.array([0.0, 1.0]), ["a", "b"], np.array([0, 1]))
    resamples = resample(["a", "b"], BootstrapSettings(n_resamples=400))
    free = macro_interval(data, resamples, 10)
    bounded = macro_interval(data, resamples, 10, (0.0, 1.0))
    assert free.low < 0 and free.high > 1
    assert (bounded.low, bounded.high) == (0.0, 1.0) and bounded.value == 0.5
    flipped = InstanceValues(1 - data.values, data.clip_ids, data.class_index)
    difference = macro_difference(data, flipped, resamples, 10, (0.0, 1.0))
    assert difference.value == 0.0 and (difference.low, difference.high) == (-1.0, 1.0)
