"""Frame-level localisation metrics of the paper (IoU, frame F1, Pointing Game), numpy only.

Conventions (docs/metrics.md):

- Every function takes frame arrays whose *last* axis is time (100 frames of 100 ms per
  clip); leading axes are instances and broadcast.
- `percentile_mask(scores, tau)` keeps the frames whose score is >= the tau-th percentile of
  that instance's own frame scores, with NumPy's default ("linear") percentile
  interpolation. The arg-max frame is always kept (NumPy's linear interpolation never
  exceeds the largest value), so a percentile mask is never empty; if all scores are equal
  the mask is every frame.
- A ratio whose denominator is 0 is 0.0: IoU and F1 when both the mask and the ground truth
  are empty, precision for an empty mask, recall for an empty ground truth. (sed_eval's
  segment-based metrics call these undefined and report NaN; where they are defined the two
  agree exactly, which tests/test_metrics.py checks.) Percentile masks are never empty, so
  in the evaluation a zero denominator cannot occur for IoU, F1 or precision; an empty
  ground truth (a false-positive detection counted on purpose) gives IoU = F1 = 0 from the
  formulas themselves, because the mask's frames are all false positives.
- Pointing Game is 1 if the first frame holding the maximum score is a ground-truth frame
  (ties resolved towards the earliest frame, as `np.argmax` does); it is 0 for an empty
  ground truth. Scores must be finite: NaN would silently become the arg-max.
- Padded clips: a clip that is partly zero padding (a short recording) has fewer valid
  frames than 100; `sweep` and `on_valid_frames` take each instance's valid frame count
  and score it on its first frames only, as if the clip were that long, so padded frames
  enter no metric and no percentile. None (or every count 100) is the plain computation.
- Aggregation: mean per class over that class's instances, then the unweighted mean over
  the classes that have at least one instance (macro average). A class without instances
  has no value (NaN here, "n/a" in tables), never 0. The standard deviation of IoU is over
  all instances pooled (population std, ddof = 0).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from igsed.core.ranks import average_ranks
from igsed.core.ratios import safe_ratio

logger = logging.getLogger(__name__)

# Instances per block of the vectorised sweep: bounds the (taus, instances, frames) boolean
# array to ~100 MB for 99 thresholds and 100 frames.
_SWEEP_BLOCK = 10_000


def _scalar_or_array(values: np.ndarray) -> float | np.ndarray:
    return float(values) if np.ndim(values) == 0 else values


def percentile_threshold(scores: np.ndarray, tau: float | np.ndarray) -> np.ndarray:
    """The tau-th percentile (linear interpolation) of each instance's frame scores.

    `scores` (..., frames); `tau` a scalar or a 1-D array of percentiles in [0, 100].
    Returns (...,) for a scalar tau and (len(tau), ...) for an array.
    """
    return np.percentile(np.asarray(scores, dtype=np.float64), tau, axis=-1)


def percentile_mask(scores: np.ndarray, tau: float) -> np.ndarray:
    """Boolean mask of the frames whose score is >= the tau-th percentile (per instance)."""
    scores = np.asarray(scores, dtype=np.float64)
    return scores >= percentile_threshold(scores, tau)[..., None]


def confusion_counts(
    mask: np.ndarray, truth: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positive, false positive and false negative frame counts along the last axis."""
    mask = np.asarray(mask, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    tp = np.count_nonzero(mask & truth, axis=-1)
    fp = np.count_nonzero(mask & ~truth, axis=-1)
    fn = np.count_nonzero(~mask & truth, axis=-1)
    return tp, fp, fn


def iou(mask: np.ndarray, truth: np.ndarray) -> float | np.ndarray:
    """|M ∩ G| / |M ∪ G| (0.0 if both are empty)."""
    tp, fp, fn = confusion_counts(mask, truth)
    return _scalar_or_array(safe_ratio(tp, tp + fp + fn))


def frame_f1(mask: np.ndarray, truth: np.ndarray) -> float | np.ndarray:
    """2 TP / (2 TP + FP + FN) over frames (0.0 if both are empty)."""
    tp, fp, fn = confusion_counts(mask, truth)
    return _scalar_or_array(safe_ratio(2 * tp, 2 * tp + fp + fn))


def frame_precision(mask: np.ndarray, truth: np.ndarray) -> float | np.ndarray:
    """TP / (TP + FP) (0.0 for an empty mask)."""
    tp, fp, _ = confusion_counts(mask, truth)
    return _scalar_or_array(safe_ratio(tp, tp + fp))


def frame_recall(mask: np.ndarray, truth: np.ndarray) -> float | np.ndarray:
    """TP / (TP + FN) (0.0 for an empty ground truth)."""
    tp, _, fn = confusion_counts(mask, truth)
    return _scalar_or_array(safe_ratio(tp, tp + fn))


def pointing_game(scores: np.ndarray, truth: np.ndarray) -> float | np.ndarray:
    """1.0 if the first arg-max frame of `scores` lies in `truth`, else 0.0."""
    scores = np.asarray(scores)
    truth = np.asarray(truth, dtype=bool)
    first_max = np.argmax(scores, axis=-1)
    hit = np.take_along_axis(
        np.broadcast_to(truth, scores.shape), first_max[..., None], axis=-1
    ).squeeze(-1)
    return _scalar_or_array(hit.astype(np.float64))


@dataclass(frozen=True)
class SweepResult:
    """Per-instance metrics at every threshold: arrays of shape (len(taus), n_instances)."""

    taus: np.ndarray
    iou: np.ndarray
    f1: np.ndarray


def valid_groups(
    valid_frames: np.ndarray | None, shape: tuple[int, ...]
) -> list[tuple[int, np.ndarray]] | None:
    """[(frame count, row indices)] of the instances of (instances, frames) `shape` grouped
    by their valid frame count; None when every instance is whole (or `valid_frames` is
    None), so that whole clips take the plain computation, bit for bit."""
    if valid_frames is None:
        return None
    n, frames = shape
    valid = np.asarray(valid_frames).reshape(n)
    if not np.all((valid >= 1) & (valid <= frames) & (valid == np.round(valid))):
        raise ValueError(f"valid frame counts must be integers in [1, {frames}]")
    if np.all(valid == frames):
        return None
    return [(int(length), np.flatnonzero(valid == length)) for length in np.unique(valid)]


def on_valid_frames(
    metric: Callable[[np.ndarray, np.ndarray], float | np.ndarray],
    scores: np.ndarray,
    truth: np.ndarray,
    valid_frames: np.ndarray | None = None,
) -> np.ndarray:
    """(n,) `metric` of each instance of (n, frames) `scores` and `truth`, on its first
    `valid_frames[i]` frames only (None: on every frame)."""
    scores, truth = np.asarray(scores), np.asarray(truth)
    groups = valid_groups(valid_frames, scores.shape)
    if groups is None:
        return np.asarray(metric(scores, truth), dtype=np.float64).reshape(scores.shape[0])
    out = np.empty(scores.shape[0], dtype=np.float64)
    for length, rows in groups:
        values = metric(scores[rows, :length], truth[rows, :length])
        out[rows] = np.asarray(values, dtype=np.float64).reshape(rows.size)
    return out


def sweep(
    scores: np.ndarray,
    truth: np.ndarray,
    taus: Sequence[float] | np.ndarray,
    valid_frames: np.ndarray | None = None,
) -> SweepResult:
    """IoU and F1 of the percentile mask of every instance at every tau, vectorised.

    `scores` and `truth` are (n_instances, frames); `valid_frames` (n_instances,) the frames
    of each instance that hold audio (None: all), the percentile and the metrics taken over
    those only.
    """
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth, dtype=bool)
    if scores.ndim != 2 or scores.shape != truth.shape:
        raise ValueError(
            f"sweep needs scores and truth of the same (instances, frames) shape, "
            f"got {scores.shape} and {truth.shape}"
        )
    tau_array = np.asarray(taus, dtype=np.float64).reshape(-1)
    groups = valid_groups(valid_frames, scores.shape)
    if groups is None:
        return _sweep(scores, truth, tau_array)
    iou_out = np.empty((tau_array.size, scores.shape[0]), dtype=np.float64)
    f1_out = np.empty_like(iou_out)
    for length, rows in groups:
        part = _sweep(scores[rows, :length], truth[rows, :length], tau_array)
        iou_out[:, rows], f1_out[:, rows] = part.iou, part.f1
    return SweepResult(taus=tau_array, iou=iou_out, f1=f1_out)


