"""Bootstrap intervals: hand-checked weights, pairing, and coverage on draws of known mean."""

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
    weighted_macro,
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
