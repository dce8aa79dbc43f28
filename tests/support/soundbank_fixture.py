"""A tiny DESED-layout soundbank of simple tones and noises, made by the tests themselves.

Layout: `<root>/{train,eval}/foreground/<Class>/*.wav` and `<root>/{train,eval}/background/*.wav`,
so synthesis tests do not depend on the pipeline's procedural generators.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

from igsed.core.constants import CLASSES

FIXTURE_RATE = 32_000
POOLS = ("train", "eval")
# The long event exceeds a 10 s clip, so synthesis must truncate it.
LONG_EVENT = ("train", "Vacuum_cleaner", 0, 12.0)


def _event_audio(class_index: int, pool_index: int, file_index: int, seconds: float) -> np.ndarray:
    t = np.arange(int(round(seconds * FIXTURE_RATE))) / FIXTURE_RATE
    base = 250.0 * 2.0 ** (class_index / 4.0) * (1.0 + 0.03 * file_index + 0.011 * pool_index)
    tone = np.sin(2 * np.pi * base * t) + 0.3 * np.sin(2 * np.pi * 2.0 * base * t)
    # Alternate steady tones with amplitude-modulated ones so classes differ in shape too.
    if class_index % 2:
        tone *= 0.6 + 0.4 * np.sin(2 * np.pi * (2.0 + class_index) * t)
    return (0.3 * tone).astype(np.float32)


def _background_audio(rng: np.random.Generator, seconds: float) -> np.ndarray:
    white = rng.standard_normal(int(round(seconds * FIXTURE_RATE)))
    # A one-pole low-pass makes a room-like rumble rather than hiss.
    smooth = lfilter([0.02], [1.0, -0.98], white)
    return (0.2 * smooth / (np.abs(smooth).max() + 1e-9)).astype(np.float32)


def write_soundbank(
    root: Path, *, files_per_class: int = 2, backgrounds: int = 2, seed: int = 0
) -> Path:
    """Write the soundbank under `root` and return `root`.

    Event durations span 0.3-4.2 s (the paper's natural range), plus one 12 s train event.
    Train and eval files differ in pitch, so their contents never coincide.
    """
    rng = np.random.default_rng(seed)
    for pool_index, pool in enumerate(POOLS):
        for class_index, label in enumerate(CLASSES):
            folder = root / pool / "foreground" / label
            folder.mkdir(parents=True, exist_ok=True)
            for file_index in range(files_per_class):
                seconds = 0.3 + ((7 * class_index + 3 * file_index + 5 * pool_index) % 40) / 10.0
                if (pool, label, file_index) == LONG_EVENT[:3]:
                    seconds = LONG_EVENT[3]
                audio = _event_audio(class_index, pool_index, file_index, seconds)
                sf.write(folder / f"{label.lower()}_{file_index:03d}.wav", audio, FIXTURE_RATE)
        folder = root / pool / "background"
        folder.mkdir(parents=True, exist_ok=True)
        for bg_index in range(backgrounds):
            # One background shorter than a clip (Scaper loops it), one longer.
            seconds = 3.0 if bg_index % 2 == 0 else 12.0
            audio = _background_audio(rng, seconds)
            sf.write(folder / f"room_{bg_index:03d}.wav", audio, FIXTURE_RATE)
    return root
