"""Deletion and insertion curves (rule faithfulness): one method's curves.csv and areas.csv.

curves.csv: clip_id, class, curve (deletion | insertion), order (morf | lerf), fraction (of
            the frames zeroed or restored, 0..1), probability (F_c after that step).
            Rows sorted by clip_id, class, curve, order, fraction.
areas.csv:  clip_id, class, probability (F_c of the unmasked clip), deletion_morf,
            deletion_lerf, insertion_morf, insertion_lerf (area under each curve over
            fraction in [0, 1], divided by that probability). Rows sorted by clip_id, class.

Missing values (an area of an instance whose F_c(x) is 0) are empty cells, read back as NaN.
Both are checked on reading against their writer's record (formats.handover) and for
completeness: every curve and order of every instance, every step of every curve, one row of
areas per instance.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from igsed.formats.tables import (
    read_table,
    require_columns,
    require_complete,
    require_unique,
    write_csv,
)

CURVE_NAMES: tuple[str, ...] = ("deletion", "insertion")
ORDER_NAMES: tuple[str, ...] = ("morf", "lerf")
CURVE_COLUMNS: tuple[str, ...] = ("clip_id", "class", "curve", "order", "fraction", "probability")
AREA_COLUMNS: tuple[str, ...] = (
    "clip_id",
    "class",
    "probability",
    *(f"{curve}_{order}" for curve in CURVE_NAMES for order in ORDER_NAMES),
)
_TEXT = {"clip_id": str, "class": str, "curve": str, "order": str}
# Probabilities of a float32 model carry ~7 significant digits; 8 decimals keep them.
_DIGITS = 8


def _check_values(frame: pd.DataFrame, column: str, allowed: Sequence[str], path: object) -> None:
    unknown = sorted(set(frame[column]) - set(allowed))
    if unknown:
        raise ValueError(f"{path}: unknown {column} values {unknown}; expected {list(allowed)}")


def _numeric(frame: pd.DataFrame, columns: Sequence[str], path: object) -> pd.DataFrame:
    """The columns as float64 (also in a header-only file, which pandas reads as text)."""
    try:
        return frame.astype({column: "float64" for column in columns})
    except ValueError as error:
        raise ValueError(f"{path}: non-numeric values in {list(columns)} ({error})") from error


def _sorted(frame: pd.DataFrame, keys: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    # mergesort is stable, so equal keys keep their order whatever pandas' default becomes.
    return frame.loc[:, list(columns)].sort_values(list(keys), kind="mergesort")


def write_curves(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """Write the curves (columns CURVE_COLUMNS, extra columns dropped), sorted, atomically."""
    require_columns(frame, CURVE_COLUMNS, path)
    _check_values(frame, "curve", CURVE_NAMES, path)
    _check_values(frame, "order", ORDER_NAMES, path)
    keys = ("clip_id", "class", "curve", "order", "fraction")
    write_csv(_sorted(frame, keys, CURVE_COLUMNS), path, digits=_DIGITS)


def read_curves(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A curves.csv written by `write_curves`; ValueError naming the file if it is not one."""
    frame = read_table(path, dtype=_TEXT)
    require_columns(frame, CURVE_COLUMNS, path)
    _check_values(frame, "curve", CURVE_NAMES, path)
    _check_values(frame, "order", ORDER_NAMES, path)
    frame = _numeric(frame.loc[:, list(CURVE_COLUMNS)], ("fraction", "probability"), path)
    require_unique(frame, ("clip_id", "class", "curve", "order", "fraction"), path)
    curves = frame.assign(which=frame["curve"] + " " + frame["order"])
    require_complete(
        curves, ("clip_id", "class"), "which", len(CURVE_NAMES) * len(ORDER_NAMES), path
    )
    require_complete(
        frame, ("clip_id", "class", "curve", "order"), "fraction", frame["fraction"].nunique(), path
    )
    return frame


def write_areas(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """Write the normalised areas (columns AREA_COLUMNS), sorted by clip and class, atomically."""
    require_columns(frame, AREA_COLUMNS, path)
    write_csv(_sorted(frame, ("clip_id", "class"), AREA_COLUMNS), path, digits=_DIGITS)


def read_areas(path: str | os.PathLike[str]) -> pd.DataFrame:
    """An areas.csv written by `write_areas`; ValueError naming the file if it is not one."""
    frame = read_table(path, dtype=_TEXT)
    require_columns(frame, AREA_COLUMNS, path)
    require_unique(frame, ("clip_id", "class"), path)
    return _numeric(frame.loc[:, list(AREA_COLUMNS)], AREA_COLUMNS[2:], path)
