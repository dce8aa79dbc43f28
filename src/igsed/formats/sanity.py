"""The sanity check's table (rule sanity): one method's rank correlations under randomisation.

Cascading model-parameter randomisation (Adebayo et al., 2018): level k re-initialises the
first k layers of `CASCADE_LAYERS`, top down, so level 8 is a model with nothing trained left
but the front end. One CSV per method, one row per (level, instance):

- level: 1..8, the number of layers re-initialised;
- layer: the last layer re-initialised at that level (`CASCADE_LAYERS[level - 1]`), so a
  report can label a level without knowing the cascade;
- clip_id, class: the instance;
- spearman: the Spearman rank correlation of the method's 100 frame scores on that model
  with its frame scores on the trained model; empty (NaN) where undefined (constant scores).

Rows are sorted by level, clip_id, class. The file is checked on reading against its writer's
record (formats.handover), and every instance must have every level once.
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

# Top down: the clip head's linear layer, the embedding fc1, then the conv blocks from the
# last to the first. Level k re-initialises the first k of these.
CASCADE_LAYERS: tuple[str, ...] = (
    "clip_head",
    "fc1",
    *(f"conv_block{index}" for index in range(6, 0, -1)),
)
SANITY_COLUMNS: tuple[str, ...] = ("level", "layer", "clip_id", "class", "spearman")
_SORT = ["level", "clip_id", "class"]


def _check(frame: pd.DataFrame, path: str | os.PathLike[str]) -> pd.DataFrame:
    """The frame with the columns' types, or a ValueError naming the file and the problem."""
    require_columns(frame, SANITY_COLUMNS, path)
    frame = frame[list(SANITY_COLUMNS)].copy()
    levels = pd.to_numeric(frame["level"], errors="coerce")
    integral = levels.notna() & (levels % 1 == 0)
    if not (integral & levels.between(1, len(CASCADE_LAYERS))).all():
        raise ValueError(f"{path}: levels must be integers 1..{len(CASCADE_LAYERS)}")
    frame["level"] = levels.astype(int)
    expected = frame["level"].map(lambda level: CASCADE_LAYERS[level - 1])
    wrong = frame.index[frame["layer"].astype(str) != expected]
    if len(wrong):
        row = frame.loc[wrong[0]]
        raise ValueError(
            f"{path}: level {row['level']} is layer {CASCADE_LAYERS[row['level'] - 1]!r}, "
            f"not {row['layer']!r}"
        )
    frame["spearman"] = pd.to_numeric(frame["spearman"], errors="coerce").astype(float)
    if (frame["spearman"].abs() > 1 + 1e-9).any():
        raise ValueError(f"{path}: Spearman correlations outside [-1, 1]")
    for column in ("layer", "clip_id", "class"):
        frame[column] = frame[column].astype(str)
    return frame.sort_values(_SORT, kind="stable").reset_index(drop=True)


def write_sanity(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """Write one method's sanity table atomically, checked and sorted (NaN as empty cells)."""
    write_csv(_check(frame, path), path)


def read_sanity(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A sanity table written by `write_sanity`, its columns and levels checked."""
    frame = _check(read_table(path, dtype={"layer": str, "clip_id": str, "class": str}), path)
    require_unique(frame, ("level", "clip_id", "class"), path)
    require_complete(frame, ("clip_id", "class"), "level", len(CASCADE_LAYERS), path)
    return frame


def level_medians(frame: pd.DataFrame) -> pd.Series:
    """Median Spearman per level 1..8 over the instances where it is defined (NaN if none).

    A method is flagged when its level-8 median stays above `sanity.flag_correlation`: its
    scores then barely depend on what the model learned.
    """
    levels = pd.RangeIndex(1, len(CASCADE_LAYERS) + 1, name="level")
    return frame.groupby("level")["spearman"].median().reindex(levels)
