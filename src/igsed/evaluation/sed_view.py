"""Rule `sed_view`: every method's test frame scores, scored as a sound event detector's.

A DCASE reader judges a detector by its frame scores over all thresholds, not by percentile
masks. Here each method's frame scores of the classifier's detected (clip, class) instances
become a detector's scores: min-max normalised per instance (a constant row becomes 1 on
every frame) and multiplied by the clip probability; a class the classifier did not detect
in a clip scores 0 there. sed_scores_eval then gives

- `psds1`: PSDS with dtc = gtc = 0.7, alpha_ct = 0, alpha_st = 1, max_efpr = 100 per hour;
- `segment_auroc`: segment-based AUROC on 1 s segments, the mean over classes;
- `collar_f1`: collar-based F1 at each class's best threshold (onset collar 0.2 s, offset
  collar max(0.2 s, 0.2 x event length)), the mean over classes.

The classes scored are those with a ground-truth event in the test set (in a resample: in
the clips drawn), since sed_scores_eval's recall is undefined without one. Intervals resample
the test clips (clip draws, igsed.core.statistics.clip_draws); collar F1 keeps each class's
threshold of the test set itself, so its interval is the clips' variation at that threshold.
Every method is resampled with the same draws, so each figure also gets paired differences
against IG and against the best baseline (sed_view_differences.csv), as rule `statistics`
gives the per-instance metrics.
sed_scores_eval's per-clip statistics ("deltas") are computed once per method; a resample
sums them, weighted by how often each clip was drawn, and the figures follow from the sums
with vectorised equivalents of sed_scores_eval's formulas. The point value is
sed_scores_eval's own, and the vectorised path must reproduce it before any interval is
written. Definitions: docs/metrics.md.

A padded clip (a recordings condition's, whose manifest gives `valid_seconds`) enters as a
file of that duration: its score frames stop there (the last one at the end of the audio),
its detection scores are normalised over those frames, its ground truth is cut there, and
the eFPR of PSDS divides by the seconds of audio, of the test set or of each resample.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sed_scores_eval import collar_based, intersection_based, segment_based

from igsed.core.annotations import Event
from igsed.core.constants import CLASS_INDEX, CLIP_SECONDS, EVAL_FRAME_SECONDS, N_EVAL_FRAMES
from igsed.core.logs import Progress
from igsed.core.recording_windows import frames_in
from igsed.core.statistics import BootstrapSettings, Interval, clip_draws, percentile_interval
from igsed.evaluation.scores import PathLike, ShardSet, checked_row, load_method_scores
from igsed.evaluation.statistics import references
from igsed.formats.instances import Instance, read_instances
from igsed.formats.manifest import events_by_clip, read_clip_ids, read_events, read_valid_seconds
from igsed.formats.sed_view import (
    SED_VIEW_COLUMNS,
    SED_VIEW_METRICS,
    write_sed_view,
    write_sed_view_differences,
)
from igsed.formats.shards import ClipScores

logger = logging.getLogger(__name__)

METRICS: tuple[str, ...] = SED_VIEW_METRICS
# Frame i of sed_scores_eval's score frames is [0.1 i, 0.1 (i + 1)) s: the evaluation grid,
# rounded to the package's 6 time decimals.
FRAME_TIMES = np.round(np.arange(N_EVAL_FRAMES + 1) * EVAL_FRAME_SECONDS, 6)
# How closely the vectorised figures must reproduce sed_scores_eval's on the test set itself.
AGREEMENT_TOLERANCE = 1e-9
# Resamples summed at a time: bounds the (resamples, unique scores) arrays of one class.
RESAMPLE_BLOCK = 250
SECONDS_PER_HOUR = 3600.0

# A clip's ground truth as sed_scores_eval takes it: (onset, offset, label) tuples.
GroundTruth = list[tuple[float, float, str]]
# sed_scores_eval's deltas of one metric: clip -> class -> (change-point scores, statistic ->
# its change when the threshold falls below each change point).
Deltas = Mapping[str, Mapping[str, tuple[np.ndarray, Mapping[str, np.ndarray]]]]
# Seconds of audio per clip; None: every clip is CLIP_SECONDS long.
Durations = Mapping[str, float] | None


@dataclass(frozen=True)
class SedViewSettings:
    """Config `metrics.sed_view`: the DCASE settings of the three figures."""

    dtc_threshold: float = 0.7
    gtc_threshold: float = 0.7
    alpha_ct: float = 0.0
    alpha_st: float = 1.0
    max_efpr: float = 100.0
    segment_length_s: float = 1.0
    onset_collar_s: float = 0.2
    offset_collar_rate: float = 0.2

    def __post_init__(self) -> None:
        if self.alpha_ct != 0.0:
            raise ValueError(
                f"metrics.sed_view.psds.alpha_ct = {self.alpha_ct}: only 0 is supported, since "
                "cross-triggers need a cross-trigger tolerance (cttc) threshold, which the "
                "config does not offer"
            )
        if self.max_efpr <= 0 or self.segment_length_s <= 0:
            raise ValueError("metrics.sed_view: max_efpr and segment_length_s must be > 0")

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> SedViewSettings:
        psds = section["psds"]
        return cls(
            dtc_threshold=float(psds["dtc_threshold"]),
            gtc_threshold=float(psds["gtc_threshold"]),
            alpha_ct=float(psds["alpha_ct"]),
            alpha_st=float(psds["alpha_st"]),
            max_efpr=float(psds["max_efpr"]),
            segment_length_s=float(section["segment_length_s"]),
            onset_collar_s=float(section["onset_collar_s"]),
            offset_collar_rate=float(section["offset_collar_rate"]),
        )


@dataclass(frozen=True)
class SedViewJob:
    """What `sed_view` reads and writes: the run's shards (only the test ones are read), the
    test instances, the split's manifest and events; sed_view.csv and its paired differences."""

    shards: ShardSet
    instances: Path
    manifest: Path
    events: Path
    output: Path
    differences: Path


