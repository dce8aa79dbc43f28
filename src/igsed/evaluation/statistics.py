"""Rule `statistics`: bootstrap confidence intervals of every test metric, and of differences.

Reads the per-instance test metrics the `evaluate` rule writes (instances_test.csv: IoU and
F1 at each method's tau*, Pointing Game, and the threshold-free metrics) and resamples the
test clips (igsed.core.statistics). Writes

- intervals.csv: method, metric, value, ci_low, ci_high, n (instances with a value);
- differences.csv: method, reference, metric, difference, ci_low, ci_high, excludes_zero,
  for every method against IG and against the best baseline on that metric (paired: the
  same clip draws for both).

Definitions and conventions: docs/metrics.md ("Confidence intervals").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from igsed.core.constants import CLASS_INDEX, N_CLASSES
from igsed.core.methods import METHOD_INFO, REFERENCE_METHOD
from igsed.core.statistics import (
    BootstrapSettings,
    InstanceValues,
    Interval,
    bootstrap_difference,
    bootstrap_macro,
    clip_draws,
)
from igsed.formats.manifest import read_clip_ids
from igsed.formats.tables import write_csv

logger = logging.getLogger(__name__)

# The per-instance columns of instances_test.csv that get intervals, in table order.
METRICS: tuple[str, ...] = ("iou", "f1", "pg", "auroc", "ap", "rma", "rra")


@dataclass(frozen=True)
class StatisticsJob:
    instances_csv: Path
    manifest: Path
    intervals_csv: Path
    differences_csv: Path


def _values(frame: pd.DataFrame, method: str, metric: str) -> InstanceValues:
    rows = frame[frame["method"] == method]
    return InstanceValues(
        values=pd.to_numeric(rows[metric], errors="coerce").to_numpy(dtype=np.float64),
        clip_ids=rows["clip_id"].astype(str).tolist(),
        class_index=np.array([CLASS_INDEX[c] for c in rows["class"]], dtype=np.int64),
    )


def _row(interval: Interval, **keys: Any) -> dict[str, Any]:
    return {
        **keys,
        "value": interval.value,
        "ci_low": interval.low,
        "ci_high": interval.high,
        "n": interval.n,
    }


def best_baseline(intervals: pd.DataFrame, metric: str, methods: Sequence[str]) -> str | None:
    """The baseline method with the highest value of `metric` (None if the run has none)."""
    baselines = [m for m in methods if METHOD_INFO.get(m) and METHOD_INFO[m].family == "baseline"]
    rows = intervals[(intervals["metric"] == metric) & intervals["method"].isin(baselines)]
    rows = rows.dropna(subset=["value"])
    return None if rows.empty else str(rows.sort_values("value").iloc[-1]["method"])


def _references(method: str, metric: str, intervals: pd.DataFrame, methods: list[str]) -> list[str]:
    references = []
    if method != REFERENCE_METHOD and REFERENCE_METHOD in methods:
        references.append(REFERENCE_METHOD)
    baseline = best_baseline(intervals, metric, methods)
    if baseline is not None and baseline not in (method, *references):
        references.append(baseline)
    return references


def statistics(job: StatisticsJob, settings: BootstrapSettings) -> dict[str, Any]:
    """Write intervals.csv and differences.csv (see the module docstring)."""
    frame = pd.read_csv(job.instances_csv, dtype={"clip_id": str})
    clip_ids = sorted(read_clip_ids(job.manifest, "test"))
    draws = clip_draws(clip_ids, settings)
    methods = list(dict.fromkeys(frame["method"].astype(str)))
    interval_rows = [
        _row(
            bootstrap_macro(_values(frame, m, metric), clip_ids, draws, settings.level, N_CLASSES),
            method=m,
            metric=metric,
        )
        for m in methods
        for metric in METRICS
    ]
    intervals = pd.DataFrame(interval_rows)
    difference_rows = []
    for method in methods:
        for metric in METRICS:
            for reference in _references(method, metric, intervals, methods):
                difference = bootstrap_difference(
                    _values(frame, method, metric),
                    _values(frame, reference, metric),
                    clip_ids,
                    draws,
                    settings.level,
                    N_CLASSES,
                )
                row = _row(difference, method=method, reference=reference, metric=metric)
                row["excludes_zero"] = difference.excludes_zero()
                difference_rows.append(row)
    differences = pd.DataFrame(
        difference_rows,
        columns=[
            "method",
            "reference",
            "metric",
            "value",
            "ci_low",
            "ci_high",
            "n",
            "excludes_zero",
        ],
    ).rename(columns={"value": "difference"})
    write_csv(intervals, job.intervals_csv)
    write_csv(differences, job.differences_csv)
    logger.info(
        "%d intervals and %d paired differences from %d resamples of %d test clips",
        len(intervals),
        len(differences),
        settings.n_resamples,
        len(clip_ids),
    )
    return {"intervals": len(intervals), "differences": len(differences)}
