"""Threshold-free metrics: hand-computed cases and scikit-learn as the independent reference."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from igsed.core.metrics import (
    auroc,
    average_precision,
    nan_macro_mean,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
)

SCORES = np.array([0.9, 0.1, 0.8, 0.3, 0.8, 0.0])
TRUTH = np.array([1, 0, 1, 0, 0, 0], dtype=bool)


def test_hand_computed_case() -> None:
    # Positives 0.9, 0.8 against negatives 0.1, 0.3, 0.8, 0.0: 4 + 3.5 wins of 8 pairs.
    assert auroc(SCORES, TRUTH) == pytest.approx(7.5 / 8)
    # Thresholds 0.9 (1/1 correct, recall 1/2), 0.8 (2 of 3, recall 1): 0.5 * 1 + 0.5 * 2/3.
    assert average_precision(SCORES, TRUTH) == pytest.approx(0.5 + 0.5 * 2 / 3)
    # Mass 2.9 in all, 1.7 on the truth.
    assert relevance_mass_accuracy(SCORES, TRUTH) == pytest.approx(1.7 / 2.9)
    # Top-2 frames: 0 (0.9) then 2 (0.8, before frame 4 by the earlier-frame rule): both hits.
    assert relevance_rank_accuracy(SCORES, TRUTH) == 1.0
    assert relevance_rank_accuracy(SCORES, np.array([0, 0, 0, 0, 1, 1], dtype=bool)) == 0.0


def test_undefined_cases_are_nan() -> None:
    none = np.zeros(6, dtype=bool)
    every = np.ones(6, dtype=bool)
    assert np.isnan(auroc(SCORES, none)) and np.isnan(auroc(SCORES, every))
    assert np.isnan(average_precision(SCORES, none)) and average_precision(SCORES, every) == 1.0
    assert np.isnan(relevance_rank_accuracy(SCORES, none))
    assert np.isnan(relevance_mass_accuracy(-SCORES, TRUTH))  # no positive mass
    with pytest.raises(ValueError, match="finite"):
        auroc(np.array([np.nan, 1.0]), np.array([True, False]))


@pytest.mark.parametrize("seed", range(6))
def test_auroc_and_ap_are_sklearns(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Rounded scores: many ties, where the definitions are easiest to get wrong.
    scores = np.round(rng.random((40, 100)), 1 if seed % 2 else 3)
    truth = rng.random((40, 100)) < rng.uniform(0.05, 0.6, (40, 1))
    ours_auc, ours_ap = auroc(scores, truth), average_precision(scores, truth)
    for row in range(40):
        assert ours_auc[row] == pytest.approx(roc_auc_score(truth[row], scores[row]), abs=1e-12)
        expected = average_precision_score(truth[row], scores[row])
        assert ours_ap[row] == pytest.approx(expected, abs=1e-12)


def test_metrics_broadcast_over_instances() -> None:
    scores = np.stack([SCORES, SCORES[::-1]])
    values = auroc(scores, TRUTH)
    assert values.shape == (2,) and values[0] == pytest.approx(7.5 / 8)


def test_nan_macro_mean_leaves_undefined_instances_out() -> None:
    values = np.array([1.0, np.nan, 0.5, 0.0])
    classes = np.array([0, 0, 1, 1])
    assert nan_macro_mean(values, classes, 10) == pytest.approx((1.0 + 0.25) / 2)
    assert np.isnan(nan_macro_mean(np.array([np.nan]), np.array([3]), 10))
