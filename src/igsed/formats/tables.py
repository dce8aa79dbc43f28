"""The result tables (Table I-III and their companions): columns, numbers and markdown.

One place for what every table writer shares: the row labels, Table III's column groups, the one
"finite number or nothing" rule, the one number formatter ("n/a" for a missing value), the
one markdown-table writer, the one CSV writer (atomic; missing values as empty cells; with
the record formats.handover checks) and the one reader of what it wrote.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from igsed.formats.handover import damaged, read_handover, write_handover

NOT_AVAILABLE = "n/a"
# What a table says for a method (or a condition) without a single instance to score.
NO_INSTANCES = "no detected instances"

# Table I (rule classify): one row per class, then these two.
TABLE1_COLUMNS: tuple[str, ...] = ("class", "precision", "recall", "f1", "support", "predicted")
MACRO_ROW = "macro average"
MICRO_ROW = "micro average"


def table3_methods(table3: pd.DataFrame) -> list[str]:
    """The methods of a Table III frame (rule evaluate), in column order: one `<method>_n`,
    `<method>_iou` and `<method>_f1` column group per method."""
    return [c.removesuffix("_n") for c in table3.columns if c.endswith("_n")]


def class_instance_counts(
    table3: pd.DataFrame, methods: Sequence[str] | None = None
) -> dict[str, str]:
    """Each class's test instances in a Table III frame, over `methods` (default: all of
    its methods): one count where they agree, else "low to high" (methods with their own
    detections)."""
    chosen = [m for m in table3_methods(table3) if methods is None or m in methods]
    cells = {}
    for record in table3.to_dict("records"):
        counts = sorted({format_count(record[f"{m}_n"]) for m in chosen}, key=_count_key)
        cells[str(record["class"])] = (
            f"{counts[0]} to {counts[-1]}" if len(counts) > 1 else next(iter(counts), NOT_AVAILABLE)
        )
    return cells


def _count_key(cell: str) -> float:
    return float(cell) if cell != NOT_AVAILABLE else math.inf


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


def no_instances_note(methods: Sequence[str]) -> str:
    """The line under a table naming its methods without instances ("" if none)."""
    return f"\n{', '.join(methods)}: {NO_INSTANCES} (n/a is not a score of 0).\n" if methods else ""


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table (first column left-aligned, the rest right-aligned)."""
    align = [":---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_csv(
    frame: pd.DataFrame, path: str | os.PathLike[str], digits: int = 6, sep: str = ","
) -> None:
    """`frame` as CSV (floats with `digits` decimals, missing values empty), atomically, with
    its record (formats.handover): `read_table` reads it back."""
    write_handover(
        path, frame.to_csv(None, index=False, float_format=f"%.{digits}f", na_rep="", sep=sep)
    )


def read_table(
    path: str | os.PathLike[str], sep: str = ",", checked: bool = True, **options: Any
) -> pd.DataFrame:
    """A table written by `write_csv`, checked against its record (formats.handover), parsed
    with pandas.read_csv's `options`; a file that does not parse is refused as damaged.
    checked=False skips the record (the Snakefile's reads: formats.manifest.read_clip_ids)."""
    text = read_handover(path) if checked else Path(path).read_text(encoding="utf-8")
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError) as error:
        raise damaged(path, f"not a table ({error})") from error


def require_columns(frame: pd.DataFrame, expected: Sequence[str], path: object) -> None:
    """Raise ValueError naming `path` and the columns of `expected` that `frame` lacks."""
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected {list(expected)}")


def require_unique(frame: pd.DataFrame, keys: Sequence[str], path: object) -> None:
    """Raise DamagedFileError naming `path` and the first row whose `keys` repeat."""
    repeated = frame[frame.duplicated(list(keys))]
    if not repeated.empty:
        first = repeated.iloc[0]
        listed = ", ".join(f"{key} {first[key]}" for key in keys)
        raise damaged(path, f"the row of {listed} is listed twice")


def require_complete(
    frame: pd.DataFrame, by: Sequence[str], column: str, expected: int, path: object
) -> None:
    """Raise DamagedFileError naming `path` unless every group of `by` has `expected` distinct
    values of `column` (every level per instance, every step per curve)."""
    if frame.empty:
        return
    counts = frame.groupby(list(by), sort=False)[column].nunique()
    short = counts[counts != expected]
    if not short.empty:
        key = short.index[0] if len(by) > 1 else (short.index[0],)
        which = ", ".join(f"{name} {value}" for name, value in zip(by, key, strict=True))
        raise damaged(path, f"{which} has {short.iloc[0]} {column} values, expected {expected}")
