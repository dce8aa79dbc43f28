"""A fake finished attribution stage: manifest, events and shards with known scores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from igsed.core.annotations import Event, frame_labels
from igsed.core.audio import write_wav
from igsed.core.constants import (
    CLASS_INDEX,
    CLASSES,
    CLIP_SAMPLES,
    EVAL_FRAME_SECONDS,
    N_CLASSES,
    N_EVAL_FRAMES,
    SAMPLE_RATE,
)
from igsed.formats.manifest import write_events, write_manifest
from igsed.formats.shards import ClipAttribution, write_shard

FIGURE_CLIP = "test_000"

VAL_CLIPS: dict[str, tuple[list[Event], dict[str, float]]] = {
    "val_000": (
        [Event(1.0, 4.0, "Dog"), Event(5.05, 6.0, "Speech")],  # 30 and 10 frames
        {"Dog": 0.9, "Speech": 0.8},
    ),
    "val_001": ([Event(0.3, 0.7, "Cat")], {"Cat": 0.7, "Blender": 0.6}),  # Blender: absent
    "val_002": ([Event(2.0, 2.5, "Dog")], {"Frying": 0.55}),  # Dog missed, Frying absent
    "val_003": ([Event(0.0, 2.0, "Speech")], {"Speech": 0.95}),
}
TEST_CLIPS: dict[str, tuple[list[Event], dict[str, float]]] = {
    "test_000": (
        [Event(0.0, 1.0, "Dog"), Event(0.5, 2.55, "Cat")],  # 10 and 21 frames
        {"Dog": 0.9, "Cat": 0.8},
    ),
    "test_001": ([Event(3.0, 7.0, "Speech")], {"Speech": 0.9}),  # 40 frames
    "test_002": ([Event(6.0, 6.5, "Dog")], {"Dog": 0.7, "Vacuum_cleaner": 0.9}),  # 5 frames
    "test_003": ([Event(8.0, 9.0, "Cat")], {"Frying": 0.6}),  # Cat missed, Frying absent
}


def fake_clip(
    clip_id: str, events: list[Event], detected: dict[str, float], *, signed: bool = False
) -> ClipAttribution:
    """IG and FW-SS scores are perfect (1 on event frames, 0 elsewhere); energy is flat."""
    rng = np.random.default_rng(sum(map(ord, clip_id)))
    truth = frame_labels(events, EVAL_FRAME_SECONDS, N_EVAL_FRAMES)
    probabilities = np.full(N_CLASSES, 0.1)
    for name, probability in detected.items():
        probabilities[CLASS_INDEX[name]] = probability
    attributed = [c for c in CLASSES if probabilities[CLASS_INDEX[c]] > 0.5]
    ig = truth[:, [CLASS_INDEX[c] for c in attributed]].T.astype(np.float64)
    fw_weak = 0.6 * truth + 0.5 * rng.random((N_EVAL_FRAMES, N_CLASSES))
    fw_strong = 0.8 * truth + 0.1
    f_input = np.array([probabilities[CLASS_INDEX[c]] for c in attributed])
    # The absent Blender detection has F(x) == F(0): relative completeness is undefined there.
    f_baseline = np.array([0.6 if c == "Blender" else 0.2 for c in attributed])
    ig_signed = None
    if signed:
        ig_signed = rng.normal(0.0, 0.01, (len(attributed), CLIP_SAMPLES))
        samples_per_frame = CLIP_SAMPLES // N_EVAL_FRAMES
        ig_signed *= 1.0 + 20.0 * np.repeat(ig, samples_per_frame, axis=1)
    return ClipAttribution(
        clip_id=clip_id,
        probabilities=probabilities,
        attributed_classes=attributed,
        ground_truth=truth,
        ig=ig,
        convergence_delta=0.01 * (np.arange(len(attributed)) + 1),
        f_input=f_input,
        f_baseline=f_baseline,
        fw_weak=fw_weak,
        fw_strong=fw_strong,
        fw_weak_clip=fw_weak.max(axis=0),
        fw_strong_clip=fw_strong.max(axis=0),
        energy=np.full(N_EVAL_FRAMES, 0.05),
        random=rng.random((N_EVAL_FRAMES, N_CLASSES)),
        ig_signed=ig_signed,
    )


@dataclass
class FakeRun:
    val_shards: list[Path]
    test_shards: list[Path]
    expected: dict[str, list[str]]
    manifest: Path
    events: Path


def write_fake_run(root: Path, *, audio: bool = False) -> FakeRun:
    """One shard per clip, plus the split manifest and events (and test audio if asked)."""
    shards: dict[str, list[Path]] = {"val": [], "test": []}
    manifest_rows, event_rows = [], []
    for split, clips in (("val", VAL_CLIPS), ("test", TEST_CLIPS)):
        for clip_id, (events, detected) in clips.items():
            path = root / "attribution" / split / f"{clip_id}.h5"
            clip = fake_clip(clip_id, events, detected, signed=clip_id == FIGURE_CLIP)
            settings = {"ig": {"n_steps": 8}}
            write_shard(path, [clip], split=split, model_checksum="abc", settings=settings)
            shards[split].append(path)
            audio_path = root / "audio" / f"{clip_id}.wav"
            if audio and split == "test":
                rng = np.random.default_rng(len(clip_id))
                signal = 0.01 * rng.standard_normal(CLIP_SAMPLES)
                for event in events:
                    start, stop = int(event.onset * SAMPLE_RATE), int(event.offset * SAMPLE_RATE)
                    signal[start:stop] += 0.3 * np.sin(np.arange(stop - start) * 0.05)
                write_wav(audio_path, signal, SAMPLE_RATE)
            manifest_rows.append(
                {
                    "clip_id": clip_id,
                    "split": split,
                    "audio_path": str(audio_path),
                    "jams_path": str(audio_path.with_suffix(".jams")),
                    "n_events": len(events),
                    "polyphony": 2 if len(events) > 1 else 1,
                }
            )
            event_rows += [
                {
                    "clip_id": clip_id,
                    "onset": e.onset,
                    "offset": e.offset,
                    "event_label": e.label,
                    "source_file": f"{e.label}.wav",
                }
                for e in events
            ]
    manifest = root / "split" / "manifest.tsv"
    events_path = root / "split" / "events.tsv"
    write_manifest(pd.DataFrame(manifest_rows), manifest)
    write_events(pd.DataFrame(event_rows), events_path)
    return FakeRun(
        val_shards=shards["val"],
        test_shards=shards["test"],
        expected={"val": list(VAL_CLIPS), "test": list(TEST_CLIPS)},
        manifest=manifest,
        events=events_path,
    )
