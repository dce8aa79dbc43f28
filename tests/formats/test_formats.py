"""The formats layer: atomic writes, frame masks, manifests, shards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from igsed.core.annotations import Event, clip_labels, frame_labels, frame_mask, max_polyphony
from igsed.core.atomic import atomic_path, write_json
from igsed.core.checksums import file_digest
from igsed.core.constants import CLASSES
from igsed.formats.handover import seal
from igsed.formats.instances import Instance, classes_by_clip, read_instances, write_instances
from igsed.formats.manifest import (
    events_by_clip,
    read_clip_ids,
    read_manifest,
    shard_assignment,
    write_manifest,
)
from igsed.formats.shards import (
    ClipScores,
    ShardError,
    ShardExpectation,
    find_clip,
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


def _clip(clip_id: str, classes: list[str], rng: np.random.Generator, **extra) -> ClipScores:
    k = len(classes)
    return ClipScores(clip_id=clip_id, classes=classes, scores=rng.random((k, 100)), **extra)


def _write(path: Path, clips: list[ClipScores], **header) -> None:
    values = {
        "method": "ig",
        "split": "test",
        "model_checksum": "m",
        "instances_checksum": "i",
        "settings": {},
        **header,
    }
    write_shard(path, clips, **values)


@pytest.mark.parametrize(
    "case",
    ["two classes", "no class", "diagnostics", "signed", "signed without rows", "own detections"],
)
def test_shard_round_trip(case: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    classes = [] if case in ("no class", "signed without rows") else ["Dog", "Cat"]
    k = len(classes)
    extra = {
        "diagnostics": {"diagnostics": {"f_input": rng.random(k), "f_baseline": rng.random(k)}},
        "signed": {"signed": rng.normal(size=(k, 320))},
        "signed without rows": {"signed": np.zeros((0, 320))},
        "own detections": {"clip_probabilities": rng.random(10)},
    }.get(case, {})
    clip = _clip("a", classes, rng, **extra)
    path = tmp_path / "shard.h5"
    _write(path, [clip], method="fw_weak", split="val", settings={"n_steps": 4})
    shard = read_shard(path)
    assert (shard.method, shard.split, shard.model_checksum, shard.instances_checksum) == (
        "fw_weak",
        "val",
        "m",
        "i",
    )
    assert shard.settings == {"n_steps": 4}
    (read,) = shard.clips
    assert read.classes == classes and read.scores.shape == (k, 100)
    np.testing.assert_allclose(read.scores, clip.scores.astype(np.float32))
    assert set(read.diagnostics) == set(clip.diagnostics)
    for name, values in clip.diagnostics.items():
        np.testing.assert_array_equal(read.diagnostics[name], values)
    if clip.signed is None:
        assert read.signed is None
    else:
        np.testing.assert_allclose(read.signed, clip.signed.astype(np.float32))
    if clip.clip_probabilities is None:
        assert read.clip_probabilities is None
    else:
        np.testing.assert_array_equal(read.clip_probabilities, clip.clip_probabilities)
    assert find_clip([path], "a").classes == classes and find_clip([path], "b") is None
    if classes:
        np.testing.assert_array_equal(read.row("Cat"), read.scores[1])
    with pytest.raises(KeyError, match="clip a: no scores for class Speech"):
        read.row("Speech")


def test_a_truncated_shard_is_named_with_its_rebuild_command(tmp_path: Path) -> None:
    path = tmp_path / "results" / "attribution" / "test" / "c1.h5"
    path.parent.mkdir(parents=True)
    rng = np.random.default_rng(1)
    _write(path, [_clip("a", ["Dog"], rng)])
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
    explained = {role: models[role] for role in ("backbone", "clip_head")}
    instances = tmp_path / "instances_test.tsv"
    instances.write_text("clip_id\tclass\tprobability\tpresent\n")
    settings = {"n_steps": 4, "method": "gausslegendre", "device": "cpu"}
    current, stale = tmp_path / "current.h5", tmp_path / "stale.h5"
    for path, n_steps in ((current, 6), (stale, 4)):
        _write(
            path,
            [_clip(path.stem, ["Dog"], rng)],
            model_checksum=model_checksum(explained),
            instances_checksum=file_digest(instances),
            settings={**settings, "n_steps": n_steps},
        )
    configured = {"n_steps": 6, "method": "gausslegendre"}
    expectation = ShardExpectation.of("ig", explained, configured, {"test": instances})
    require_current_shards([current], expectation)
    with pytest.raises(ShardError) as error:
        require_current_shards([current, stale], expectation)
    message = str(error.value)
    assert f"{stale}: n_steps = 4 (configured: 6)" in message
    assert f"--forcerun {stale}" in message and f"{current}:" not in message
    retrained = _models(tmp_path, "v2")
    with pytest.raises(ShardError, match="made with other model files"):
        require_current_shards(
            [current],
            ShardExpectation.of(
                "ig",
                {"backbone": retrained["backbone"], "clip_head": explained["clip_head"]},
                configured,
                {"test": instances},
            ),
        )
    instances.write_text("clip_id\tclass\tprobability\tpresent\nx\tDog\t0.9\t1\n")
    with pytest.raises(ShardError, match="made for other test instances"):
        require_current_shards(
            [current], ShardExpectation.of("ig", explained, configured, {"test": instances})
        )
    with pytest.raises(ShardError, match="a shard of method 'ig', expected 'saliency'"):
        require_current_shards([current], ShardExpectation.of("saliency", explained, {}))


def test_a_damaged_dataset_in_a_shard_that_opens_is_named(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "c2.h5"
    rng = np.random.default_rng(3)
    _write(path, [_clip("a", ["Dog"], rng)])
    with h5py.File(path, "r") as h5:
        chunk = h5["a"]["scores"].id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    data[chunk.byte_offset : chunk.byte_offset + chunk.size] = bytes(chunk.size)
    path.write_bytes(bytes(data))
    with pytest.raises(ShardError, match="unreadable") as error:
        read_shard(path)
    assert str(path) in str(error.value) and "--forcerun" in str(error.value)


@pytest.mark.parametrize("rows", [0, 1, 3], ids=["empty", "one", "three"])
def test_instances_round_trip(rows: int, tmp_path: Path) -> None:
    instances = [
        Instance("c1", "Dog", 0.9, True),
        Instance("c1", "Cat", 0.51234567, False),
        Instance("c2", "Speech", 0.75, True),
    ][:rows]
    path = tmp_path / "instances.tsv"
    write_instances(path, instances)
    read = read_instances(path)
    assert [(i.clip_id, i.class_name, i.present) for i in read] == [
        (i.clip_id, i.class_name, i.present) for i in instances
    ]
    assert [i.probability for i in read] == pytest.approx(
        [i.probability for i in instances], abs=1e-6
    )
    if rows == 3:
        assert classes_by_clip(read) == {"c1": ["Cat", "Dog"], "c2": ["Speech"]}


def _written(path: Path, text: str) -> Path:
    """A file as a writer would leave it: `text`, and its record (formats.handover)."""
    path.write_text(text)
    seal(path)
    return path


def test_bad_instances_files_are_named(tmp_path: Path) -> None:
    path = tmp_path / "instances.tsv"
    _written(path, "clip_id\tclass\tprobability\tpresent\nc1\tDragon\t0.9\t1\n")
    with pytest.raises(ValueError, match=r"instances.tsv: unknown classes \['Dragon'\]"):
        read_instances(path)
    _written(path, "clip_id\tclass\tprobability\tpresent\nc1\tDog\t0.9\t1\nc1\tDog\t0.8\t1\n")
    with pytest.raises(ValueError, match=r"\(c1, Dog\) is listed twice"):
        read_instances(path)
    _written(path, "clip_id\tclass\n")
    with pytest.raises(ValueError, match="missing columns"):
        read_instances(path)
