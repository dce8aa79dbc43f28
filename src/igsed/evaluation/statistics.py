"""Rule `statistics`: bootstrap confidence intervals of every test metric, and of differences.

Reads the per-instance test metrics the `evaluate` rule writes (instances_test.csv: IoU and
F1 at each method's tau*, Pointing Game, and the threshold-free metrics), the
`faithfulness` rule's areas under the deletion and insertion curves, the `sanity` rule's
robustness tables (random-logit, max-sensitivity on its subset) and the `agreement` rule's
seed-agreement tables (on the same subset), and resamples the
test clips as `metrics.bootstrap.resampling` says (igsed.core.statistics: by default the
wild cluster bootstrap, which keeps every class in every resample). Writes

- intervals.csv: method, metric, value, ci_low, ci_high, n (instances with a value);
- differences.csv: method, reference, metric, difference, ci_low, ci_high, excludes_zero,
  for every method against IG and against the best baseline on that metric (paired: the
  same resamples for both; "best" is the lowest value where lower is better); none for
  head_spread, which is the heads' own and the same for every method.

Definitions and conventions: docs/metrics.md ("Confidence intervals").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from igsed.core.constants import CLASS_INDEX, N_CLASSES
from igsed.core.methods import METHOD_INFO, REFERENCE_METHOD
from igsed.core.statistics import (
    BootstrapSettings,
    Bounds,
    InstanceValues,
    Interval,
    Resamples,
    macro_difference,
    macro_interval,
    resample,
)
from igsed.formats.faithfulness import read_areas
from igsed.formats.intervals import (
    AGREEMENT_METRICS,
    FAITHFULNESS_METRICS,
    INSTANCE_METRICS,
    ROBUSTNESS_METRICS,
    write_differences,
    write_intervals,
)
from igsed.formats.manifest import read_clip_ids
from igsed.formats.sanity import read_agreement, read_robustness
from igsed.formats.tables import read_table

logger = logging.getLogger(__name__)

# The per-instance columns of instances_test.csv that get intervals, in table order, and
# (FAITHFULNESS_METRICS) the columns of the faithfulness rule's areas.csv that do.
METRICS: tuple[str, ...] = INSTANCE_METRICS
# A faithful method's MoRF deletion curve falls fast (small area) and its LeRF insertion
# curve rises late (small area); a concentrated map has a low entropy; for every other
# metric higher is better.
# A robust, class-sensitive method changes little under small noise and gives another map
# for another class: lower is better for both robustness metrics. Heads that differ less
# agree more.
LOWER_IS_BETTER: frozenset[str] = frozenset(
    {"deletion_morf", "insertion_lerf", "entropy", "head_spread", *ROBUSTNESS_METRICS}
)
# Metrics whose values do not depend on the method: intervals, no paired differences.
METHOD_INDEPENDENT: frozenset[str] = frozenset({"head_spread"})
# The range of each metric's values, which its intervals keep to: every per-instance metric
# is a share or a score in [0, 1]; a faithfulness area (divided by the unmasked
# probability) is >= 0 with no upper bound.
METRIC_BOUNDS: dict[str, Bounds] = {
    **dict.fromkeys(METRICS, (0.0, 1.0)),
    **dict.fromkeys(FAITHFULNESS_METRICS, (0.0, np.inf)),
    "random_logit": (-1.0, 1.0),
    "max_sensitivity": (0.0, np.inf),
    "seed_agreement": (-1.0, 1.0),
    "head_spread": (0.0, 1.0),
}


@dataclass(frozen=True)
class StatisticsJob:
    instances_csv: Path
    manifest: Path
    # The faithfulness rule's areas.csv by method (methods without one get no such rows).
    faithfulness: Mapping[str, Path]
    intervals_csv: Path
    differences_csv: Path
    # The sanity rule's robustness tables by method (the sanity subset; others: no rows).
    robustness: Mapping[str, Path] = field(default_factory=dict)
    # The agreement rule's seed-agreement tables by method (the same subset; others: no rows).
    agreement: Mapping[str, Path] = field(default_factory=dict)


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
    """The baseline method with the best value of `metric` (None if the run has none)."""
    baselines = [m for m in methods if METHOD_INFO.get(m) and METHOD_INFO[m].family == "baseline"]
    rows = intervals[(intervals["metric"] == metric) & intervals["method"].isin(baselines)]
    rows = rows.dropna(subset=["value"]).sort_values("value", kind="stable")
    if rows.empty:
        return None
    return str(rows.iloc[0 if metric in LOWER_IS_BETTER else -1]["method"])


def references(
    method: str, metric: str, intervals: pd.DataFrame, methods: Sequence[str]
) -> list[str]:
    """What `method` is compared with on `metric`: IG, then the best baseline (neither itself)."""
    references = []
    if method != REFERENCE_METHOD and REFERENCE_METHOD in methods:
        references.append(REFERENCE_METHOD)
    baseline = best_baseline(intervals, metric, methods)
    if baseline is not None and baseline not in (method, *references):
        references.append(baseline)
    return references


def _per_method_frame(
    paths: Mapping[str, Path],
    read: Callable[[Path], pd.DataFrame],
    metrics: Sequence[str],
) -> pd.DataFrame:
    """One per-instance table of each method (`read` checks it), stacked with a method
    column; the bare columns when no method has one."""
    frames = [read(path).assign(method=method) for method, path in paths.items()]
    if not frames:
        return pd.DataFrame(columns=["method", "clip_id", "class", *metrics])
    return pd.concat(frames, ignore_index=True)


def _metric_frames(job: StatisticsJob) -> list[tuple[pd.DataFrame, tuple[str, ...]]]:
    """Each per-instance table beside the metrics it holds."""
    instances = read_table(job.instances_csv, dtype={"clip_id": str, "method": str})
    return [
        (instances, METRICS),
        (
            _per_method_frame(job.faithfulness, read_areas, FAITHFULNESS_METRICS),
            FAITHFULNESS_METRICS,
        ),
        (
            _per_method_frame(job.robustness, read_robustness, ROBUSTNESS_METRICS),
            ROBUSTNESS_METRICS,
        ),
        (
            _per_method_frame(job.agreement, read_agreement, AGREEMENT_METRICS),
            AGREEMENT_METRICS,
        ),
    ]


def _differences(
    tables: list[tuple[pd.DataFrame, tuple[str, ...]]],
    intervals: pd.DataFrame,
    methods: list[str],
    resamples: Resamples,
) -> pd.DataFrame:
    rows = []
    for frame, metrics in tables:
        present = set(frame["method"].astype(str))
        for method in (m for m in methods if m in present):
            for metric in (m for m in metrics if m not in METHOD_INDEPENDENT):
                for reference in references(method, metric, intervals, methods):
                    if reference not in present:
                        continue
                    difference = macro_difference(
                        _values(frame, method, metric),
                        _values(frame, reference, metric),
                        resamples,
                        N_CLASSES,
                        METRIC_BOUNDS[metric],
                    )
                    row = _row(difference, method=method, reference=reference, metric=metric)
                    row["excludes_zero"] = difference.excludes_zero()
                    rows.append(row)
    columns = ["method", "reference", "metric", "value", "ci_low", "ci_high", "n"]
    return pd.DataFrame(rows, columns=[*columns, "excludes_zero"]).rename(
        columns={"value": "difference"}
    )


def statistics(job: StatisticsJob, settings: BootstrapSettings) -> dict[str, Any]:
    """Write intervals.csv and differences.csv (see the module docstring)."""
    tables = _metric_frames(job)
    clip_ids = sorted(read_clip_ids(job.manifest, "test"))
    resamples = resample(clip_ids, settings)
    methods = list(dict.fromkeys(tables[0][0]["method"].astype(str)))
    # No detected instances (no method has a row) is a result: tables with their header only.
    intervals = pd.DataFrame(
        [
            _row(
                macro_interval(
                    _values(frame, m, metric), resamples, N_CLASSES, METRIC_BOUNDS[metric]
                ),
                method=m,
                metric=metric,
            )
            for frame, metrics in tables
            for m in methods
            if m in set(frame["method"].astype(str))
            for metric in metrics
        ],
        columns=["method", "metric", "value", "ci_low", "ci_high", "n"],
    )
    differences = _differences(tables, intervals, methods, resamples)
    write_intervals(intervals, job.intervals_csv)
    write_differences(differences, job.differences_csv)
    logger.info(
        "%d intervals and %d paired differences from %d %s resamples of %d test clips",
        len(intervals),
        len(differences),
        settings.n_resamples,
        settings.resampling,
        len(clip_ids),
    )
    return {"intervals": len(intervals), "differences": len(differences)}
