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
import soundfile as sf
import torch
import torchaudio.functional as AF

from igsed.core.constants import CLIP_SAMPLES, SAMPLE_RATE
from igsed.methods.frames import EVAL_FRAME_SAMPLES


class AudioError(ValueError):
    """A file that cannot be explained: not decodable, or without any sample."""


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
    """Any file soundfile decodes, channels averaged to mono, resampled to 32 kHz.

    soundfile rather than torchaudio.load: torchaudio >= 2.9 decodes through torchcodec,
    which this project does not install. Resampling is torchaudio's band-limited sinc
    interpolation (its defaults), the one DSP step the models' own front end does not do.
    """
    path = Path(path)
    if not path.is_file():  # soundfile says only "System error." for a missing file
        raise AudioError(f"{path}: {'a folder, not a file' if path.is_dir() else 'not found'}")
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as error:
        raise AudioError(f"{path}: cannot read audio ({error})") from error
    if data.shape[0] == 0:
        raise AudioError(f"{path}: the file holds no audio samples")
    mono = data.mean(axis=1, dtype=np.float32)
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"{path}: the audio holds non-finite samples")
    return Audio(path, resample(mono, int(rate)), int(rate), int(data.shape[1]))


def resample(samples: np.ndarray, rate: int) -> np.ndarray:
    """(N,) float32 at `rate` -> float32 at SAMPLE_RATE (unchanged if already there)."""
    if rate == SAMPLE_RATE:
        return np.ascontiguousarray(samples, dtype=np.float32)
    resampled = AF.resample(torch.from_numpy(np.ascontiguousarray(samples)), rate, SAMPLE_RATE)
    return resampled.numpy().astype(np.float32, copy=False)


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
