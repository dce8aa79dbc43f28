"""The cross-condition table (rule conditions), reader beside writer.

conditions.csv: condition, snr_db_low, snr_db_high, n_events_low, n_events_high, ref_db,
soundbank, test_clips, method, metric, value, ci_low, ci_high, n. One row per condition,
method and metric of CONDITION_METRICS; value, ci_low, ci_high and n as in that
condition's intervals.csv (n: the instances). Rows in the table's condition order (by SNR),
then the order of attribution.run. A figure that is n/a is an empty cell. Checked on reading
against its writer's record (formats.handover) and for completeness.
"""

from __future__ import annotations

import os

import pandas as pd

from igsed.formats.tables import (
    read_table,
    require_columns,
    require_complete,
    require_unique,
    write_csv,
)

# Table II's figures and the threshold-free AUROC and AP: what a condition changes.
CONDITION_METRICS: tuple[str, ...] = ("iou", "f1", "pg", "auroc", "ap")
CONDITION_COLUMNS: tuple[str, ...] = (
    "condition",
    "snr_db_low",
    "snr_db_high",
    "n_events_low",
    "n_events_high",
    "ref_db",
    "soundbank",
    "test_clips",
    "method",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
)
_TEXT = {"condition": str, "soundbank": str, "method": str, "metric": str}


def write_conditions_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """conditions.csv, atomically, in the row order given."""
    require_columns(frame, CONDITION_COLUMNS, "cross-condition table")
    write_csv(frame.loc[:, list(CONDITION_COLUMNS)], path)


def read_conditions_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """conditions.csv as written by `write_conditions_table`, its columns and metrics checked."""
    frame = read_table(path, dtype=_TEXT, keep_default_na=False, na_values=[""])
    require_columns(frame, CONDITION_COLUMNS, path)
    unknown = sorted(set(frame["metric"]) - set(CONDITION_METRICS))
    if unknown:
        raise ValueError(f"{path}: unknown metrics {unknown}; expected {list(CONDITION_METRICS)}")
    require_unique(frame, ("condition", "method", "metric"), path)
    require_complete(frame, ("condition", "method"), "metric", len(CONDITION_METRICS), path)
    return frame