def sed_view_shards(
    plan: Mapping[str, Mapping[str, Sequence[PathLike]]],
    method_params: Mapping[str, Mapping[str, Any]],
    instances: PathLike,
    models: Mapping[str, PathLike],
) -> ShardSet:
    """Every method's test shards (methods in plan order), expected to be made with this run's
    models (by role), method parameters and test instances."""
    test_paths = {method: {"test": list(plan[method].get("test", []))} for method in plan}
    return ShardSet.for_run(
        test_paths, models=models, method_params=method_params, instances={"test": instances}
    )


def detection_scores(scores: np.ndarray, probability: float) -> np.ndarray:
    """One instance's frame scores as a detector's: min-max normalised, times the clip
    probability.

    Attributions have no common scale across instances or methods; normalising puts each
    instance on [0, 1], and the probability then ranks instances across clips as the
    classifier does. A constant row carries no timing: it becomes the probability on every
    frame (the whole clip is detected, as a percentile mask of constant scores is every frame).
    """
    scores = np.asarray(scores, dtype=np.float64)
    low, high = float(scores.min()), float(scores.max())
    unit = (scores - low) / (high - low) if high > low else np.ones_like(scores)
    return float(probability) * unit


def score_frame(
    rows: Mapping[str, np.ndarray], classes: Sequence[str], duration: float = CLIP_SECONDS
) -> pd.DataFrame:
    """A clip's sed_scores_eval score frame: onset, offset and one column per class of
    `classes`, `rows[class]` where given, else 0 (an undetected class). A clip of
    `duration` < 10 s has the frames that start before it, the last ending there.

    The scores are float32, as the shards store them: under pandas 3's copy-on-write a
    float64 frame hands sed_scores_eval a read-only view, which its Cython detection code
    rejects, while float32 columns are converted, hence copied, to float64 there.
    """
    n_frames = frames_in(duration)
    values = np.zeros((n_frames, len(classes)), dtype=np.float32)
    for column, name in enumerate(classes):
        if name in rows:
            values[:, column] = np.asarray(rows[name])[:n_frames]
    edges = FRAME_TIMES[: n_frames + 1].copy()
    edges[-1] = round(duration, 6)
    times = pd.DataFrame({"onset": edges[:-1], "offset": edges[1:]})
    return pd.concat([times, pd.DataFrame(values, columns=list(classes))], axis=1)


def _merged_spans(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for onset, offset in sorted(spans):
        if offset <= onset:
            continue
        if merged and onset <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], offset)
        else:
            merged.append([onset, offset])
    return [(onset, offset) for onset, offset in merged]


