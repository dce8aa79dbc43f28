"""A recording of any length as consecutive 10 s windows on the evaluation grid.

Window w covers [10 w, 10 (w + 1)) s of the recording; the last one is zero-padded. A
100 ms frame is valid when it starts inside the recording (as `igsed explain` counts a
file's frames); the padded frames after it are excluded from every metric and from the
choice of tau*. Each window is scored against its own part of the annotations: the
events clipped to the window and shifted to its start.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from igsed.core.annotations import Event
from igsed.core.constants import CLIP_SECONDS, EVAL_FRAME_SECONDS, N_EVAL_FRAMES

# A duration stored with finite precision: 2.0000001 s holds 20 frames, not 21.
_EPS = 1e-6


@dataclass(frozen=True)
class RecordingWindow:
    """Window `index` of a recording: its start and how many of its frames hold audio."""

    index: int
    start_s: float
    valid_frames: int

    @property
    def padded(self) -> bool:
        return self.valid_frames < N_EVAL_FRAMES


def frames_in(duration_s: float) -> int:
    """The 100 ms frames that start inside `duration_s` seconds of audio."""
    return math.ceil(duration_s / EVAL_FRAME_SECONDS - _EPS)


def recording_windows(duration_s: float) -> list[RecordingWindow]:
    """The 10 s windows of a recording of `duration_s` seconds (at least one)."""
    if not duration_s > 0:
        raise ValueError(f"a recording must last more than 0 s, got {duration_s}")
    n_frames = frames_in(duration_s)
    n_windows = max(1, math.ceil(n_frames / N_EVAL_FRAMES))
    return [
        RecordingWindow(w, w * CLIP_SECONDS, min(N_EVAL_FRAMES, n_frames - w * N_EVAL_FRAMES))
        for w in range(n_windows)
    ]


def window_events(events: Iterable[Event], window: RecordingWindow) -> list[Event]:
    """The events overlapping `window`, clipped to it and shifted to its start."""
    end = window.start_s + CLIP_SECONDS
    clipped = []
    for event in events:
        onset, offset = max(event.onset, window.start_s), min(event.offset, end)
        if offset > onset:
            clipped.append(Event(onset - window.start_s, offset - window.start_s, event.label))
    return clipped
