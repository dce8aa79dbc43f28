"""The result tables (Table I-III and their companions): columns, numbers and markdown.

One place for what every table writer shares: the row labels, Table III's column groups, the one
"finite number or nothing" rule, the one number formatter ("n/a" for a missing value), the
one markdown-table writer and the one CSV writer (atomic; missing values as empty cells).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from igsed.core.atomic import atomic_path

NOT_AVAILABLE = "n/a"

# Table I (rule classify): one row per class, then these two.
TABLE1_COLUMNS: tuple[str, ...] = ("class", "precision", "recall", "f1", "support", "predicted")
MACRO_ROW = "macro average"
MICRO_ROW = "micro average"


def table3_methods(table3: pd.DataFrame) -> list[str]:
    """The methods of a Table III frame (rule evaluate), in column order: one `<method>_n`,
    `<method>_iou` and `<method>_f1` column group per method."""
    return [c.removesuffix("_n") for c in table3.columns if c.endswith("_n")]


def finite_or_none(value: Any) -> float | None:
    """`value` as a float if it is a finite number, else None (None, NaN, inf, text, bool)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def format_number(value: Any, digits: int = 2, percent: bool = False) -> str:
    """A table cell: integers as they are, other numbers rounded; "n/a" when missing."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and not percent:
        return str(int(value))
    number = finite_or_none(value)
    if number is None:
        return NOT_AVAILABLE
    if percent:
        return f"{100.0 * number:.1f}%"
    return f"{number:.{digits}f}"


def format_count(value: Any) -> str:
    """A count cell: the rounded integer, or "n/a"."""
    number = finite_or_none(value)
    return NOT_AVAILABLE if number is None else str(int(round(number)))


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table (first column left-aligned, the rest right-aligned)."""
    align = [":---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], digits: int = 6) -> None:
    """`frame` as CSV (floats with `digits` decimals, missing values empty), atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format=f"%.{digits}f", na_rep="")


def require_columns(frame: pd.DataFrame, expected: Sequence[str], path: object) -> None:
    """Raise ValueError naming `path` and the columns of `expected` that `frame` lacks."""
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected {list(expected)}")
