"""A fake finished attribution stage: manifest, events, instances and shards with known scores."""

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
from igsed.evaluation.evaluate import EvaluationInputs
from igsed.evaluation.scores import ShardSet
from igsed.formats.faithfulness import write_areas, write_curves
from igsed.formats.instances import Instance, write_instances
from igsed.formats.manifest import write_events, write_manifest
from igsed.formats.sanity import CASCADE_LAYERS, write_sanity
from igsed.formats.shards import ClipScores, write_shard

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


FAKE_METHODS: tuple[str, ...] = ("ig", "fw_weak", "fw_strong", "random", "energy")


def _probabilities(detected: dict[str, float]) -> np.ndarray:
    probabilities = np.full(N_CLASSES, 0.1)
    for name, probability in detected.items():
        probabilities[CLASS_INDEX[name]] = probability
    return probabilities


def fake_instances(clip_id: str, events: list[Event], detected: dict[str, float]) -> list[Instance]:
    """The instances rule's rows of one clip: every detected class (probability > 0.5)."""
    present = {e.label for e in events}
    probabilities = _probabilities(detected)
    return [
        Instance(clip_id, name, float(probabilities[CLASS_INDEX[name]]), name in present)
        for name in CLASSES
        if probabilities[CLASS_INDEX[name]] > 0.5
    ]


def fake_scores(
    method: str,
    clip_id: str,
    events: list[Event],
    detected: dict[str, float],
    *,
    signed: bool = False,
) -> ClipScores:
    """IG and FW-SS scores are perfect (1 on event frames, 0 elsewhere); energy is flat."""
    rng = np.random.default_rng(sum(map(ord, clip_id)))
    truth = frame_labels(events, EVAL_FRAME_SECONDS, N_EVAL_FRAMES)
    probabilities = _probabilities(detected)
    attributed = [i.class_name for i in fake_instances(clip_id, events, detected)]
    fw_weak = (0.6 * truth + 0.5 * rng.random((N_EVAL_FRAMES, N_CLASSES))).T
    fw_strong = (0.8 * truth + 0.1).T
    if method == "ig":
        ig = truth[:, [CLASS_INDEX[c] for c in attributed]].T.astype(np.float64)
        # The absent Blender detection has F(x) == F(0): relative completeness is undefined.
        diagnostics = {
            "convergence_delta": 0.01 * (np.arange(len(attributed)) + 1),
            "f_input": np.array([probabilities[CLASS_INDEX[c]] for c in attributed]),
            "f_baseline": np.array([0.6 if c == "Blender" else 0.2 for c in attributed]),
        }
        ig_signed = None
        if signed:
            ig_signed = rng.normal(0.0, 0.01, (len(attributed), CLIP_SAMPLES))
            samples_per_frame = CLIP_SAMPLES // N_EVAL_FRAMES
            ig_signed *= 1.0 + 20.0 * np.repeat(ig, samples_per_frame, axis=1)
        return ClipScores(clip_id, attributed, ig, diagnostics, ig_signed)
    all_classes = {
        "fw_weak": fw_weak,
        "fw_strong": fw_strong,
        "energy": np.full((N_CLASSES, N_EVAL_FRAMES), 0.05),
        "random": rng.random((N_EVAL_FRAMES, N_CLASSES)).T,
    }[method]
    own = {"fw_weak": fw_weak.max(axis=1), "fw_strong": fw_strong.max(axis=1)}.get(method)
    return ClipScores(clip_id, list(CLASSES), all_classes, clip_probabilities=own)


@dataclass
class FakeRun:
    shards: ShardSet
    instances: dict[str, Path]
    expected: dict[str, list[str]]
    manifest: Path
    events: Path

    def inputs(self) -> EvaluationInputs:
        return EvaluationInputs(self.shards, self.instances, self.events, self.expected)


