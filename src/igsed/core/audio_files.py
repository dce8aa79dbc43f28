"""Any audio file as 32 kHz mono: what `igsed explain` and the recordings conditions read.

Apart from igsed.core.audio (the pipeline's own 32 kHz clips) because resampling needs
torchaudio: the analysis rules that only read 32 kHz clips stay free of torch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from igsed.core.constants import SAMPLE_RATE


class AudioError(ValueError):
    """A file that cannot be used as audio: not decodable, or without any sample."""


def read_mono(path: str | os.PathLike[str]) -> tuple[np.ndarray, int, int]:
    """Any file soundfile decodes as float32 mono at 32 kHz, with its own sample rate and
    channel count: (samples, source rate, source channels). Channels are averaged.

    soundfile rather than torchaudio.load: torchaudio >= 2.9 decodes through torchcodec,
    which this project does not install.
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
    return resample(mono, int(rate)), int(rate), int(data.shape[1])


def resample(samples: np.ndarray, rate: int) -> np.ndarray:
    """(N,) float32 at `rate` -> float32 at SAMPLE_RATE (unchanged if already there).

    torchaudio's band-limited sinc interpolation (its defaults), the one DSP step the
    models' own front end does not do; imported here so that reading 32 kHz clips never
    loads torch.
    """
    if rate == SAMPLE_RATE:
        return np.ascontiguousarray(samples, dtype=np.float32)
    import torch
    import torchaudio.functional as AF

    resampled = AF.resample(torch.from_numpy(np.ascontiguousarray(samples)), rate, SAMPLE_RATE)
    return resampled.numpy().astype(np.float32, copy=False)
