"""Bootstrap intervals and paired differences (rule statistics), reader beside writer.

intervals.csv:   method, metric, value, ci_low, ci_high, n (instances with a value). For every
                 method of the evaluated instances, one row per metric of INSTANCE_METRICS,
                 one per metric of FAITHFULNESS_METRICS for the methods with faithfulness
                 areas, of ROBUSTNESS_METRICS for those with a robustness table and of
                 AGREEMENT_METRICS for those with a seed-agreement table (the sanity
                 subset). No row at all: the condition had no detected instances.
differences.csv: method, reference, metric, difference, ci_low, ci_high, n, excludes_zero;
                 one row per method, reference and metric. The SED view's paired
                 differences (formats.sed_view) are a table of this format.

A figure that is n/a is an empty cell. Both are checked on reading against their writer's
record (formats.handover), and the intervals for completeness (every metric of a method).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from igsed.formats.handover import damaged
from igsed.formats.tables import read_table, require_columns, require_unique, write_csv

# The per-instance metrics of the evaluate rule's instances_test.csv, in table order.
INSTANCE_METRICS: tuple[str, ...] = (
    "iou",
    "f1",
    "pg",
    "auroc",
    "ap",
    "rma",
    "rra",
    "gini",
    "entropy",
)
# The faithfulness rule's areas.
FAITHFULNESS_METRICS: tuple[str, ...] = (
    "deletion_morf",
    "insertion_morf",
    "deletion_lerf",
    "insertion_lerf",
)
# The sanity rule's robustness tables (formats.sanity), for the methods it checks.
ROBUSTNESS_METRICS: tuple[str, ...] = ("random_logit", "max_sensitivity")
# The agreement rule's seed-agreement tables (formats.sanity); head_spread is the heads' own
# and the same for every method, so it gets intervals but no paired differences.
AGREEMENT_METRICS: tuple[str, ...] = ("seed_agreement", "head_spread")
# Families of metrics that only some methods have: all of a family's metrics, or none.
OPTIONAL_FAMILIES: tuple[tuple[str, ...], ...] = (
    FAITHFULNESS_METRICS,
    ROBUSTNESS_METRICS,
    AGREEMENT_METRICS,
)
INTERVAL_COLUMNS: tuple[str, ...] = ("method", "metric", "value", "ci_low", "ci_high", "n")
DIFFERENCE_COLUMNS: tuple[str, ...] = (
    "method",
    "reference",
    "metric",
    "difference",
    "ci_low",
    "ci_high",
    "n",
    "excludes_zero",
)
_TEXT = {"method": str, "reference": str, "metric": str}


def _check_metrics(frame: pd.DataFrame, path: object, metrics: Sequence[str] = ()) -> None:
    allowed = list(metrics) or [*INSTANCE_METRICS, *(m for f in OPTIONAL_FAMILIES for m in f)]
    unknown = sorted(set(frame["metric"]) - set(allowed))
    if unknown:
        raise ValueError(f"{path}: unknown metrics {unknown}; expected some of {allowed}")


def _check_complete(frame: pd.DataFrame, path: object) -> None:
    """Every method has every instance metric, and of each optional family every metric or
    none."""
    for method, rows in frame.groupby("method", sort=False):
        metrics = set(rows["metric"])
        lacking = [m for m in INSTANCE_METRICS if m not in metrics]
        for family in OPTIONAL_FAMILIES:
            if metrics & set(family):
                lacking += [m for m in family if m not in metrics]
        if lacking:
            raise damaged(path, f"method {method} lacks the metrics {lacking}")


def write_intervals(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """intervals.csv atomically, with its record (no rows: a header line only)."""
    frame = frame.reindex(columns=list(INTERVAL_COLUMNS))
    _check_metrics(frame, "intervals table")
    write_csv(frame, path)


def read_intervals(path: str | os.PathLike[str]) -> pd.DataFrame:
    """intervals.csv as written by `write_intervals`, checked (see the module docstring)."""
    frame = read_table(path, dtype=_TEXT)
    require_columns(frame, INTERVAL_COLUMNS, path)
    frame = frame.loc[:, list(INTERVAL_COLUMNS)].astype(
        {"value": float, "ci_low": float, "ci_high": float}
    )
    _check_metrics(frame, path)
    require_unique(frame, ("method", "metric"), path)
    _check_complete(frame, path)
    return frame


def write_differences(
    frame: pd.DataFrame, path: str | os.PathLike[str], metrics: Sequence[str] = ()
) -> None:
    """differences.csv atomically, with its record (no rows: a header line only); `metrics`:
    the metric names allowed (default: INSTANCE_METRICS and those of OPTIONAL_FAMILIES)."""
    frame = frame.reindex(columns=list(DIFFERENCE_COLUMNS))
    _check_metrics(frame, "differences table", metrics)
    write_csv(frame, path)


def read_differences(path: str | os.PathLike[str], metrics: Sequence[str] = ()) -> pd.DataFrame:
    """A differences table as written by `write_differences` with the same `metrics`, checked."""
    frame = read_table(path, dtype=_TEXT)
    require_columns(frame, DIFFERENCE_COLUMNS, path)
    frame = frame.loc[:, list(DIFFERENCE_COLUMNS)].astype(
        {"difference": float, "ci_low": float, "ci_high": float}
    )
    _check_metrics(frame, path, metrics)
    require_unique(frame, ("method", "reference", "metric"), path)
    if not frame["excludes_zero"].isin([True, False]).all():
        raise damaged(path, "excludes_zero must be True or False")
    frame["excludes_zero"] = frame["excludes_zero"].astype(bool)
    return frame
