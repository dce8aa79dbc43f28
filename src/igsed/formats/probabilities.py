"""Clip probabilities (rule classify): a TSV of clip_id and one column per class, one row per
clip; checked on reading against its writer's record (formats.handover)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from igsed.core.constants import CLASSES
from igsed.formats.tables import read_table, require_columns, require_unique, write_csv


def write_probabilities(
    path: str | os.PathLike[str], clip_ids: Sequence[str], probabilities: np.ndarray
) -> None:
    frame = pd.DataFrame(probabilities, columns=list(CLASSES))
    frame.insert(0, "clip_id", list(clip_ids))
    write_csv(frame, path, digits=6, sep="\t")


def read_probabilities(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A probabilities TSV written by `write_probabilities` (clip_id + one column per class)."""
    frame = read_table(path, sep="\t", dtype={"clip_id": str})
    require_columns(frame, ("clip_id", *CLASSES), path)
    require_unique(frame, ("clip_id",), path)
    return frame
