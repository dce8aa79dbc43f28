"""Reading and writing clip audio (soundfile; float32 mono)."""

from __future__ import annotations

import os

import numpy as np
import soundfile as sf

from igsed.core.atomic import atomic_path
from igsed.core.constants import CLIP_SAMPLES, SAMPLE_RATE


def load_clip(path: str | os.PathLike[str], n_samples: int = CLIP_SAMPLES) -> np.ndarray:
    """A clip as float32 mono of exactly `n_samples` samples at 32 kHz (pad or trim)."""
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise ValueError(f"{path}: sample rate {rate} Hz, expected {SAMPLE_RATE} Hz")
    mono = audio.mean(axis=1)
    if mono.shape[0] < n_samples:
        mono = np.pad(mono, (0, n_samples - mono.shape[0]))
    return np.ascontiguousarray(mono[:n_samples], dtype=np.float32)


def write_wav(
    path: str | os.PathLike[str], audio: np.ndarray, sample_rate: int, subtype: str = "PCM_16"
) -> None:
    """A wav file (16-bit PCM unless `subtype` says otherwise), written atomically."""
    with atomic_path(path) as tmp:
        sf.write(tmp, np.asarray(audio), sample_rate, subtype=subtype, format="WAV")