def write_fake_run(root: Path, *, audio: bool = False) -> FakeRun:
    """One shard per method and clip, the instances files, the split manifest and events
    (and test audio if asked)."""
    shards: dict[str, dict[str, list[Path]]] = {m: {"val": [], "test": []} for m in FAKE_METHODS}
    instances: dict[str, Path] = {}
    manifest_rows, event_rows = [], []
    for split, clips in (("val", VAL_CLIPS), ("test", TEST_CLIPS)):
        rows = [i for clip_id, (ev, det) in clips.items() for i in fake_instances(clip_id, ev, det)]
        instances[split] = root / "attribution" / f"instances_{split}.tsv"
        write_instances(instances[split], rows)
        for clip_id, (events, detected) in clips.items():
            for method in FAKE_METHODS:
                path = root / "attribution" / method / split / f"{clip_id}.h5"
                clip = fake_scores(method, clip_id, events, detected, signed=clip_id == FIGURE_CLIP)
                write_shard(
                    path,
                    [clip],
                    method=method,
                    split=split,
                    model_checksum="abc",
                    instances_checksum="",
                    settings={"n_steps": 8} if method == "ig" else {},
                )
                shards[method][split].append(path)
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
        shards=ShardSet(shards),
        instances=instances,
        expected={"val": list(VAL_CLIPS), "test": list(TEST_CLIPS)},
        manifest=manifest,
        events=events_path,
    )


# How fast each fake method's MoRF deletion curve falls (the LeRF one mirrors it).
FAKE_FAITHFULNESS: dict[str, float] = {
    "ig": 3.0,
    "fw_weak": 2.0,
    "fw_strong": 4.0,
    "random": 1.0,
    "energy": 1.5,
}
# The fake sanity check's median correlation once every layer is random: IG passes, the
# energy-like second method ("saliency") does not.
FAKE_SANITY_END: dict[str, float] = {"ig": 0.05, "saliency": 0.8}


def _fake_curve(
    probability: float, fractions: np.ndarray, speed: float, rising: bool
) -> np.ndarray:
    falling = probability * (1.0 - fractions) ** speed
    return probability - falling + 0.05 if rising else falling


def write_fake_faithfulness(root: Path, steps: int = 10) -> dict[str, dict[str, Path]]:
    """curves.csv and areas.csv of every fake method on the test instances, areas computed
    from the curves with the trapezoid rule; {"curves": {method: path}, "areas": {...}}."""
    fractions = np.linspace(0.0, 1.0, steps + 1)
    instances = [
        i for clip_id, (ev, det) in TEST_CLIPS.items() for i in fake_instances(clip_id, ev, det)
    ]
    paths: dict[str, dict[str, Path]] = {"curves": {}, "areas": {}}
    for method, speed in FAKE_FAITHFULNESS.items():
        curve_rows, area_rows = [], []
        for instance in instances:
            area = {"clip_id": instance.clip_id, "class": instance.class_name}
            area["probability"] = instance.probability
            for curve, order, fast, rising in (
                ("deletion", "morf", speed, False),
                ("deletion", "lerf", 1.0 / speed, False),
                ("insertion", "morf", speed, True),
                ("insertion", "lerf", 1.0 / speed, True),
            ):
                values = _fake_curve(instance.probability, fractions, fast, rising)
                if rising:
                    values[-1] = instance.probability
                else:
                    values[0] = instance.probability
                curve_rows += [
                    {**area, "curve": curve, "order": order, "fraction": f, "probability": v}
                    for f, v in zip(fractions, values, strict=True)
                ]
                trapezoid = float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(fractions)))
                area[f"{curve}_{order}"] = trapezoid / instance.probability
            area_rows.append(area)
        directory = root / "faithfulness" / method
        paths["curves"][method] = directory / "curves.csv"
        paths["areas"][method] = directory / "areas.csv"
        write_curves(paths["curves"][method], pd.DataFrame(curve_rows))
        write_areas(paths["areas"][method], pd.DataFrame(area_rows))
    return paths


def write_fake_sanity(root: Path) -> dict[str, Path]:
    """Sanity tables whose correlations fall linearly from 0.9 to FAKE_SANITY_END."""
    instances = [
        i for clip_id, (ev, det) in TEST_CLIPS.items() for i in fake_instances(clip_id, ev, det)
    ]
    paths = {}
    for method, end in FAKE_SANITY_END.items():
        rows = [
            {
                "level": level,
                "layer": layer,
                "clip_id": instance.clip_id,
                "class": instance.class_name,
                "spearman": 0.9 + (end - 0.9) * (level - 1) / (len(CASCADE_LAYERS) - 1),
            }
            for level, layer in enumerate(CASCADE_LAYERS, start=1)
            for instance in instances
        ]
        paths[method] = root / "sanity" / f"{method}.csv"
        write_sanity(paths[method], pd.DataFrame(rows))
    return paths
