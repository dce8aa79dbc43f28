"""Event lists and their frame masks on a fixed time grid (numpy only)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from igsed.core.constants import CLASS_INDEX, N_CLASSES

# Onsets and offsets are stored with finite precision; an event ending at 0.3 s must
# not spill into frame [0.3, 0.4) because 0.3 / 0.1 == 2.9999999999999996.
_GRID_EPS = 1e-6


@dataclass(frozen=True)
class Event:
    onset: float
    offset: float
    label: str


def frame_span(onset: float, offset: float, frame_seconds: float, n_frames: int) -> range:
    """Frames of [onset, offset) on the grid frame i = [i d, (i + 1) d).

    A frame is active if the event overlaps it (sed_eval's segment rule: floor of the
    onset, ceiling of the offset), so an event ending exactly on a boundary does not
    activate the next frame.
    """
    if offset <= onset:
        return range(0)
    start = math.floor(onset / frame_seconds + _GRID_EPS)
    stop = math.ceil(offset / frame_seconds - _GRID_EPS)
    start = min(max(start, 0), n_frames)
    stop = min(max(stop, start), n_frames)
    return range(start, stop)


def frame_mask(
    events: Iterable[Event], label: str, frame_seconds: float, n_frames: int
) -> np.ndarray:
    """Boolean (n_frames,) mask of the frames where any event of `label` is active."""
    mask = np.zeros(n_frames, dtype=bool)
    for event in events:
        if event.label == label:
            span = frame_span(event.onset, event.offset, frame_seconds, n_frames)
            mask[span.start : span.stop] = True
    return mask


def frame_labels(events: Iterable[Event], frame_seconds: float, n_frames: int) -> np.ndarray:
    """uint8 (n_frames, N_CLASSES) activity matrix over all ten classes."""
    labels = np.zeros((n_frames, N_CLASSES), dtype=np.uint8)
    for event in events:
        span = frame_span(event.onset, event.offset, frame_seconds, n_frames)
        labels[span.start : span.stop, CLASS_INDEX[event.label]] = 1
    return labels


def clip_labels(events: Iterable[Event]) -> np.ndarray:
    """uint8 (N_CLASSES,) multi-hot vector of the classes present in the clip."""
    labels = np.zeros(N_CLASSES, dtype=np.uint8)
    for event in events:
        labels[CLASS_INDEX[event.label]] = 1
    return labels


def max_polyphony(events: Iterable[Event]) -> int:
    """Largest number of events active at the same instant (touching ends do not overlap)."""
    points: list[tuple[float, int]] = []
    for event in events:
        if event.offset > event.onset:
            points.append((event.onset, 1))
            points.append((event.offset, -1))
    # Offsets sort before onsets at the same time, so back-to-back events do not overlap.
    points.sort(key=lambda p: (p[0], p[1]))
    active = peak = 0
    for _, step in points:
        active += step
        peak = max(peak, active)
    return peak
