"""Clip-classification counts and the two macro conventions, on a hand-computed case."""

from __future__ import annotations

import math

import numpy as np
import pytest

from igsed.core.classification import ClassCounts, clip_f1

# Three clips, three classes. Class 0: TP 1, FP 1, FN 0 (F1 2/3). Class 1: TP 0, FP 0,
# FN 1 (F1 0). Class 2: nothing present or predicted (no TP, FP or FN).
PREDICTED = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 0]], dtype=bool)
TRUTH = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=bool)


def test_counts_precision_recall_f1() -> None:
    counts = ClassCounts.count(PREDICTED, TRUTH)
    assert counts.tp.tolist() == [1, 0, 0]
    assert counts.fp.tolist() == [1, 0, 0]
    assert counts.fn.tolist() == [0, 1, 0]
    np.testing.assert_allclose(counts.precision(), [0.5, 0.0, 0.0])
    np.testing.assert_allclose(counts.recall(), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(counts.f1(), [2 / 3, 0.0, 0.0])
    assert float(counts.micro().f1()) == pytest.approx(2 / (2 + 1 + 1))


def test_the_two_macro_conventions_differ_where_a_class_is_absent() -> None:
    counts = ClassCounts.count(PREDICTED, TRUTH)
    assert counts.macro_f1("all") == pytest.approx((2 / 3) / 3)
    assert counts.macro_f1("active") == pytest.approx((2 / 3) / 2)
    with pytest.raises(ValueError, match="macro convention"):
        counts.macro_f1("weighted")


def test_clip_f1_thresholds_probabilities_and_uses_active_classes() -> None:
    probabilities = np.where(PREDICTED, 0.9, 0.1)
    result = clip_f1(probabilities, TRUTH.astype(np.uint8))
    assert result == pytest.approx({"micro_f1": 0.5, "macro_f1": 1 / 3})
    empty = clip_f1(np.zeros((2, 3)), np.zeros((2, 3), dtype=np.uint8))
    assert empty["micro_f1"] == 0.0 and math.isnan(empty["macro_f1"])
