"""Feature cache: the HDF5 schema, labels, lazy reading and atomic writing.

Also holds the small builders (tonal clips, manifests, tiny backbones) that the model tests
share; they import them from here.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from igsed.annotations import Event, frame_labels
from igsed.audio import load_clip
from igsed.backbone import load_backbone, save_backbone
from igsed.checksums import file_digest
from igsed.constants import (
    CLASS_INDEX,
    CLASSES,
    CLIP_SAMPLES,
    EVAL_FRAME_SECONDS,
    MODEL_FRAME_SECONDS,
    N_MODEL_FRAMES,
    SAMPLE_RATE,
)
from igsed.features import cache_features
from igsed.formats.features import FeatureBatch, FeatureCache, FeatureCacheWriter
from igsed.formats.manifest import write_events, write_manifest
from igsed.models.cnn14 import Cnn14

torch.set_num_threads(1)

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


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("features")
    manifest, events_path, events = write_dataset(root, {"train": 3, "val": 2}, seconds=4.0)
    audio = [load_clip(root / "audio" / f"train_0000{i}.wav") for i in range(3)]
    backbone = calibrated_backbone(root / "backbone.pt", audio)
    out = root / "val.h5"
    cache_features(manifest, events_path, "val", backbone, out, batch_size=1, device="cpu")
    return {
        "root": root,
        "manifest": manifest,
        "events_path": events_path,
        "events": events,
        "backbone": backbone,
        "cache": out,
    }


def test_cache_schema(dataset: dict) -> None:
    with h5py.File(dataset["cache"], "r") as handle:
        assert handle.attrs["backbone_sha256"] == file_digest(dataset["backbone"])
        assert handle.attrs["split"] == "val"
        config = json.loads(handle.attrs["config"])
        assert config["backbone_width"] == TINY_WIDTH and config["n_clips"] == 2
        assert json.loads(handle.attrs["classes"]) == list(CLASSES)
        expected = {
            "features": ((2, N_MODEL_FRAMES, TINY_DIM), np.float32),
            "clip_labels": ((2, 10), np.uint8),
            "frame_labels": ((2, N_MODEL_FRAMES, 10), np.uint8),
            "frame_labels_100ms": ((2, 100, 10), np.uint8),
        }
        for name, (shape, dtype) in expected.items():
            data = handle[name]
            assert data.shape == shape and data.dtype == dtype, name
            assert data.chunks == (1, *shape[1:]) and data.compression == "gzip", name
        assert [c.decode() for c in handle["clip_ids"][()]] == ["val_00000", "val_00001"]


def test_cache_round_trip_matches_the_backbone_and_annotations(dataset: dict) -> None:
    model = load_backbone(dataset["backbone"])
    with FeatureCache(dataset["cache"]) as cache:
        assert len(cache) == 2 and cache.n_frames == N_MODEL_FRAMES and cache.dim == TINY_DIM
        for row, clip_id in enumerate(cache.clip_ids):
            batch = cache[row]
            assert batch.clip_ids == [clip_id]
            audio = load_clip(dataset["root"] / "audio" / f"{clip_id}.wav", CLIP_SAMPLES)
            with torch.no_grad():
                direct = model.frame_features(torch.from_numpy(audio)[None]).numpy()
            np.testing.assert_allclose(batch.features, direct, rtol=1e-5, atol=1e-5)
            events = dataset["events"][clip_id]
            np.testing.assert_array_equal(
                batch.frame_labels[0], frame_labels(events, MODEL_FRAME_SECONDS, N_MODEL_FRAMES)
            )
            np.testing.assert_array_equal(
                batch.frame_labels_100ms[0], frame_labels(events, EVAL_FRAME_SECONDS, 100)
            )
            present = {CLASS_INDEX[e.label] for e in events}
            assert set(np.flatnonzero(batch.clip_labels[0])) == present
            assert batch.frame_labels[0].any(axis=0).nonzero()[0].tolist() == sorted(present)


def test_reader_is_lazy_and_reorders_batches(dataset: dict) -> None:
    cache = FeatureCache(dataset["cache"])
    assert cache._file is None  # nothing opened until data is asked for
    both = cache.batch([1, 0, 1])
    assert both.clip_ids == ["val_00001", "val_00000", "val_00001"]
    np.testing.assert_array_equal(both.features[0], both.features[2])
    np.testing.assert_array_equal(both.features[1], cache[0].features[0])
    assert [b.clip_ids for b in cache.iter_batches(1)] == [["val_00000"], ["val_00001"]]
    assert cache.dataset("features").shape[0] == 2
    with pytest.raises(IndexError):
        cache.batch([5])
    cache.close()
    assert cache._file is None


def test_writer_is_atomic_and_checks_shapes(tmp_path: Path) -> None:
    target = tmp_path / "train.h5"

    def batch(n: int, dim: int = 4) -> FeatureBatch:
        return FeatureBatch(
            clip_ids=[f"c{i}" for i in range(n)],
            features=np.zeros((n, N_MODEL_FRAMES, dim), np.float32),
            clip_labels=np.zeros((n, 10), np.uint8),
            frame_labels=np.zeros((n, N_MODEL_FRAMES, 10), np.uint8),
            frame_labels_100ms=np.zeros((n, 100, 10), np.uint8),
        )

    settings = {"split": "train", "backbone_sha256": "abc", "config": {}}
    with (
        pytest.raises(ValueError, match="1 of 2 rows"),
        FeatureCacheWriter(target, 2, N_MODEL_FRAMES, 4, **settings) as writer,
    ):
        writer.write(batch(1))
    with (
        pytest.raises(ValueError, match="features has shape"),
        FeatureCacheWriter(target, 2, N_MODEL_FRAMES, 4, **settings) as writer,
    ):
        writer.write(batch(2, dim=5))
    assert list(tmp_path.iterdir()) == []
    with FeatureCacheWriter(target, 2, N_MODEL_FRAMES, 4, **settings) as writer:
        writer.write(batch(2))
    assert FeatureCache(target).clip_ids == ["c0", "c1"]


def test_same_inputs_give_identical_cache_bytes(dataset: dict, tmp_path: Path) -> None:
    again = tmp_path / "val.h5"
    cache_features(
        dataset["manifest"],
        dataset["events_path"],
        "val",
        dataset["backbone"],
        again,
        batch_size=1,
        device="cpu",
    )
    assert file_digest(again) == file_digest(dataset["cache"])


def test_unknown_split_is_an_error(dataset: dict, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no clips of split 'test'"):
        cache_features(
            dataset["manifest"],
            dataset["events_path"],
            "test",
            dataset["backbone"],
            tmp_path / "test.h5",
            batch_size=2,
            device="cpu",
        )
