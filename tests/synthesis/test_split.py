from __future__ import annotations

import hashlib
import logging
import warnings
from pathlib import Path

import jams
import pandas as pd
import pytest
import soundfile as sf
from support.soundbank_fixture import write_soundbank

from igsed.core.annotations import max_polyphony
from igsed.core.atomic import atomic_dir, read_json
from igsed.core.scaper_compat import import_scaper
from igsed.formats.manifest import (
    CHUNK_EVENT_COLUMNS,
    EVENT_COLUMNS,
    read_chunk_events,
    read_events,
    read_manifest,
)
from igsed.synthesis.split import shared_source_files, split, split_eval_ids
from igsed.synthesis.synthesize import (
    SynthesisSettings,
    read_clip_jams,
    synthesize,
)

# (onset, offset, label, source_file) per event.
Spec = list[tuple[float, float, str, str]]

THREE_OVERLAPPING: Spec = [
    (0.0, 4.0, "Dog", "train/foreground/Dog/a.wav"),
    (1.0, 5.0, "Cat", "train/foreground/Cat/b.wav"),
    (2.0, 3.0, "Speech", "train/foreground/Speech/c.wav"),
]
TOUCHING: Spec = [
    (0.0, 2.0, "Dog", "train/foreground/Dog/a.wav"),
    (2.0, 4.0, "Cat", "train/foreground/Cat/b.wav"),
    (4.0, 6.5, "Frying", "train/foreground/Frying/d.wav"),
]
TWO_OVERLAPPING: Spec = [
    (1.0, 3.0, "Blender", "train/foreground/Blender/e.wav"),
    (2.5, 6.0, "Dishes", "train/foreground/Dishes/f.wav"),
]
# Three events, but the first and last never meet: polyphony 2 although three overlap in pairs.
CHAINED: Spec = [
    (0.0, 3.0, "Dog", "train/foreground/Dog/a.wav"),
    (2.0, 5.0, "Cat", "train/foreground/Cat/b.wav"),
    (4.0, 7.0, "Speech", "train/foreground/Speech/c.wav"),
]


def _digest(source_file: str) -> str:
    # Content identity of a hand-made source: its name, unless a test says otherwise.
    return hashlib.sha256(source_file.rsplit("/", 1)[-1].encode()).hexdigest()


def write_hand_chunk(
    chunk_dir: Path, clips: dict[str, Spec], digests: dict[str, str] | None = None
):
    """A chunk directory as synthesis writes it, from hand-made events (audio is a stub)."""
    import_scaper()  # registers the 'scaper' JAMS namespace
    chunk_dir.mkdir(parents=True)
    rows = []
    for cid, spec in clips.items():
        jam = jams.JAMS()
        jam.file_metadata.duration = 10.0
        ann = jams.Annotation(namespace="scaper", time=0, duration=10.0)
        background = {"label": "background", "source_file": "bg.wav", "role": "background"}
        ann.append(time=0.0, duration=10.0, value=_value(background, 0.0, 10.0))
        for onset, offset, label, source in spec:
            value = {"label": label, "source_file": source, "role": "foreground"}
            ann.append(time=onset, duration=offset - onset, value=_value(value, onset, offset))
            digest = (digests or {}).get(source, _digest(source))
            rows.append((cid, f"{cid}.wav", onset, offset, label, source, digest))
        jam.annotations.append(ann)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # jams' jsonschema call
            jam.save(str(chunk_dir / f"{cid}.jams"))
        (chunk_dir / f"{cid}.wav").write_bytes(b"")
    table = pd.DataFrame(rows, columns=list(CHUNK_EVENT_COLUMNS))
    table.to_csv(chunk_dir / "events.tsv", sep="\t", index=False)
    return chunk_dir


def _value(base: dict, onset: float, offset: float) -> dict:
    return {
        **base,
        "source_time": 0.0,
        "event_time": onset,
        "event_duration": offset - onset,
        "snr": 20.0,
        "pitch_shift": None,
        "time_stretch": None,
    }


def _eval_spec(i: int) -> Spec:
    return [(0.5, 2.0 + i % 3, "Dog", f"eval/foreground/Dog/e{i}.wav")]