def ground_truth_events(events: Iterable[Event], duration: float = CLIP_SECONDS) -> GroundTruth:
    """One clip's ground truth for sed_scores_eval: events cut to the clip's `duration`, and
    overlapping or touching events of one class merged into one (the package refuses them;
    the frame ground truth counts their union as active too)."""
    events = list(events)
    truth: GroundTruth = []
    for label in sorted({e.label for e in events}, key=CLASS_INDEX.__getitem__):
        spans = [(max(e.onset, 0.0), min(e.offset, duration)) for e in events if e.label == label]
        truth += [(onset, offset, label) for onset, offset in _merged_spans(spans)]
    return truth


def scored_classes(truths: Iterable[GroundTruth]) -> list[str]:
    """The classes with at least one ground-truth event, in class order."""
    labels = {label for truth in truths for _, _, label in truth}
    return sorted(labels, key=CLASS_INDEX.__getitem__)


def read_ground_truth(
    events: PathLike, clip_ids: Sequence[str], durations: Durations = None
) -> dict[str, GroundTruth]:
    """Every test clip's ground truth (an empty list for a clip without events)."""
    by_clip = events_by_clip(read_events(events))
    return {
        clip_id: ground_truth_events(by_clip.get(clip_id, []), _duration(durations, clip_id))
        for clip_id in clip_ids
    }


def _duration(durations: Durations, clip_id: str) -> float:
    return CLIP_SECONDS if durations is None else float(durations[clip_id])


def _all_durations(durations: Durations, clip_ids: Iterable[str]) -> dict[str, float]:
    return {clip_id: _duration(durations, clip_id) for clip_id in clip_ids}


def method_frames(
    clips: Mapping[str, ClipScores],
    detections: Sequence[Instance],
    classes: Sequence[str],
    method: str,
    durations: Durations = None,
) -> dict[str, pd.DataFrame]:
    """One method's score frame of every clip: the detected instances of `classes` scored by
    `detection_scores` on the clip's frames that hold audio, 0 elsewhere."""
    rows: dict[str, dict[str, np.ndarray]] = {clip_id: {} for clip_id in clips}
    for detection in detections:
        if detection.class_name in classes:
            scores = checked_row(clips[detection.clip_id], detection.class_name, method)
            valid = frames_in(_duration(durations, detection.clip_id))
            rows[detection.clip_id][detection.class_name] = detection_scores(
                scores[:valid], detection.probability
            )
    return {
        clip_id: score_frame(clip_rows, classes, _duration(durations, clip_id))
        for clip_id, clip_rows in rows.items()
    }


def metric_deltas(
    frames: Mapping[str, pd.DataFrame],
    truth: Mapping[str, GroundTruth],
    settings: SedViewSettings,
    durations: Durations = None,
) -> dict[str, Deltas]:
    """sed_scores_eval's per-clip statistics (deltas) of each figure, by metric name."""
    durations = _all_durations(durations, frames)
    return {
        "psds1": intersection_based.intermediate_statistics_deltas(
            dict(frames),
            dict(truth),
            dtc_threshold=settings.dtc_threshold,
            gtc_threshold=settings.gtc_threshold,
        ),
        "segment_auroc": segment_based.intermediate_statistics_deltas(
            dict(frames), dict(truth), durations, segment_length=settings.segment_length_s
        ),
        "collar_f1": collar_based.intermediate_statistics_deltas(
            dict(frames),
            dict(truth),
            onset_collar=settings.onset_collar_s,
            offset_collar=settings.onset_collar_s,
            offset_collar_rate=settings.offset_collar_rate,
        ),
    }


def _drawn_ids(clip_ids: Sequence[str], counts: np.ndarray | None) -> dict[str, str]:
    """sed_scores_eval id -> clip id; a clip drawn k times enters as "<id>#1" ... "<id>#k"."""
    if counts is None:
        return {clip_id: clip_id for clip_id in clip_ids}
    return {
        f"{clip_id}#{copy}": clip_id
        for clip_id, count in zip(clip_ids, counts, strict=True)
        for copy in range(1, int(count) + 1)
    }


