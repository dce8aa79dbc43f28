"""The maths of deletion and insertion curves: frame orders, step masks, areas (numpy only).

A curve point is a keep-mask over the 100 ms frames: deletion keeps every frame but the
first k of the order (the rest of the clip untouched), insertion keeps only the first k (the
rest zeroed). k follows the nominal fraction i / steps of the frames, rounded half up. Two
points with equal masks are the same input to the classifier, which is what lets the job
run each distinct mask once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from igsed.formats.faithfulness import CURVE_NAMES, ORDER_NAMES

CurveKey = tuple[str, str]  # (curve, order), e.g. ("deletion", "morf")
CURVE_KEYS: tuple[CurveKey, ...] = tuple((c, o) for c in CURVE_NAMES for o in ORDER_NAMES)


def frame_order(scores: np.ndarray, order: str) -> np.ndarray:
    """Frame indices, most relevant first ("morf") or least relevant first ("lerf").

    Ties go to the lower frame index in both orders (a stable sort), so LeRF is MoRF
    reversed only where no scores tie: a flat method (all scores equal) gets the same
    time order, frame 0 first, for both.
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise ValueError(f"frame scores must be one finite row, got shape {values.shape}")
    if order == "morf":
        return np.argsort(-values, kind="stable")
    if order == "lerf":
        return np.argsort(values, kind="stable")
    raise ValueError(f"order must be one of {ORDER_NAMES}, got {order!r}")


def step_fractions(steps: int) -> np.ndarray:
    """The nominal fractions of the frames at each curve point: 0, 1/steps, ..., 1."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return np.arange(steps + 1) / steps


def step_counts(n_frames: int, steps: int) -> np.ndarray:
    """Frames zeroed (deletion) or restored (insertion) at each point: i * n / steps, rounded
    half up, in integer arithmetic so that no fraction lands on the wrong side of a half."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    i = np.arange(steps + 1)
    return (2 * i * n_frames + steps) // (2 * steps)


def kept_frames(order: np.ndarray, counts: np.ndarray, curve: str) -> np.ndarray:
    """(points, n_frames) bool: the frames left as they are at each point of one curve."""
    n_frames = order.shape[0]
    # rank[j] = position of frame j in the order; frame j is among the first k iff rank < k
    rank = np.empty(n_frames, dtype=np.int64)
    rank[order] = np.arange(n_frames)
    first_k = rank[None, :] < np.asarray(counts)[:, None]
    if curve == "deletion":
        return ~first_k
    if curve == "insertion":
        return first_k
    raise ValueError(f"curve must be one of {CURVE_NAMES}, got {curve!r}")


def curve_masks(scores: np.ndarray, steps: int) -> dict[CurveKey, np.ndarray]:
    """Every keep-mask of one instance: (steps + 1, n_frames) per (curve, order)."""
    counts = step_counts(len(scores), steps)
    orders = {order: frame_order(scores, order) for order in ORDER_NAMES}
    return {key: kept_frames(orders[key[1]], counts, key[0]) for key in CURVE_KEYS}


def distinct_masks(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of (m, n_frames) `masks` and, per row, the index of its distinct row.

    The distinct rows come sorted (lexicographically), so the forwards do not depend on
    the order the instances arrive in.
    """
    unique, inverse = np.unique(np.asarray(masks, dtype=bool), axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


def normalised_area(fractions: np.ndarray, probabilities: np.ndarray, reference: float) -> float:
    """Trapezoid area under probability over fraction, divided by `reference` (F_c(x)).

    NaN when the reference is 0 or not finite: no scale to compare with.
    """
    x = np.asarray(fractions, dtype=np.float64)
    y = np.asarray(probabilities, dtype=np.float64)
    area = float(np.sum((y[1:] + y[:-1]) / 2.0 * np.diff(x)))
    if not np.isfinite(reference) or reference == 0.0:
        return float("nan")
    return area / reference


def normalised_areas(
    fractions: np.ndarray, curves: Mapping[CurveKey, np.ndarray], reference: float
) -> dict[str, float]:
    """The area columns of one instance: "deletion_morf" etc. -> area / F_c(x)."""
    return {
        f"{curve}_{order}": normalised_area(fractions, curves[curve, order], reference)
        for curve, order in CURVE_KEYS
    }
