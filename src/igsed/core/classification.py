"""Clip classification counts and F1 (Table I, training logs), numpy only.

Kept apart from igsed.core.metrics (the localisation metrics), so that an edit to either
re-runs only the stages that use it; both share igsed.core.ratios.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from igsed.core.ratios import safe_ratio

# The two macro-average conventions of per-class F1; each caller names the one it reports.
# "all": the unweighted mean over all classes, a class without TP, FP or FN scoring 0
#   (scikit-learn's zero_division=0; Table I).
# "active": the mean over the classes present or predicted (no TP, FP or FN: no value);
#   the backbone's held-out and the heads' validation clip F1.
MACRO_CONVENTIONS: tuple[str, ...] = ("all", "active")


@dataclass(frozen=True)
class ClassCounts:
    """Per-class TP, FP and FN of multi-label predictions; (classes,) int arrays."""

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray

    @classmethod
    def count(cls, predicted: np.ndarray, truth: np.ndarray) -> ClassCounts:
        """Counts of (items, classes) boolean predictions against (items, classes) labels."""
        predicted = np.asarray(predicted, dtype=bool)
        truth = np.asarray(truth, dtype=bool)
        return cls(
            tp=np.count_nonzero(predicted & truth, axis=0),
            fp=np.count_nonzero(predicted & ~truth, axis=0),
            fn=np.count_nonzero(~predicted & truth, axis=0),
        )

    def precision(self) -> np.ndarray:
        return safe_ratio(self.tp, self.tp + self.fp)

    def recall(self) -> np.ndarray:
        return safe_ratio(self.tp, self.tp + self.fn)

    def f1(self) -> np.ndarray:
        return safe_ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def micro(self) -> ClassCounts:
        """The counts pooled over classes (one 0-d count each)."""
        return ClassCounts(tp=self.tp.sum(), fp=self.fp.sum(), fn=self.fn.sum())

    def macro_f1(self, over: str) -> float:
        """Macro F1 with the named convention (MACRO_CONVENTIONS); NaN without any class."""
        if over not in MACRO_CONVENTIONS:
            raise ValueError(f"macro convention {over!r}; expected one of {MACRO_CONVENTIONS}")
        f1 = self.f1()
        if over == "active":
            f1 = f1[(2 * self.tp + self.fp + self.fn) > 0]
        return float(f1.mean()) if f1.size else float("nan")


def clip_f1(probabilities: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> dict:
    """Micro and macro clip F1 at `threshold`; macro over the "active" classes."""
    counts = ClassCounts.count(probabilities > threshold, labels.astype(bool))
    return {"micro_f1": float(counts.micro().f1()), "macro_f1": counts.macro_f1("active")}
