"""Complexity metrics of the frame scores (Gini sparseness, normalised entropy), by hand and
against scipy's entropy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import entropy

from igsed.core.metrics import COMPLEXITY, gini_sparseness, normalised_entropy, on_valid_frames


def test_hand_computed_case() -> None:
    # Magnitudes 0, 1, 1, 2 (the sign drops): sum 4, n 4. Gini: weights 2i - n - 1 = -3, -1,
    # 1, 3 over the ascending values: (0 - 1 + 1 + 6) / (4 x 4) = 6/16.
    scores = np.array([1.0, 0.0, -2.0, 1.0])
    assert gini_sparseness(scores) == pytest.approx(6 / 16)
    # Shares 1/4, 0, 1/2, 1/4: H = -(2 x 1/4 ln 1/4 + 1/2 ln 1/2) = 1.5 ln 2; ln 4 = 2 ln 2.
    assert normalised_entropy(scores) == pytest.approx(0.75)


def test_the_extremes() -> None:
    flat, spike = np.full(100, 0.3), np.eye(100)[17] * 5.0
    assert gini_sparseness(flat) == pytest.approx(0.0, abs=1e-15)
    assert gini_sparseness(spike) == pytest.approx(0.99)
    assert normalised_entropy(flat) == pytest.approx(1.0)
    assert normalised_entropy(spike) == pytest.approx(0.0, abs=1e-15)
    for metric in COMPLEXITY.values():
        assert math.isnan(metric(np.zeros(100)))
    with pytest.raises(ValueError, match="finite"):
        gini_sparseness(np.array([1.0, np.nan]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_entropy_is_scipys_and_both_broadcast(seed: int) -> None:
    rows = np.random.default_rng(seed).normal(size=(5, 100))
    expected = [entropy(np.abs(row)) / math.log(100) for row in rows]
    assert np.allclose(normalised_entropy(rows), expected, atol=1e-12)
    one_by_one = [gini_sparseness(row) for row in rows]
    assert np.allclose(gini_sparseness(rows), one_by_one, atol=0)


def test_padded_frames_leave_the_complexity() -> None:
    # A 60-frame recording window padded to 100 frames: its metrics are those of its first 60.
    row = np.random.default_rng(4).uniform(size=100)
    truth = np.zeros((1, 100), dtype=bool)
    for metric in COMPLEXITY.values():
        padded = on_valid_frames(metric, row[None], truth, np.array([60]))
        assert padded[0] == pytest.approx(metric(row[:60]), abs=1e-15)
        assert padded[0] != pytest.approx(metric(row), abs=1e-6)