def package_values(
    deltas: Mapping[str, Deltas],
    truth: Mapping[str, GroundTruth],
    settings: SedViewSettings,
    counts: np.ndarray | None = None,
    durations: Durations = None,
) -> dict[str, float]:
    """The three figures as sed_scores_eval computes them from `deltas`, on every clip of
    `truth` once, or on each clip as often as `counts` (aligned with `truth`'s clips) says."""
    ids = _drawn_ids(list(truth), counts)
    classes = scored_classes(truth[clip_id] for clip_id in set(ids.values()))
    if not classes:
        return dict.fromkeys(METRICS, math.nan)
    drawn = {
        metric: {new: {c: deltas[metric][old][c] for c in classes} for new, old in ids.items()}
        for metric in METRICS
    }
    return _package_figures(
        drawn,
        {new: truth[old] for new, old in ids.items()},
        settings,
        {new: _duration(durations, old) for new, old in ids.items()},
    )


def _package_figures(
    deltas: Mapping[str, Deltas],
    truth: Mapping[str, GroundTruth],
    settings: SedViewSettings,
    durations: Mapping[str, float],
) -> dict[str, float]:
    psds = intersection_based.psds(
        None,
        dict(truth),
        durations,
        deltas=deltas["psds1"],
        dtc_threshold=settings.dtc_threshold,
        gtc_threshold=settings.gtc_threshold,
        alpha_ct=settings.alpha_ct,
        alpha_st=settings.alpha_st,
        max_efpr=settings.max_efpr,
    )[0]
    auroc = segment_based.auroc(
        None,
        dict(truth),
        durations,
        deltas=deltas["segment_auroc"],
        segment_length=settings.segment_length_s,
    )[0]["mean"]
    f1 = collar_based.best_fscore(
        None,
        dict(truth),
        deltas=deltas["collar_f1"],
        onset_collar=settings.onset_collar_s,
        offset_collar=settings.onset_collar_s,
        offset_collar_rate=settings.offset_collar_rate,
    )[0]["macro_average"]
    return {"psds1": float(psds), "segment_auroc": float(auroc), "collar_f1": float(f1)}


