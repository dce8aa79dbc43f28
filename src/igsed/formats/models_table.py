"""The model × method table (rule report), reader beside writer.

models.csv: model, method, metric, value, ci_low, ci_high, n, status, reason. One row per
model, method and metric of MODEL_METRICS, for every method a model ran or skipped; rows in
the configured model order, then the order of attribution.run.

- iou, auroc, deletion_morf: the model's intervals.csv (n: instances with a value);
- psds1: its sed_view.csv (n: test clips);
- sanity_full: the median Spearman correlation of the method's frame scores once every
  layer of the cascade is randomised (its last level), with the clip-bootstrap interval of
  the median (n: defined correlations).

status: `measured` (value may still be empty: no instance to score), `not_measured` (the
metric does not apply to the method on that model, e.g. no sanity check; reason says why)
or `skipped` (the model cannot run the method; reason is igsed.core.model_kinds.skip_reason,
every metric of the method skipped alike, no figures). A figure that is n/a is an empty
cell. Checked on reading against its writer's record (formats.handover) and for
completeness.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pandas as pd

from igsed.formats.handover import damaged
from igsed.formats.tables import (
    read_table,
    require_columns,
    require_complete,
    require_unique,
    write_csv,
)

MODEL_METRICS: tuple[str, ...] = ("iou", "auroc", "psds1", "deletion_morf", "sanity_full")
MEASURED = "measured"
NOT_MEASURED = "not_measured"
SKIPPED = "skipped"
STATUSES: tuple[str, ...] = (MEASURED, NOT_MEASURED, SKIPPED)
MODEL_TABLE_COLUMNS: tuple[str, ...] = (
    "model",
    "method",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "status",
    "reason",
)
_FIGURES = ["value", "ci_low", "ci_high"]
# How a problem is raised: a plain ValueError when writing, a damaged file when reading.
Problem = Callable[[Any, str], ValueError]
_TEXT = {"model": str, "method": str, "metric": str, "status": str, "reason": str}


def _invalid(path: object, problem: str) -> ValueError:
    return ValueError(f"{path}: {problem}")


def _check(frame: pd.DataFrame, path: object, error: Problem = _invalid) -> pd.DataFrame:
    """The frame with its columns' types, or `error` naming `path` and the problem."""
    require_columns(frame, MODEL_TABLE_COLUMNS, path)
    frame = frame.loc[:, list(MODEL_TABLE_COLUMNS)].copy()
    for column in ("model", "method", "metric", "status", "reason"):
        frame[column] = frame[column].fillna("").astype(str)
    unknown = sorted(set(frame["metric"]) - set(MODEL_METRICS))
    if unknown:
        raise ValueError(f"{path}: unknown metrics {unknown}; expected {list(MODEL_METRICS)}")
    odd = sorted(set(frame["status"]) - set(STATUSES))
    if odd:
        raise error(path, f"unknown status {odd}; expected one of {list(STATUSES)}")
    for column in _FIGURES:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["n"] = pd.to_numeric(frame["n"], errors="coerce")
    measured = frame["status"] == MEASURED
    if frame.loc[~measured, _FIGURES].notna().any().any():
        raise error(path, "a skipped or unmeasured row has figures")
    if (frame.loc[~measured, "reason"] == "").any():
        raise error(path, "a skipped or unmeasured row has no reason")
    counts = frame.loc[measured, "n"]
    if counts.isna().any() or (counts < 0).any() or (counts % 1 != 0).any():
        raise error(path, "a measured row's n is not a count")
    frame["n"] = frame["n"].astype("Int64")
    require_unique(frame, ("model", "method", "metric"), path)
    require_complete(frame, ("model", "method"), "metric", len(MODEL_METRICS), path)
    _check_skipped_alike(frame, path, error)
    return frame


def _check_skipped_alike(frame: pd.DataFrame, path: object, error: Problem) -> None:
    skipped = (
        (frame["status"] == SKIPPED).groupby([frame["model"], frame["method"]]).agg(["any", "all"])
    )
    partial = skipped[skipped["any"] & ~skipped["all"]]
    if not partial.empty:
        model, method = partial.index[0]
        raise error(path, f"method {method} is skipped on model {model} for some metrics only")


def write_models_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """models.csv atomically, checked, in the row order given."""
    write_csv(_check(frame, "model × method table"), path)


def read_models_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """models.csv as written by `write_models_table`, checked (see the module docstring)."""
    frame = read_table(path, dtype=_TEXT, keep_default_na=False, na_values=[""])
    return _check(frame, path, damaged)