def _sweep(scores: np.ndarray, truth: np.ndarray, tau_array: np.ndarray) -> SweepResult:
    n_instances = scores.shape[0]
    iou_out = np.empty((tau_array.size, n_instances), dtype=np.float64)
    f1_out = np.empty((tau_array.size, n_instances), dtype=np.float64)
    for start in range(0, n_instances, _SWEEP_BLOCK):
        block = slice(start, start + _SWEEP_BLOCK)
        thresholds = percentile_threshold(scores[block], tau_array)  # (taus, instances)
        masks = scores[None, block, :] >= thresholds[..., None]
        tp, fp, fn = confusion_counts(masks, truth[None, block, :])
        iou_out[:, block] = safe_ratio(tp, tp + fp + fn)
        f1_out[:, block] = safe_ratio(2 * tp, 2 * tp + fp + fn)
    return SweepResult(taus=tau_array, iou=iou_out, f1=f1_out)


def class_means(
    values: np.ndarray, class_index: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of `values` (..., n_instances) per class; returns (means (..., n_classes), counts).

    A class without instances gets NaN (and count 0).
    """
    values = np.asarray(values, dtype=np.float64)
    class_index = np.asarray(class_index, dtype=np.int64)
    counts = np.bincount(class_index, minlength=n_classes)[:n_classes]
    one_hot = np.zeros((class_index.size, n_classes), dtype=np.float64)
    one_hot[np.arange(class_index.size), class_index] = 1.0
    sums = values @ one_hot
    means = np.full(sums.shape, np.nan)
    np.divide(sums, counts, out=means, where=counts > 0)
    return means, counts


def macro_average(per_class: np.ndarray, counts: np.ndarray) -> float | np.ndarray:
    """Unweighted mean over the classes with at least one instance (NaN if there are none)."""
    per_class = np.asarray(per_class, dtype=np.float64)
    present = np.asarray(counts) > 0
    if not present.any():
        return _scalar_or_array(np.full(per_class.shape[:-1], np.nan))
    return _scalar_or_array(per_class[..., present].mean(axis=-1))


def macro_mean(values: np.ndarray, class_index: np.ndarray, n_classes: int) -> float | np.ndarray:
    """Per-class mean over instances, then macro average over classes (last axis = instances)."""
    means, counts = class_means(values, class_index, n_classes)
    return macro_average(means, counts)


def best_tau(taus: np.ndarray, curve: np.ndarray) -> int | None:
    """Index of the maximum of a macro-averaged sweep curve; ties go to the lowest tau.

    Exact ties only (`np.argmax` returns the first maximum of the ascending tau grid).
    Returns None when the curve has no value (no instances).
    """
    curve = np.asarray(curve, dtype=np.float64)
    if curve.size == 0 or np.all(np.isnan(curve)):
        return None
    if np.any(np.isnan(curve)):
        raise ValueError("sweep curve has NaN at some thresholds but not all")
    order = np.argsort(np.asarray(taus), kind="stable")
    return int(order[np.argmax(curve[order])])


# Threshold-free per-instance metrics (docs/metrics.md, "Threshold-free"). Each takes
# (..., frames) scores and ground truth and returns one value per instance, NaN where the
# metric is undefined ("n/a"); macro averages skip the NaN instances (`nan_macro_mean`).


def _rows(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.broadcast_to(np.asarray(truth, dtype=bool), scores.shape)
    if not np.all(np.isfinite(scores)):
        raise ValueError("threshold-free metrics need finite scores")
    shape = scores.shape[:-1]
    frames = scores.shape[-1]
    return scores.reshape(-1, frames), truth.reshape(-1, frames), shape


def auroc(scores: np.ndarray, truth: np.ndarray) -> float | np.ndarray:
    """Area under the ROC curve of the frame scores against the ground-truth frames.

    The Mann-Whitney statistic: the chance that a ground-truth frame outscores another
    frame, ties counting one half (as scikit-learn's roc_auc_score). NaN when the ground
    truth is no frame or every frame.
    """
    rows, truth_rows, shape = _rows(scores, truth)
    out = np.full(rows.shape[0], np.nan)
    for i, (row, positive) in enumerate(zip(rows, truth_rows, strict=True)):
        n_pos = int(positive.sum())
        n_neg = positive.size - n_pos
        if n_pos and n_neg:
            ranks = average_ranks(row)
            out[i] = (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return _scalar_or_array(out.reshape(shape))


def average_precision(scores: np.ndarray, truth: np.ndarray) -> float | np.ndarray:
    """Average precision: sum over the distinct score thresholds, from the highest, of the
    recall gained times the precision there (scikit-learn's average_precision_score; tied
    frames enter together). NaN when the ground truth is no frame."""
    rows, truth_rows, shape = _rows(scores, truth)
    out = np.full(rows.shape[0], np.nan)
    for i, (row, positive) in enumerate(zip(rows, truth_rows, strict=True)):
        n_pos = int(positive.sum())
        if not n_pos:
            continue
        order = np.argsort(-row, kind="stable")
        hits = positive[order].astype(np.float64)
        # The last frame of each group of tied scores closes a threshold.
        closing = np.r_[row[order][1:] != row[order][:-1], True]
        tp = np.cumsum(hits)[closing]
        seen = (np.arange(row.size) + 1.0)[closing]
        recall = tp / n_pos
        out[i] = float(np.sum(np.diff(np.r_[0.0, recall]) * (tp / seen)))
    return _scalar_or_array(out.reshape(shape))


def relevance_mass_accuracy(scores: np.ndarray, truth: np.ndarray) -> float | np.ndarray:
    """Share of the positive score mass that lies on ground-truth frames (Quantus's
    RelevanceMassAccuracy on non-negative relevance). NaN when no score is positive."""
    rows, truth_rows, shape = _rows(scores, truth)
    positive = np.clip(rows, 0.0, None)
    total = positive.sum(axis=-1)
    inside = (positive * truth_rows).sum(axis=-1)
    out = np.full(total.shape, np.nan)
    np.divide(inside, total, out=out, where=total > 0)
    return _scalar_or_array(out.reshape(shape))


def relevance_rank_accuracy(scores: np.ndarray, truth: np.ndarray) -> float | np.ndarray:
    """Share of the K highest-scoring frames that are ground truth, K = the number of
    ground-truth frames (Quantus's RelevanceRankAccuracy); ties go to the earlier frame.
    NaN when the ground truth is no frame."""
    rows, truth_rows, shape = _rows(scores, truth)
    out = np.full(rows.shape[0], np.nan)
    for i, (row, positive) in enumerate(zip(rows, truth_rows, strict=True)):
        k = int(positive.sum())
        if k:
            top = np.argsort(-row, kind="stable")[:k]
            out[i] = positive[top].sum() / k
    return _scalar_or_array(out.reshape(shape))


# The threshold-free metrics by the column name the evaluation writes.
THRESHOLD_FREE: dict[str, Callable[[np.ndarray, np.ndarray], float | np.ndarray]] = {
    "auroc": auroc,
    "ap": average_precision,
    "rma": relevance_mass_accuracy,
    "rra": relevance_rank_accuracy,
}


def _magnitudes(scores: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    scores = np.asarray(scores, dtype=np.float64)
    if not np.all(np.isfinite(scores)):
        raise ValueError("complexity metrics need finite scores")
    return np.abs(scores.reshape(-1, scores.shape[-1])), scores.shape[:-1]


def gini_sparseness(scores: np.ndarray, truth: np.ndarray | None = None) -> float | np.ndarray:
    """Gini index of the frame scores' magnitudes (Quantus's Sparseness, Chalasani et al.
    2020): sum over the ascending magnitudes a_(i), i = 1..n, of (2i - n - 1) a_(i), divided
    by n times their sum. 0 when every frame scores alike, (n - 1)/n when one frame holds all
    of it; NaN when every score is 0. `truth` is ignored (the metrics' common signature)."""
    rows, shape = _magnitudes(scores)
    n = rows.shape[-1]
    ordered = np.sort(rows, axis=-1)
    weights = 2.0 * np.arange(1, n + 1) - n - 1
    total = ordered.sum(axis=-1)
    out = np.full(total.shape, np.nan)
    np.divide(ordered @ weights, n * total, out=out, where=total > 0)
    return _scalar_or_array(out.reshape(shape))


def normalised_entropy(scores: np.ndarray, truth: np.ndarray | None = None) -> float | np.ndarray:
    """Shannon entropy of the frames' shares of the score magnitude (Quantus's Complexity,
    Bhatt et al. 2020), divided by ln n so that 1 is an even spread over all n frames and 0
    one frame holding everything; NaN when every score is 0 (or n = 1). `truth` is ignored."""
    rows, shape = _magnitudes(scores)
    n = rows.shape[-1]
    total = rows.sum(axis=-1, keepdims=True)
    out = np.full(rows.shape[0], np.nan)
    usable = (total[:, 0] > 0) & (n > 1)
    shares = np.divide(rows, total, out=np.zeros_like(rows), where=total > 0)
    terms = np.zeros_like(shares)
    np.multiply(shares, np.log(shares, where=shares > 0, out=np.zeros_like(shares)), out=terms)
    out[usable] = -terms[usable].sum(axis=-1) / np.log(n)
    return _scalar_or_array(out.reshape(shape))


# The complexity metrics by the column name the evaluation writes: properties of the frame
# scores alone, beside the localisation metrics (docs/metrics.md).
COMPLEXITY: dict[str, Callable[[np.ndarray, np.ndarray], float | np.ndarray]] = {
    "gini": gini_sparseness,
    "entropy": normalised_entropy,
}


def nan_macro_mean(
    values: np.ndarray, class_index: np.ndarray, n_classes: int
) -> float | np.ndarray:
    """`macro_mean` over the instances whose value is defined (NaN ones left out)."""
    values = np.asarray(values, dtype=np.float64)
    defined = ~np.isnan(values)
    return macro_mean(values[defined], np.asarray(class_index)[defined], n_classes)
