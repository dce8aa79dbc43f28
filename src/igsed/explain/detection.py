"""Frame scores of a file -> detected events at a method's τ*, as the evaluation masks them.

The evaluation keeps, per instance, the frames whose score is >= the τ-th percentile of
that instance's own 100 frame scores (igsed.core.metrics.percentile_mask) on a 10 s clip.
A file is masked the same way, 10 s window by 10 s window, so that τ* keeps the share of
frames it was chosen for on val, and every frame is judged against 10 s of context:

- a full window is masked exactly as the evaluation masks a clip;
- the last, shorter window of a file longer than 10 s is masked against the percentile
  of the file's last 100 frames (its own frames and the end of the window before it), so
  that neither the zero padding nor a tail of a few frames alone sets the threshold;
- a file shorter than 10 s is masked against the percentile of its own frames.

As in the evaluation, a window's mask is never empty: the events say where a method puts
the class in each 10 s, given that the class is there (the clip classifier's call, or
the user's). A run of kept frames is one event; the frames' active rule
(igsed.core.annotations.frame_span) maps each event back to exactly those frames.
"""

from __future__ import annotations

import numpy as np

from igsed.core.annotations import Event
from igsed.core.constants import N_EVAL_FRAMES
from igsed.core.metrics import percentile_threshold


def window_contexts(n_frames: int) -> list[tuple[slice, slice]]:
    """(window, context) frame slices: each 10 s window and the frames it is judged against.

    The context is the window itself, or for the last, shorter window of a longer file the
    file's last 100 frames (the module docstring says why).
    """
    pairs = []
    for start in range(0, n_frames, N_EVAL_FRAMES):
        context = max(0, min(start, n_frames - N_EVAL_FRAMES))
        window = slice(start, min(start + N_EVAL_FRAMES, n_frames))
        pairs.append((window, slice(context, context + N_EVAL_FRAMES)))
    return pairs


def windowed_mask(scores: np.ndarray, tau: float) -> np.ndarray:
    """(k, n_frames) bool: each window's frames >= the τ-th percentile of its context."""
    scores = np.asarray(scores, dtype=np.float64)
    mask = np.zeros(scores.shape, dtype=bool)
    for window, context in window_contexts(scores.shape[-1]):
        level = np.asarray(percentile_threshold(scores[..., context], tau))
        mask[..., window] = scores[..., window] >= level[..., None]
    return mask


def mask_events(mask: np.ndarray, label: str, frame_times: np.ndarray) -> list[Event]:
    """One event per run of True frames of a (n_frames,) mask, from the frames' boundaries."""
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts, stops = edges[0::2], edges[1::2]
    return [
        Event(float(frame_times[a]), float(frame_times[b]), label)
        for a, b in zip(starts, stops, strict=True)
    ]


def detect_events(
    scores: np.ndarray, classes: tuple[str, ...], tau: float, frame_times: np.ndarray
) -> list[Event]:
    """Events of every class (rows of `scores`) at `tau`, sorted by onset then label."""
    mask = windowed_mask(scores, tau)
    events = [
        event
        for row, name in enumerate(classes)
        for event in mask_events(mask[row], name, frame_times)
    ]
    return sorted(events, key=lambda e: (e.onset, e.label))
