"""The attribution instances of a split (rule `instances`): one TSV row per (clip, class).

Every class the clip classifier detects in a clip (probability > threshold) is a row, whether
or not the class is in the clip's ground truth (`present`); every method that depends on the
classifier attributes exactly these rows, so the comparison between methods stays paired.
Columns: clip_id, class, probability, present (0/1). Rows in clip order, then class order.
Checked on reading against its writer's record (formats.handover).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from igsed.core.constants import CLASS_INDEX
from igsed.formats.tables import read_table, require_columns, write_csv

INSTANCE_COLUMNS: tuple[str, ...] = ("clip_id", "class", "probability", "present")


@dataclass(frozen=True)
class Instance:
    clip_id: str
    class_name: str
    probability: float
    present: bool


def write_instances(path: str | os.PathLike[str], instances: Sequence[Instance]) -> None:
    """Write the instances atomically (probabilities with 6 decimals, like Table I's input)."""
    frame = pd.DataFrame(
        {
            "clip_id": [i.clip_id for i in instances],
            "class": [i.class_name for i in instances],
            "probability": [float(i.probability) for i in instances],
            "present": [int(bool(i.present)) for i in instances],
        },
        columns=list(INSTANCE_COLUMNS),
    )
    write_csv(frame, path, digits=6, sep="\t")


def read_instances(path: str | os.PathLike[str]) -> list[Instance]:
    """The rows of an instances file, checked: known classes, no duplicate (clip, class)."""
    frame = read_table(path, sep="\t", dtype={"clip_id": str, "class": str})
    require_columns(frame, INSTANCE_COLUMNS, path)
    unknown = sorted(set(frame["class"]) - set(CLASS_INDEX))
    if unknown:
        raise ValueError(f"{path}: unknown classes {unknown}")
    duplicated = frame[frame.duplicated(["clip_id", "class"])]
    if not duplicated.empty:
        first = duplicated.iloc[0]
        raise ValueError(f"{path}: ({first['clip_id']}, {first['class']}) is listed twice")
    return [
        Instance(str(row.clip_id), str(row[1]), float(row.probability), bool(row.present))
        for row in frame[list(INSTANCE_COLUMNS)].itertuples(index=False)
    ]


def classes_by_clip(instances: Sequence[Instance]) -> dict[str, list[str]]:
    """The instance classes of each clip, in class order (clips without one are absent)."""
    by_clip: dict[str, list[str]] = {}
    for instance in instances:
        by_clip.setdefault(instance.clip_id, []).append(instance.class_name)
    return {
        clip_id: sorted(names, key=CLASS_INDEX.__getitem__) for clip_id, names in by_clip.items()
    }
