"""Rule `instances`: the (clip, class) pairs to attribute, fixed once for every method.

A pair is listed when the clip classifier's probability of the class is above `threshold`
(paper §III-C); `present` says whether the class has a ground-truth frame in the clip. The
evaluation scores the present pairs (all of them with `metrics.count_false_positives`), and
every method reads the same file, so the comparison is paired by construction.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from igsed.core.annotations import frame_labels
from igsed.core.constants import CLASSES, EVAL_FRAME_SECONDS, N_EVAL_FRAMES
from igsed.formats.instances import Instance, write_instances
from igsed.formats.manifest import events_by_clip, read_clip_ids, read_events
from igsed.formats.probabilities import read_probabilities

logger = logging.getLogger(__name__)


def select_pairs(
    clip_ids: list[str],
    probabilities: dict[str, np.ndarray],
    present: dict[str, np.ndarray],
    threshold: float,
) -> list[Instance]:
    """The detected (clip, class) pairs in clip order, then class order."""
    pairs = []
    for clip_id in clip_ids:
        for index in np.flatnonzero(probabilities[clip_id] > threshold):
            pairs.append(
                Instance(
                    clip_id,
                    CLASSES[index],
                    float(probabilities[clip_id][index]),
                    bool(present[clip_id][index]),
                )
            )
    return pairs


def write_split_instances(
    split: str,
    *,
    probabilities_path: Path,
    manifest_path: Path,
    events_path: Path,
    out_path: Path,
    threshold: float,
) -> list[Instance]:
    """Write the instances of `split` (formats.instances) and return them."""
    clip_ids = read_clip_ids(manifest_path, split)
    frame = read_probabilities(probabilities_path).set_index("clip_id")
    missing = [clip_id for clip_id in clip_ids if clip_id not in frame.index]
    if missing:
        raise ValueError(f"{probabilities_path}: no probabilities for {split} clips {missing}")
    probabilities = {c: frame.loc[c, list(CLASSES)].to_numpy(np.float64) for c in clip_ids}
    events = events_by_clip(read_events(events_path))
    present = {
        clip_id: frame_labels(events.get(clip_id, []), EVAL_FRAME_SECONDS, N_EVAL_FRAMES).any(0)
        for clip_id in clip_ids
    }
    pairs = select_pairs(clip_ids, probabilities, present, threshold)
    write_instances(out_path, pairs)
    n_present = sum(pair.present for pair in pairs)
    logger.info(
        "%s: %d detected (clip, class) pairs in %d clips, %d of them in the ground truth",
        split,
        len(pairs),
        len(clip_ids),
        n_present,
    )
    return pairs