@dataclass(frozen=True)
class ClassDeltas:
    """One figure's deltas of one class on the union of every clip's change points: row j
    holds clip j's change of each statistic when the threshold falls below each score, so a
    weighted sum of rows is the deltas of a resample."""

    tps: np.ndarray  # (n_clips, n_scores)
    fps: np.ndarray  # (n_clips, n_scores)

    @classmethod
    def of(cls, deltas: Deltas, clip_ids: Sequence[str], class_name: str) -> ClassDeltas:
        points = [np.asarray(deltas[c][class_name][0], dtype=np.float64) for c in clip_ids]
        scores, column = np.unique(np.concatenate(points), return_inverse=True)
        row = np.repeat(np.arange(len(clip_ids)), [p.size for p in points])
        tables = {}
        for key in ("tps", "fps"):
            values = [np.asarray(deltas[c][class_name][1][key], dtype=np.float64) for c in clip_ids]
            tables[key] = np.zeros((len(clip_ids), scores.size))
            np.add.at(tables[key], (row, column), np.concatenate(values))
        return cls(tables["tps"], tables["fps"])

    def accumulated(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(resamples, n_scores + 1) true and false positive counts under each row of clip
        weights, at each threshold from the lowest score (all detected) to +inf (none), as
        sed_scores_eval accumulates them."""
        out = []
        for table in (self.tps, self.fps):
            per_score = weights @ table
            totals = np.cumsum(per_score[:, ::-1], axis=1)[:, ::-1]
            out.append(np.concatenate([totals, np.zeros((len(weights), 1))], axis=1))
        return out[0], out[1]


def _class_mean(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(R,) mean over the classes present in each resample; a NaN of a present class stays."""
    total = np.where(present, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / present.sum(axis=1)


def _f1(tps: np.ndarray, fps: np.ndarray, n_events: np.ndarray) -> np.ndarray:
    """(R, thresholds) F1 = 2 TP / (TP + FP + N_ref), sed_scores_eval's precision-recall F1
    with precision 1 when nothing is detected."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return 2 * tps / (tps + fps + n_events[:, None])


def _f1_at(tps: np.ndarray, fps: np.ndarray, n_events: np.ndarray, index: int) -> np.ndarray:
    """(R,) F1 at one threshold (the test set's best), so resamples vary the clips only."""
    return _f1(tps, fps, n_events)[:, index]


def _auroc(tps: np.ndarray, fps: np.ndarray) -> np.ndarray:
    """(R,) trapezoid area under the segment ROC. Segment counts only grow as the threshold
    falls, so the thresholds' order is the curve's; NaN without positive or negative segments
    (as in sed_scores_eval)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr, fpr = tps / tps[:, :1], fps / fps[:, :1]
    return 0.5 * np.sum((fpr[:, :-1] - fpr[:, 1:]) * (tpr[:, :-1] + tpr[:, 1:]), axis=1)


def _psd_tpr(tps: np.ndarray, fps: np.ndarray, n_events: np.ndarray, max_fp: int) -> np.ndarray:
    """(R, max_fp + 1) a class's PSD-ROC TPR at 0, 1, ..., max_fp false positives: the best
    TPR of any threshold with at most that many, as sed_scores_eval's cumulative maximum over
    the eFPR-sorted curve gives it (intersection counts need not grow with the threshold)."""
    best = np.zeros((tps.shape[0], max_fp + 1))
    fp_count = np.rint(fps).astype(np.int64)
    rows, columns = np.nonzero(fp_count <= max_fp)
    np.maximum.at(best, (rows, fp_count[rows, columns]), tps[rows, columns])
    return np.maximum.accumulate(best, axis=1) / np.maximum(n_events, 1)[:, None]


def efpr_grid(n_clips: int, max_efpr: float) -> np.ndarray:
    """The eFPR (per hour) of 0, 1, 2, ... false positives on `n_clips` clips, up to max_efpr.
    Every resample holds as many clips as the test set, so one grid serves them all."""
    duration = n_clips * CLIP_SECONDS
    counts = np.arange(int(math.ceil(max_efpr * duration / SECONDS_PER_HOUR)) + 2)
    rates = counts / duration * SECONDS_PER_HOUR
    return rates[rates <= max_efpr]


def efpr_widths(seconds: np.ndarray, max_efpr: float) -> np.ndarray:
    """(R, K) the width, on the eFPR axis (per hour) up to max_efpr, of the step of k = 0,
    1, ..., K - 1 false positives in resample r of `seconds[r]` seconds of audio (0 past
    max_efpr): `efpr_grid`'s steps when the resamples' durations differ."""
    seconds = np.asarray(seconds, dtype=np.float64).reshape(-1)
    counts = np.arange(int(math.ceil(max_efpr * seconds.max() / SECONDS_PER_HOUR)) + 2)
    rates = counts[None, :] / seconds[:, None] * SECONDS_PER_HOUR
    return np.clip(np.minimum(rates[:, 1:], max_efpr) - rates[:, :-1], 0.0, None)


def _psds(
    tpr: np.ndarray, present: np.ndarray, widths: np.ndarray, settings: SedViewSettings
) -> np.ndarray:
    """(R,) PSDS from the classes' TPR (R, classes, steps): the area under the mean minus
    alpha_st std (over the present classes) of the TPR, a step function of the eFPR with
    steps of `widths` ((steps,), or (R, steps) per resample), up to max_efpr, over
    max_efpr."""
    with np.errstate(invalid="ignore", divide="ignore"):
        share = present / present.sum(axis=1, keepdims=True)
    mean = np.einsum("rc,rck->rk", share, tpr)
    spread = np.sqrt(np.einsum("rc,rck->rk", share, (tpr - mean[:, None, :]) ** 2))
    effective = np.maximum(mean - settings.alpha_st * spread, 0.0)
    if widths.ndim == 1:
        return effective @ widths / settings.max_efpr
    return np.einsum("rk,rk->r", effective, widths) / settings.max_efpr


def _best_thresholds(tables: Mapping[str, ClassDeltas], n_events: np.ndarray) -> dict[str, int]:
    """Each class's threshold index of the best collar F1 on the test set itself."""
    ones = np.ones((1, n_events.shape[0]))
    totals = ones @ n_events
    return {
        c: int(np.nanargmax(np.nan_to_num(_f1(*t.accumulated(ones), totals[:, k]), nan=-1.0)))
        for k, (c, t) in enumerate(tables.items())
    }


def _block_values(
    tables: Mapping[str, Mapping[str, ClassDeltas]],
    weights: np.ndarray,
    n_events: np.ndarray,
    best: Mapping[str, int],
    settings: SedViewSettings,
    seconds: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The figures of a block of resamples; `seconds` (clips,) of audio per clip, None when
    every clip is whole (one eFPR grid then serves every resample)."""
    present = n_events > 0
    if seconds is None:
        grid = efpr_grid(weights.shape[1], settings.max_efpr)
        widths = np.diff(np.append(grid, settings.max_efpr))
    else:
        widths = efpr_widths(weights @ seconds, settings.max_efpr)
    curves = [t.accumulated(weights) for t in tables["psds1"].values()]
    max_fp = widths.shape[-1] - 1
    tpr = [_psd_tpr(tp, fp, n_events[:, k], max_fp) for k, (tp, fp) in enumerate(curves)]
    aurocs = [_auroc(*t.accumulated(weights)) for t in tables["segment_auroc"].values()]
    f1s = [
        _f1_at(*t.accumulated(weights), n_events[:, k], best[c])
        for k, (c, t) in enumerate(tables["collar_f1"].items())
    ]
    return {
        "psds1": _psds(np.stack(tpr, axis=1), present, widths, settings),
        "segment_auroc": _class_mean(np.stack(aurocs, axis=1), present),
        "collar_f1": _class_mean(np.stack(f1s, axis=1), present),
    }


def resampled_values(
    deltas: Mapping[str, Deltas],
    truth: Mapping[str, GroundTruth],
    weights: np.ndarray,
    settings: SedViewSettings,
    durations: Durations = None,
) -> dict[str, np.ndarray]:
    """Each figure under each row of `weights` (resamples, clips of `truth`): how often each
    clip is drawn. The classes of a resample are those with an event in its drawn clips."""
    clip_ids = list(truth)
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if not np.all(weights.sum(axis=1) == len(clip_ids)):
        raise ValueError("every resample must draw as many clips as the test set holds")
    classes = scored_classes(truth.values())
    if not classes:
        return {metric: np.full(len(weights), math.nan) for metric in METRICS}
    events = np.array([[sum(e[2] == c for e in truth[i]) for c in classes] for i in clip_ids])
    tables = {m: {c: ClassDeltas.of(deltas[m], clip_ids, c) for c in classes} for m in METRICS}
    best = _best_thresholds(tables["collar_f1"], events)
    seconds = np.array([_duration(durations, c) for c in clip_ids])
    whole = bool(np.all(seconds == CLIP_SECONDS))
    blocks = [
        _block_values(tables, block, block @ events, best, settings, None if whole else seconds)
        for block in np.split(weights, range(RESAMPLE_BLOCK, len(weights), RESAMPLE_BLOCK))
    ]
    return {m: np.concatenate([b[m] for b in blocks]) for m in METRICS}


def _require_agreement(method: str, point: Mapping[str, float], own: Mapping[str, float]) -> None:
    for metric in METRICS:
        mine, theirs = own[metric], point[metric]
        if math.isnan(theirs) and math.isnan(mine):
            continue
        if not abs(mine - theirs) <= AGREEMENT_TOLERANCE:
            raise RuntimeError(
                f"{method} {metric}: resampled statistics give {mine!r} on the test set, "
                f"sed_scores_eval {theirs!r}; the intervals would not be of the reported figure"
            )


@dataclass(frozen=True)
class MethodFigures:
    """One method's figures on the test set (`point`) and under each resample of the clip
    draws (`resampled`, one value per draw); `n`: the test clips."""

    point: Mapping[str, float]
    resampled: Mapping[str, np.ndarray]
    n: int

    def interval(self, metric: str, level: float) -> Interval:
        return percentile_interval(self.point[metric], self.resampled[metric], level, self.n)


def method_figures(
    method: str,
    frames: Mapping[str, pd.DataFrame],
    truth: Mapping[str, GroundTruth],
    draws: np.ndarray,
    settings: SedViewSettings,
    durations: Durations = None,
) -> MethodFigures:
    """Each figure of one method on the test set and under the clip `draws` (aligned with
    `truth`'s clips); NaN when the test set has no ground-truth event."""
    n = len(truth)
    if not scored_classes(truth.values()):
        nan = np.full(len(draws), math.nan)
        return MethodFigures(dict.fromkeys(METRICS, math.nan), dict.fromkeys(METRICS, nan), n)
    deltas = metric_deltas(frames, truth, settings, durations)
    point = package_values(deltas, truth, settings, durations=durations)
    # The test set itself (every clip once) goes first, to check against sed_scores_eval.
    weights = np.vstack([np.ones((1, n)), draws])
    values = resampled_values(deltas, truth, weights, settings, durations)
    _require_agreement(method, point, {m: float(v[0]) for m, v in values.items()})
    return MethodFigures(
        {m: float(point[m]) for m in METRICS}, {m: values[m][1:] for m in METRICS}, n
    )


def paired_differences(
    figures: Mapping[str, MethodFigures], table: pd.DataFrame, level: float
) -> pd.DataFrame:
    """Every method minus IG and minus the best baseline (by `table`, sed_view.csv's rows) on
    each figure, its interval over the same resamples for both (differences.csv's columns)."""
    methods = list(figures)
    rows = []
    for method in methods:
        for metric in METRICS:
            for reference in references(method, metric, table, methods):
                ours, theirs = figures[method], figures[reference]
                interval = percentile_interval(
                    ours.point[metric] - theirs.point[metric],
                    ours.resampled[metric] - theirs.resampled[metric],
                    level,
                    ours.n,
                )
                rows.append(
                    {
                        **_row(method, metric, interval),
                        "reference": reference,
                        "excludes_zero": interval.excludes_zero(),
                    }
                )
    frame = pd.DataFrame(rows, columns=[*SED_VIEW_COLUMNS, "reference", "excludes_zero"])
    return frame.rename(columns={"value": "difference"})


def _test_detections(path: Path, clip_ids: Sequence[str]) -> list[Instance]:
    detections = read_instances(path)
    unknown = sorted({d.clip_id for d in detections} - set(clip_ids))
    if unknown:
        raise ValueError(f"{path}: clips not in the test split: {unknown}")
    return detections


def sed_view(
    job: SedViewJob, settings: SedViewSettings, bootstrap: BootstrapSettings
) -> pd.DataFrame:
    """Write sed_view.csv: each method's three figures with their intervals (see the module
    docstring), one row per method and metric, methods in the order of `job.shards`; and
    sed_view_differences.csv: each figure's paired differences against IG and the best
    baseline."""
    clip_ids = sorted(read_clip_ids(job.manifest, "test"))
    if not clip_ids:
        raise ValueError(f"{job.manifest}: no test clips")
    job.shards.require_current(splits=("test",))
    detections = _test_detections(job.instances, clip_ids)
    valid = read_valid_seconds(job.manifest)
    durations = {clip_id: valid[clip_id] for clip_id in clip_ids}
    truth = read_ground_truth(job.events, clip_ids, durations)
    classes = scored_classes(truth.values())
    draws = clip_draws(clip_ids, bootstrap)
    figures = {}
    progress = Progress(logger, "sed_view: methods scored", len(job.shards.methods), every_s=0)
    for number, method in enumerate(job.shards.methods, start=1):
        started = time.monotonic()
        clips = load_method_scores(job.shards.of(method, "test"), method, "test", clip_ids).clips
        frames = method_frames(clips, detections, classes, method, durations)
        figures[method] = method_figures(method, frames, truth, draws, settings, durations)
        logger.info("%s: %.1f s", method, time.monotonic() - started)
        progress.update(number)
    rows = [
        _row(method, metric, found.interval(metric, bootstrap.level))
        for method, found in figures.items()
        for metric in METRICS
    ]
    frame = pd.DataFrame(rows, columns=list(SED_VIEW_COLUMNS))
    write_sed_view(frame, job.output)
    write_sed_view_differences(paired_differences(figures, frame, bootstrap.level), job.differences)
    return frame


def _row(method: str, metric: str, interval: Interval) -> dict[str, Any]:
    return {
        "method": method,
        "metric": metric,
        "value": interval.value,
        "ci_low": interval.low,
        "ci_high": interval.high,
        "n": interval.n,
    }
