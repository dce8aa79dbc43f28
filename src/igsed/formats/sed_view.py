"""The SED view's table (rule sed_view), reader beside writer.

sed_view.csv: method, metric, value, ci_low, ci_high, n — one row per method of the run and
metric in SED_VIEW_METRICS (n: the test clips). A figure that is n/a is an empty cell.
Checked on reading against its writer's record (formats.handover) and for completeness.

sed_view_differences.csv: the same figures' paired differences, every method against IG and
against the best baseline on each metric, in the format of differences.csv
(formats.intervals) with the metrics of SED_VIEW_METRICS.
"""

from __future__ import annotations

import os

import pandas as pd

from igsed.formats.intervals import read_differences, write_differences
from igsed.formats.tables import (
    read_table,
    require_columns,
    require_complete,
    require_unique,
    write_csv,
)

SED_VIEW_METRICS: tuple[str, ...] = ("psds1", "segment_auroc", "collar_f1")
SED_VIEW_COLUMNS: tuple[str, ...] = ("method", "metric", "value", "ci_low", "ci_high", "n")


def write_sed_view(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """sed_view.csv, atomically (a figure that is n/a is an empty cell)."""
    require_columns(frame, SED_VIEW_COLUMNS, "sed_view table")
    write_csv(frame.loc[:, list(SED_VIEW_COLUMNS)], path)


def read_sed_view(path: str | os.PathLike[str]) -> pd.DataFrame:
    """sed_view.csv as written by `write_sed_view`, checked: its columns and metric names."""
    frame = read_table(path, dtype={"method": str, "metric": str})
    require_columns(frame, SED_VIEW_COLUMNS, path)
    unknown = sorted(set(frame["metric"]) - set(SED_VIEW_METRICS))
    if unknown:
        raise ValueError(f"{path}: unknown metrics {unknown}; expected {list(SED_VIEW_METRICS)}")
    require_unique(frame, ("method", "metric"), path)
    require_complete(frame, ("method",), "metric", len(SED_VIEW_METRICS), path)
    return frame


def write_sed_view_differences(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """sed_view_differences.csv atomically: differences.csv's format, the SED view's metrics."""
    write_differences(frame, path, metrics=SED_VIEW_METRICS)


def read_sed_view_differences(path: str | os.PathLike[str]) -> pd.DataFrame:
    """sed_view_differences.csv as written by `write_sed_view_differences`, checked."""
    return read_differences(path, metrics=SED_VIEW_METRICS)
