"""The formats layer: atomic writes, frame masks, manifests, shards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from igsed.core.annotations import Event, clip_labels, frame_labels, frame_mask, max_polyphony
from igsed.core.atomic import atomic_path, write_json
from igsed.core.constants import CLASSES
from igsed.formats.manifest import (
    events_by_clip,
    read_clip_ids,
    read_manifest,
    shard_assignment,
    write_manifest,
)
from igsed.formats.shards import (
    ClipAttribution,
    ShardError,
    ShardExpectation,
    model_checksum,
    read_shard,
    require_current_shards,
    write_shard,
)

REPO = Path(__file__).resolve().parents[2]


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    write_json(target, {"a": 1})
    assert target.read_text().strip().startswith("{")


def test_frame_mask_boundaries() -> None:
    events = [Event(0.2, 0.5, "Dog"), Event(0.95, 1.01, "Dog"), Event(0.3, 0.4, "Cat")]
    mask = frame_mask(events, "Dog", 0.1, 20)
    assert np.flatnonzero(mask).tolist() == [2, 3, 4, 9, 10]
    # An event ending exactly on 0.3 s must not switch on frame [0.3, 0.4).
    assert np.flatnonzero(frame_mask([Event(0.1, 0.3, "Cat")], "Cat", 0.1, 10)).tolist() == [1, 2]
    labels = frame_labels(events, 0.1, 20)
    assert labels.shape == (20, len(CLASSES))
    assert labels[:, CLASSES.index("Cat")].nonzero()[0].tolist() == [3]
    assert clip_labels(events).sum() == 2


def test_frame_mask_clips_events_to_the_grid() -> None:
    mask = frame_mask([Event(9.95, 12.0, "Dog"), Event(-1.0, 0.05, "Dog")], "Dog", 0.1, 100)
    assert np.flatnonzero(mask).tolist() == [0, 99]


def test_max_polyphony_counts_overlaps_not_touching_ends() -> None:
    assert max_polyphony([Event(0, 1, "a"), Event(1, 2, "b")]) == 1
    assert max_polyphony([Event(0, 2, "a"), Event(1, 3, "b"), Event(1.5, 1.8, "c")]) == 3
    assert max_polyphony([]) == 0


def test_manifest_round_trip_and_shards(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "clip_id": ["evalpool_00001", "evalpool_00002", "evalpool_00003", "train_00001"],
            "split": ["val", "val", "test", "train"],
            "audio_path": ["a.wav", "b.wav", "c.wav", "d.wav"],
            "jams_path": ["a.jams", "b.jams", "c.jams", "d.jams"],
            "n_events": [1, 2, 1, 3],
            "polyphony": [1, 2, 1, 2],
        }
    )
    path = tmp_path / "manifest.tsv"
    write_manifest(frame, path)
    assert read_clip_ids(path, "val") == ["evalpool_00001", "evalpool_00002"]
    assert read_manifest(path, "test")["clip_id"].tolist() == ["evalpool_00003"]
    ids = [f"c{i}" for i in range(5)]
    assert shard_assignment(ids, 1) == {i: [i] for i in ids}
    assert shard_assignment(ids, 2) == {
        "shard_00000": ["c0", "c1"],
        "shard_00001": ["c2", "c3"],
        "shard_00002": ["c4"],
    }
    with pytest.raises(ValueError, match="clips_per_shard"):
        shard_assignment(ids, 0)
    events = pd.DataFrame(
        {
            "clip_id": ["x", "x"],
            "onset": [0.0, 1.0],
            "offset": [1.0, 2.0],
            "event_label": ["Dog", "Cat"],
            "source_file": ["d.wav", "c.wav"],
        }
    )
    assert [e.label for e in events_by_clip(events)["x"]] == ["Dog", "Cat"]


def _clip(clip_id: str, classes: list[str], rng: np.random.Generator) -> ClipAttribution:
    k = len(classes)
    return ClipAttribution(
        clip_id=clip_id,
        probabilities=rng.random(10),
        attributed_classes=classes,
        ground_truth=(rng.random((100, 10)) > 0.5).astype(np.uint8),
        ig=rng.random((k, 100)),
        convergence_delta=rng.random(k),
        f_input=rng.random(k),
        f_baseline=rng.random(k),
        fw_weak=rng.random((100, 10)),
        fw_strong=rng.random((100, 10)),
        fw_weak_clip=rng.random(10),
        fw_strong_clip=rng.random(10),
        energy=rng.random(100),
        random=rng.random((100, 10)),
    )


def test_shard_round_trip_including_clips_without_detections(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    clips = [_clip("a", ["Dog", "Cat"], rng), _clip("b", [], rng)]
    path = tmp_path / "shard.h5"
    write_shard(path, clips, split="val", model_checksum="abc", settings={"n_steps": 4})
    shard = read_shard(path)
    assert (shard.split, shard.model_checksum, shard.settings) == ("val", "abc", {"n_steps": 4})
    by_id = {clip.clip_id: clip for clip in shard.clips}
    assert by_id["a"].attributed_classes == ["Dog", "Cat"]
    np.testing.assert_allclose(by_id["a"].ig, clips[0].ig.astype(np.float32))
    assert by_id["b"].ig.shape == (0, 100)
    assert by_id["b"].ig_signed is None


def test_a_truncated_shard_is_named_with_its_rebuild_command(tmp_path: Path) -> None:
    path = tmp_path / "results" / "attribution" / "test" / "c1.h5"
    path.parent.mkdir(parents=True)
    rng = np.random.default_rng(1)
    write_shard(path, [_clip("a", ["Dog"], rng)], split="test", model_checksum="m", settings={})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ShardError) as error:
        read_shard(path)
    message = str(error.value)
    assert str(path) in message and "cut short" in message
    assert f"--rerun-incomplete --forcerun {path}" in message


def _models(tmp_path: Path, content: str) -> dict[str, Path]:
    models = {}
    for role in ("backbone", "clip_head", "fw_weak", "fw_strong"):
        models[role] = tmp_path / f"{role}.pt"
        models[role].write_text(f"{role} {content}")
    return models


def test_shards_made_with_other_settings_or_models_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    models = _models(tmp_path, "v1")
    settings = {"n_steps": 4, "method": "gausslegendre", "threshold": 0.5, "device": "cpu"}
    current, stale = tmp_path / "current.h5", tmp_path / "stale.h5"
    checksum = model_checksum(models)
    for path, n_steps in ((current, 6), (stale, 4)):
        clips = [_clip(path.stem, ["Dog"], rng)]
        shard_settings = {**settings, "n_steps": n_steps}
        write_shard(path, clips, split="test", model_checksum=checksum, settings=shard_settings)
    configured = {"n_steps": 6, "method": "gausslegendre", "threshold": 0.5}
    require_current_shards([current], ShardExpectation.of(models, configured))
    with pytest.raises(ShardError) as error:
        require_current_shards([current, stale], ShardExpectation.of(models, configured))
    message = str(error.value)
    assert f"{stale}: n_steps = 4 (configured: 6)" in message
    assert f"--forcerun {stale}" in message and f"{current}:" not in message
    retrained = _models(tmp_path, "v2")
    with pytest.raises(ShardError, match="made with other model files"):
        require_current_shards([current], ShardExpectation.of(retrained, configured))


def test_a_damaged_dataset_in_a_shard_that_opens_is_named(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "c2.h5"
    rng = np.random.default_rng(3)
    write_shard(path, [_clip("a", ["Dog"], rng)], split="test", model_checksum="m", settings={})
    with h5py.File(path, "r") as h5:
        chunk = h5["a"]["random"].id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    data[chunk.byte_offset : chunk.byte_offset + chunk.size] = bytes(chunk.size)
    path.write_bytes(bytes(data))
    with pytest.raises(ShardError, match="unreadable") as error:
        read_shard(path)
    assert str(path) in str(error.value) and "--forcerun" in str(error.value)