def _split(tmp_path: Path, train_dirs, eval_dirs, *, seed=11, max_polyphony=2, name="split"):
    out = tmp_path / name
    summary = split(
        train_dirs,
        eval_dirs,
        max_polyphony=max_polyphony,
        seed=seed,
        manifest_path=out / "manifest.tsv",
        events_path=out / "events.tsv",
        summary_path=out / "summary.json",
    )
    return summary, out


@pytest.fixture()
def hand_chunks(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    train = write_hand_chunk(
        tmp_path / "train" / "chunk_0",
        {
            "train_00000": THREE_OVERLAPPING,
            "train_00001": TOUCHING,
            "train_00002": TWO_OVERLAPPING,
            "train_00003": CHAINED,
        },
    )
    eval_clips = {f"evalpool_{i:05d}": _eval_spec(i) for i in range(8)}
    eval_clips["evalpool_00008"] = [
        (1.0, 4.0, "Cat", "eval/foreground/Cat/x.wav"),
        (1.5, 3.0, "Dog", "eval/foreground/Dog/y.wav"),
        (2.0, 2.5, "Speech", "eval/foreground/Speech/z.wav"),
    ]
    evalpool_a = write_hand_chunk(
        tmp_path / "evalpool" / "chunk_0", dict(list(eval_clips.items())[:5])
    )
    evalpool_b = write_hand_chunk(
        tmp_path / "evalpool" / "chunk_1", dict(list(eval_clips.items())[5:])
    )
    return [train], [evalpool_a, evalpool_b]


def test_polyphony_of_hand_made_jams(tmp_path: Path, hand_chunks) -> None:
    expected = {"train_00000": 3, "train_00001": 1, "train_00002": 2, "train_00003": 2}
    for cid, poly in expected.items():
        events, _ = read_clip_jams(hand_chunks[0][0] / f"{cid}.jams")
        assert max_polyphony(events) == poly, cid
    summary, out = _split(tmp_path, *hand_chunks)
    manifest = read_manifest(out / "manifest.tsv")
    train = manifest[manifest["split"] == "train"]
    assert list(train["clip_id"]) == ["train_00001", "train_00002", "train_00003"]
    assert list(train["polyphony"]) == [1, 2, 2]
    assert list(train["n_events"]) == [3, 2, 3]
    assert "evalpool_00008" not in set(manifest["clip_id"])
    assert summary["train_pool"]["clips_by_polyphony"] == {"1": 1, "2": 2, "3": 1}
    # A looser filter keeps the three-event overlap.
    summary3, _ = _split(tmp_path, *hand_chunks, max_polyphony=3, name="loose")
    assert summary3["counts"]["train_kept"] == 4


def test_split_counts_halves_and_outputs(tmp_path: Path, hand_chunks, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="igsed.synthesis.split"):
        summary, out = _split(tmp_path, *hand_chunks)
    counts = {
        "train_generated": 4,
        "train_kept": 3,
        "evalpool_generated": 9,
        "evalpool_kept": 8,
        "val": 4,
        "test": 4,
    }
    assert summary["counts"] == counts
    assert read_json(out / "summary.json") == summary
    assert "train 4 -> 3; eval pool 9 -> 8 -> val 4 + test 4" in caplog.text
    manifest = read_manifest(out / "manifest.tsv")
    assert list(manifest["split"]) == ["train"] * 3 + ["val"] * 4 + ["test"] * 4
    for row in manifest.itertuples():
        assert Path(row.audio_path).is_file() and Path(row.jams_path).is_file()
        assert Path(row.jams_path).name == f"{row.clip_id}.jams"
    events = read_events(out / "events.tsv")
    assert tuple(events.columns) == EVENT_COLUMNS
    assert set(events["clip_id"]) == set(manifest["clip_id"])
    assert len(events) == manifest["n_events"].sum()
    assert summary["splits"]["train"]["events"] == 8
    assert summary["splits"]["train"]["events_by_class"]["Dog"] == 2


def test_odd_eval_pool_gives_test_the_extra_clip() -> None:
    ids = [f"evalpool_{i:05d}" for i in range(193)]
    val, test = split_eval_ids(ids, seed=11)
    assert (len(val), len(test)) == (96, 97)
    assert set(val).isdisjoint(test) and set(val) | set(test) == set(ids)


def test_split_is_seeded() -> None:
    ids = [f"evalpool_{i:05d}" for i in range(20)]
    assert split_eval_ids(ids, 11) == split_eval_ids(list(reversed(ids)), 11)
    assert split_eval_ids(ids, 11) != split_eval_ids(ids, 12)


def test_same_inputs_give_identical_files(tmp_path: Path, hand_chunks) -> None:
    _, first = _split(tmp_path, *hand_chunks, name="first")
    _, second = _split(tmp_path, *hand_chunks, name="second")
    _, reseeded = _split(tmp_path, *hand_chunks, seed=12, name="reseeded")
    for name in ("manifest.tsv", "events.tsv", "summary.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert (first / "manifest.tsv").read_bytes() != (reseeded / "manifest.tsv").read_bytes()


def test_shared_source_file_is_rejected_by_name(tmp_path: Path) -> None:
    train = write_hand_chunk(tmp_path / "train", {"train_00000": TWO_OVERLAPPING})
    leaked = [(0.0, 1.0, "Blender", "train/foreground/Blender/e.wav")]
    eval_dir = write_hand_chunk(
        tmp_path / "evalpool",
        {"evalpool_00000": leaked, "evalpool_00001": _eval_spec(1)},
    )
    with pytest.raises(ValueError, match="train/foreground/Blender/e.wav"):
        _split(tmp_path, [train], [eval_dir])
    assert not (tmp_path / "split" / "manifest.tsv").exists()


def test_same_content_under_another_path_is_rejected(tmp_path: Path) -> None:
    train = write_hand_chunk(tmp_path / "train", {"train_00000": TWO_OVERLAPPING})
    copy = "eval/foreground/Blender/copy_of_e.wav"
    eval_dir = write_hand_chunk(
        tmp_path / "evalpool",
        {"evalpool_00000": [(0.0, 1.0, "Blender", copy)], "evalpool_00001": _eval_spec(1)},
        digests={copy: _digest("train/foreground/Blender/e.wav")},
    )
    with pytest.raises(ValueError, match="copy_of_e.wav"):
        _split(tmp_path, [train], [eval_dir])


def test_events_table_must_match_jams(tmp_path: Path, hand_chunks) -> None:
    table_path = hand_chunks[0][0] / "events.tsv"
    table = pd.read_csv(table_path, sep="\t")
    table.loc[table["clip_id"] == "train_00001", "onset"] += 0.5
    table.to_csv(table_path, sep="\t", index=False)
    with pytest.raises(ValueError, match="train_00001 disagree"):
        _split(tmp_path, *hand_chunks)


def test_wrong_pool_and_too_few_eval_clips_raise(tmp_path: Path, hand_chunks) -> None:
    train_dirs, eval_dirs = hand_chunks
    with pytest.raises(ValueError, match="not from the 'evalpool' pool"):
        _split(tmp_path, train_dirs, train_dirs)
    single = write_hand_chunk(tmp_path / "one", {"evalpool_00000": _eval_spec(0)})
    with pytest.raises(ValueError, match="val and test need at least one each"):
        _split(tmp_path, train_dirs, [single])


def test_split_of_synthesized_chunks(tmp_path: Path) -> None:
    bank = write_soundbank(tmp_path / "bank")
    settings = SynthesisSettings()
    dirs = {}
    for pool, n in (("train", 6), ("evalpool", 6)):
        with atomic_dir(tmp_path / pool / "chunk_0") as tmp:
            synthesize(bank, pool, tmp, indices=range(n), seed=3, settings=settings)
        dirs[pool] = tmp_path / pool / "chunk_0"
    summary, out = _split(tmp_path, [dirs["train"]], [dirs["evalpool"]])
    train_events = read_chunk_events(dirs["train"])
    eval_events = read_chunk_events(dirs["evalpool"])
    assert shared_source_files(train_events, eval_events) == []
    manifest = read_manifest(out / "manifest.tsv")
    for row in manifest.itertuples():
        events, _ = read_clip_jams(row.jams_path)
        assert row.polyphony == max_polyphony(events) <= 2
        assert row.n_events == len(events)
        assert sf.info(row.audio_path).frames == 320000
    generated = summary["counts"]["train_generated"] + summary["counts"]["evalpool_generated"]
    assert generated == 12
    kept = summary["counts"]
    assert kept["val"] + kept["test"] == kept["evalpool_kept"]
    assert len(manifest) == kept["train_kept"] + kept["evalpool_kept"]
