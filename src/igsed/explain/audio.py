"""A user's audio file as the models see it: mono, 32 kHz, cut into 10 s windows.

The explained models and every method take 10 s clips of `CLIP_SAMPLES` samples, on the
100 ms frame grid of the evaluation. A file of any length is cut into consecutive 10 s
windows, the last one zero-padded; its frames are the 100 ms frames that start inside
the file, so the last frame may be shorter than 100 ms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from igsed.core.audio_files import AudioError as AudioError  # raised by read_audio
from igsed.core.audio_files import read_mono
from igsed.core.constants import CLIP_SAMPLES, SAMPLE_RATE
from igsed.methods.frames import EVAL_FRAME_SAMPLES


@dataclass(frozen=True)
class Audio:
    """A file's samples as float32 mono at 32 kHz, with what the file held originally."""

    path: Path
    samples: np.ndarray  # (N,) float32 at SAMPLE_RATE
    source_rate: int
    source_channels: int

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / SAMPLE_RATE

    @property
    def n_frames(self) -> int:
        """100 ms frames that start inside the file."""
        return math.ceil(self.samples.shape[0] / EVAL_FRAME_SAMPLES)

    @property
    def n_windows(self) -> int:
        return max(1, math.ceil(self.samples.shape[0] / CLIP_SAMPLES))


def read_audio(path: str | Path) -> Audio:
    """Any file soundfile decodes, channels averaged to mono, resampled to 32 kHz
    (igsed.core.audio_files.read_mono, which the recordings conditions read with too)."""
    samples, rate, channels = read_mono(path)
    return Audio(Path(path), samples, rate, channels)


def windows(audio: Audio) -> np.ndarray:
    """(n_windows, CLIP_SAMPLES) float32: consecutive 10 s windows, the last zero-padded."""
    padded = np.zeros(audio.n_windows * CLIP_SAMPLES, dtype=np.float32)
    padded[: audio.samples.shape[0]] = audio.samples
    return padded.reshape(audio.n_windows, CLIP_SAMPLES)


def frame_times(audio: Audio) -> np.ndarray:
    """(n_frames + 1,) frame boundaries in seconds; the last one is the file's end.

    Boundaries are k / 10 (rounded to the microsecond) so that they print as short
    decimals, and each frame's offset is bit-equal to the next frame's onset, as
    sed_scores_eval's reader requires.
    """
    times = np.round(np.arange(audio.n_frames + 1) * EVAL_FRAME_SAMPLES / SAMPLE_RATE, 6)
    times[-1] = audio.duration_s
    return times
