"""Small data for model tests: tonal clips with known events, manifests, tiny backbones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch

from igsed.core.annotations import Event
from igsed.core.constants import (
    CLASS_INDEX,
    CLASSES,
    SAMPLE_RATE,
)
from igsed.formats.manifest import write_events, write_manifest
from igsed.models.cnn14 import Cnn14, save_backbone

TINY_WIDTH = 1 / 16
TINY_DIM = 128


def tonal_clip(events: list[Event], seed: int, seconds: float = 10.0) -> np.ndarray:
    """Low noise plus, per event, a class-specific harmonic tone (a crude soundscape)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    audio = 0.003 * rng.standard_normal(n)
    for event in events:
        f0 = 150.0 * 1.4 ** CLASS_INDEX[event.label]
        start, stop = int(event.onset * SAMPLE_RATE), int(event.offset * SAMPLE_RATE)
        span = t[start:stop]
        tone = sum(np.sin(2 * np.pi * f0 * h * span) / h for h in (1, 2, 3))
        audio[start:stop] += 0.1 * tone * np.hanning(span.size)
    return audio.astype(np.float32)


def random_events(rng: np.random.Generator, seconds: float = 10.0) -> list[Event]:
    events = []
    for _ in range(int(rng.integers(1, 3))):
        label = CLASSES[int(rng.integers(0, 4))]  # four classes keep small tests learnable
        duration = float(rng.uniform(0.5, min(3.0, seconds - 0.5)))
        onset = float(rng.uniform(0.0, seconds - duration))
        events.append(Event(round(onset, 3), round(onset + duration, 3), label))
    return events


def write_dataset(
    root: Path, n_clips: dict[str, int], seed: int = 0, seconds: float = 10.0
) -> tuple[Path, Path, dict[str, list[Event]]]:
    """Tonal clips on disk with a split manifest and event table; returns their paths."""
    rng = np.random.default_rng(seed)
    rows, event_rows, events = [], [], {}
    for split, count in n_clips.items():
        for index in range(count):
            clip_id = f"{split}_{index:05d}"
            clip_events = random_events(rng, seconds)
            path = root / "audio" / f"{clip_id}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, tonal_clip(clip_events, seed * 1000 + len(rows), seconds), SAMPLE_RATE)
            rows.append(
                {
                    "clip_id": clip_id,
                    "split": split,
                    "audio_path": str(path),
                    "jams_path": str(path.with_suffix(".jams")),
                    "n_events": len(clip_events),
                    "polyphony": 1,
                }
            )
            events[clip_id] = clip_events
            event_rows += [
                {
                    "clip_id": clip_id,
                    "onset": e.onset,
                    "offset": e.offset,
                    "event_label": e.label,
                    "source_file": f"fg/{e.label}/x.wav",
                }
                for e in clip_events
            ]
    manifest, events_path = root / "manifest.tsv", root / "events.tsv"
    write_manifest(pd.DataFrame(rows), manifest)
    write_events(pd.DataFrame(event_rows), events_path)
    return manifest, events_path, events


def calibrated_backbone(path: Path, audio: list[np.ndarray], seed: int = 0) -> Path:
    """A tiny random CNN14 whose batch-norm statistics are those of `audio`, so its features
    sit in a realistic range (as after pretraining); saved in the backbone format."""
    torch.manual_seed(seed)
    model = Cnn14(width=TINY_WIDTH, n_classes=len(CLASSES))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        power = model.power_spectrogram(torch.from_numpy(np.stack(audio)))
        # Dropout and SpecAugment do not touch the running statistics' meaning here.
        model.frame_features_from_power(power)
    model.eval()
    save_backbone(model, path, source="pipeline", config={"n_classes": 10, "pooling": "max_mean"})
    return path
