"""Feature cache: the HDF5 schema, labels, lazy reading and atomic writing."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from support.audio_data import (
    TINY_DIM,
    TINY_WIDTH,
    calibrated_backbone,
    write_dataset,
)

from igsed.core.annotations import frame_labels
from igsed.core.audio import load_clip
from igsed.core.checksums import file_digest
from igsed.core.constants import (
    CLASS_INDEX,
    CLASSES,
    CLIP_SAMPLES,
    EVAL_FRAME_SECONDS,
    MODEL_FRAME_SECONDS,
    N_MODEL_FRAMES,
)
from igsed.formats.features import FeatureBatch, FeatureCache, FeatureCacheWriter
from igsed.models.cnn14 import load_backbone
from igsed.training.cache_features import cache_features

torch.set_num_threads(1)


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
