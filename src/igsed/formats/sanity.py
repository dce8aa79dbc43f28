"""The sanity stage's tables: one method's rank correlations under randomisation (rule
sanity), its robustness table (`ROBUSTNESS_COLUMNS`, same rule) and its seed-agreement
table (`AGREEMENT_COLUMNS`, rule agreement), below.

Cascading model-parameter randomisation (Adebayo et al., 2018; igsed.models.randomise):
level k re-initialises the first k layers of the model's cascade (its named layers from the
top down), so level L, the cascade's length, leaves nothing trained in any named layer.
CNN14's cascade is `CASCADE_LAYERS` (8 levels); another model's has its own length and
names (the CRNN's 6). One CSV per (model, method), one row per (level, instance):

- level: 1..L, the number of layers re-initialised;
- layer: the last layer re-initialised at that level, so a reader learns the cascade from
  the file (`cascade_of`) and labels a level without knowing the model;
- clip_id, class: the instance;
- spearman: the Spearman rank correlation of the method's 100 frame scores on that model
  with its frame scores on the trained model; empty (NaN) where undefined (constant scores).

Rows are sorted by level, clip_id, class. The file is checked on reading against its writer's
record (formats.handover); its levels run 1..L without a gap, each level names one layer and
each layer one level, and every instance has every level once.
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

# CNN14's cascade (igsed.models.randomise.CASCADE), top down: the clip head's linear layer,
# the embedding fc1, then the conv blocks from the last to the first.
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
    if not (levels.notna() & (levels % 1 == 0) & (levels >= 1)).all():
        raise ValueError(f"{path}: levels must be integers from 1")
    frame["level"] = levels.astype(int)
    for column in ("layer", "clip_id", "class"):
        frame[column] = frame[column].astype(str)
    _check_cascade(frame, path)
    frame["spearman"] = pd.to_numeric(frame["spearman"], errors="coerce").astype(float)
    if (frame["spearman"].abs() > 1 + 1e-9).any():
        raise ValueError(f"{path}: Spearman correlations outside [-1, 1]")
    return frame.sort_values(_SORT, kind="stable").reset_index(drop=True)


def _check_cascade(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Levels 1..L without a gap, one layer per level and one level per layer."""
    found = sorted(set(frame["level"]))
    if found != list(range(1, len(found) + 1)):
        raise ValueError(f"{path}: levels must run 1..{max(found)} without a gap, found {found}")
    pairs = frame[["level", "layer"]].drop_duplicates().sort_values("level", kind="stable")
    for level, layers in pairs.groupby("level")["layer"]:
        if len(layers) > 1:
            raise ValueError(f"{path}: level {level} names several layers: {sorted(layers)}")
    for layer, levels in pairs.groupby("layer")["level"]:
        if len(levels) > 1:
            raise ValueError(
                f"{path}: layer {layer!r} is at levels {sorted(levels)}; a cascade "
                "re-initialises each layer at one level"
            )


def cascade_of(frame: pd.DataFrame) -> tuple[str, ...]:
    """The cascade a checked sanity table holds: its layer names by level, top down."""
    names = frame.drop_duplicates("level").sort_values("level")["layer"]
    return tuple(str(name) for name in names)


