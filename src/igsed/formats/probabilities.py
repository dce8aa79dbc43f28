"""Clip probabilities (rule classify): a TSV of clip_id and one column per class."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from igsed.core.atomic import atomic_path
from igsed.core.constants import CLASSES
from igsed.formats.tables import require_columns


def write_probabilities(
    path: str | os.PathLike[str], clip_ids: Sequence[str], probabilities: np.ndarray
) -> None:
    frame = pd.DataFrame(probabilities, columns=list(CLASSES))
    frame.insert(0, "clip_id", list(clip_ids))
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, float_format="%.6f")


def read_probabilities(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A probabilities TSV written by `write_probabilities` (clip_id + one column per class)."""
    frame = pd.read_csv(path, sep="\t", dtype={"clip_id": str})
    require_columns(frame, ("clip_id", *CLASSES), path)
    return frame