def write_sanity(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """Write one method's sanity table atomically, checked and sorted (NaN as empty cells)."""
    write_csv(_check(frame, path), path)


def read_sanity(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A sanity table written by `write_sanity`, its columns and levels checked."""
    frame = _check(read_table(path, dtype={"layer": str, "clip_id": str, "class": str}), path)
    require_unique(frame, ("level", "clip_id", "class"), path)
    require_complete(frame, ("clip_id", "class"), "level", len(cascade_of(frame)), path)
    return frame


def level_medians(frame: pd.DataFrame, n_levels: int | None = None) -> pd.Series:
    """Median Spearman per level 1..L over the instances where it is defined (NaN if none);
    L is `n_levels`, or the table's deepest level.

    A method is flagged when its level-L median stays above `sanity.flag_correlation`: its
    scores then barely depend on what the model learned.
    """
    deepest = len(cascade_of(frame)) if n_levels is None else int(n_levels)
    levels = pd.RangeIndex(1, deepest + 1, name="level")
    return frame.groupby("level")["spearman"].median().reindex(levels)


# The robustness table (same rule): per instance of the sanity subset, on the trained model.
# - absent_class: a class the classifier does not detect in the clip, drawn per clip (empty,
#   and random_logit with it, where it detects all ten);
# - random_logit: Spearman of the instance's frame scores with the same method's scores for
#   absent_class (a method that gives one map whatever the class scores near 1);
# - max_sensitivity: the largest relative L2 change of the frame scores over the seeded noisy
#   copies of the clip, max_j ||S(x + e_j) - S(x)|| / ||S(x)|| (empty: no draws, or S(x) = 0).
# Rows sorted by clip_id, class; one per instance.
ROBUSTNESS_COLUMNS: tuple[str, ...] = (
    "clip_id",
    "class",
    "absent_class",
    "random_logit",
    "max_sensitivity",
)


def _check_robustness(frame: pd.DataFrame, path: str | os.PathLike[str]) -> pd.DataFrame:
    require_columns(frame, ROBUSTNESS_COLUMNS, path)
    frame = frame[list(ROBUSTNESS_COLUMNS)].copy()
    frame["absent_class"] = frame["absent_class"].fillna("")
    for column in ("clip_id", "class", "absent_class"):
        frame[column] = frame[column].astype(str)
    for column in ("random_logit", "max_sensitivity"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    if (frame["random_logit"].abs() > 1 + 1e-9).any():
        raise ValueError(f"{path}: random_logit correlations outside [-1, 1]")
    if (frame["max_sensitivity"] < 0).any():
        raise ValueError(f"{path}: negative max_sensitivity")
    if (frame["class"] == frame["absent_class"]).any():
        raise ValueError(f"{path}: an absent class equal to the instance's class")
    return frame.sort_values(["clip_id", "class"], kind="stable").reset_index(drop=True)


def write_robustness(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """Write one method's robustness table atomically, checked and sorted."""
    write_csv(_check_robustness(frame, path), path)


def read_robustness(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A robustness table written by `write_robustness`, checked."""
    text = {"clip_id": str, "class": str, "absent_class": str}
    frame = _check_robustness(read_table(path, dtype=text), path)
    require_unique(frame, ("clip_id", "class"), path)
    return frame


# The seed-agreement table (rule agreement): per instance of the sanity subset, the method on
# the CNN14 clip classifier with the trained clip head and with each head retrained from
# another seed (sanity.agreement_seeds):
# - seed_agreement: the mean Spearman of the instance's frame scores over every pair of heads
#   (empty where no pair is defined);
# - head_spread: max - min over the heads of the instance's clip probability, the same for
#   every method: how far the heads' own outputs differ.
# Rows sorted by clip_id, class; one per instance.
AGREEMENT_COLUMNS: tuple[str, ...] = ("clip_id", "class", "seed_agreement", "head_spread")


def _check_agreement(frame: pd.DataFrame, path: str | os.PathLike[str]) -> pd.DataFrame:
    require_columns(frame, AGREEMENT_COLUMNS, path)
    frame = frame[list(AGREEMENT_COLUMNS)].copy()
    for column in ("clip_id", "class"):
        frame[column] = frame[column].astype(str)
    for column in ("seed_agreement", "head_spread"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    if (frame["seed_agreement"].abs() > 1 + 1e-9).any():
        raise ValueError(f"{path}: seed_agreement correlations outside [-1, 1]")
    spread = frame["head_spread"]
    if spread.isna().any() or ((spread < 0) | (spread > 1)).any():
        raise ValueError(f"{path}: head_spread must be a probability difference in [0, 1]")
    return frame.sort_values(["clip_id", "class"], kind="stable").reset_index(drop=True)


def write_agreement(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """Write one method's seed-agreement table atomically, checked and sorted."""
    write_csv(_check_agreement(frame, path), path)


def read_agreement(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A seed-agreement table written by `write_agreement`, checked."""
    frame = _check_agreement(read_table(path, dtype={"clip_id": str, "class": str}), path)
    require_unique(frame, ("clip_id", "class"), path)
    return frame
