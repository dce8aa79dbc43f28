"""A recordings condition's split: real files and DCASE strong labels, no synthesis.

A folder of 44.1 kHz stereo FLAC files (7 s, 10 s and 23 s) with an annotations TSV that
names a class outside the ten; the split's manifest, events, windows, valid lengths and
32 kHz audio are checked against hand-computed windows and scipy's polyphase resampler,
and every bad annotation case gives one error listing its rows (or, with strict: false,
is skipped and counted).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from igsed.conditions.recordings import (
    RecordingsSpec,
    build_recordings_split,
    clip_bases,
    split_files,
)
from igsed.core.constants import CLASSES, CLIP_SAMPLES, SAMPLE_RATE
from igsed.formats.manifest import (
    MANIFEST_COLUMNS,
    read_events,
    read_manifest,
    read_split_summary,
    read_valid_frames,
)
from igsed.formats.strong_labels import StrongLabelError

SOURCE_RATE = 44_100
HEADER = "filename\tonset\toffset\tevent_label\n"
# name -> seconds; "street b" has a space, which a clip id cannot hold.
FILES = {"kitchen_a.flac": 7.0, "street b.flac": 23.0, "c.flac": 10.0, "d.flac": 7.0}
VAL_ROWS = [
    "kitchen_a.flac\t0.5\t2.0\tDog",
    "kitchen_a.flac\t1.0\t6.5\tSpeech",
    "kitchen_a.flac\t3.0\t4.0\tBird",
    "c.flac\t\t\t",
]
TEST_ROWS = [
    "street b.flac\t8.0\t12.5\tDog",
    "street b.flac\t19.0\t22.5\tCat",
    "street b.flac\t21.0\t23.0\tBird",
    "d.flac\t6.0\t7.02\tFrying",  # past the end by less than the tolerance
]
# Hand-computed windows in manifest order (val then test, files by name): clip id ->
# (split, source, start, valid seconds, events).
EXPECTED = {
    "c_w000": ("val", "c.flac", 0.0, 10.0, []),
    "kitchen_a_w000": (
        "val",
        "kitchen_a.flac",
        0.0,
        7.0,
        [(0.5, 2.0, "Dog"), (1.0, 6.5, "Speech")],
    ),
    "d_w000": ("test", "d.flac", 0.0, 7.0, [(6.0, 7.0, "Frying")]),
    "street_b_w000": ("test", "street b.flac", 0.0, 10.0, [(8.0, 10.0, "Dog")]),
    "street_b_w001": (
        "test",
        "street b.flac",
        10.0,
        10.0,
        [(0.0, 2.5, "Dog"), (9.0, 10.0, "Cat")],
    ),
    "street_b_w002": ("test", "street b.flac", 20.0, 3.0, [(0.0, 2.5, "Cat")]),
}


def _stereo(seconds: float, seed: int) -> np.ndarray:
    """Two tones below 8 kHz (so that any good resampler agrees) and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * SOURCE_RATE))) / SOURCE_RATE
    left = 0.3 * np.sin(2 * np.pi * (300 + 50 * seed) * t)
    right = 0.2 * np.sin(2 * np.pi * (1200 + 70 * seed) * t + 0.4)
    noise = 0.002 * rng.standard_normal((t.size, 2))
    return np.stack([left, right], axis=1) + noise


def _tsv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recordings")
    audio = root / "audio"
    audio.mkdir()
    for seed, (name, seconds) in enumerate(FILES.items()):
        sf.write(audio / name, _stereo(seconds, seed), SOURCE_RATE, format="FLAC")
    (audio / "broken.flac").write_text("not audio", encoding="utf-8")
    _tsv(root / "val.tsv", VAL_ROWS)
    _tsv(root / "test.tsv", TEST_ROWS)
    _tsv(root / "all.tsv", VAL_ROWS + TEST_ROWS)
    return root


def _outputs(root: Path) -> dict[str, Path]:
    return {
        "audio_dir": root / "clips",
        "manifest_path": root / "split" / "manifest.tsv",
        "events_path": root / "split" / "events.tsv",
        "summary_path": root / "split" / "summary.json",
    }


@pytest.fixture(scope="module")
def built(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    out = _outputs(tmp_path_factory.mktemp("out"))
    spec = RecordingsSpec(
        folder / "audio", {"val": folder / "val.tsv", "test": folder / "test.tsv"}
    )
    summary = build_recordings_split(spec, **out)
    return out, summary


def test_manifest_windows_and_valid_lengths(built) -> None:
    out, _ = built
    manifest = read_manifest(out["manifest_path"])
    assert list(manifest.columns[: len(MANIFEST_COLUMNS)]) == list(MANIFEST_COLUMNS)
    assert list(manifest["clip_id"]) == list(EXPECTED)
    for row in manifest.itertuples(index=False):
        split, source, start, valid, events = EXPECTED[row.clip_id]
        assert (row.split, row.source_file) == (split, source)
        assert (row.window_start_s, row.valid_seconds) == (start, valid)
        assert row.audio_path == (out["audio_dir"] / f"{row.clip_id}.wav").as_posix()
        assert row.n_events == len(events)
        assert row.polyphony == (2 if row.clip_id == "kitchen_a_w000" else min(len(events), 1))
    frames = read_valid_frames(out["manifest_path"])
    assert frames == {
        "kitchen_a_w000": 70,
        "c_w000": 100,
        "street_b_w000": 100,
        "street_b_w001": 100,
        "street_b_w002": 30,
        "d_w000": 70,
    }


def test_each_window_has_its_own_part_of_the_annotations(built) -> None:
    out, _ = built
    events = read_events(out["events_path"])
    found: dict[str, list] = {clip_id: [] for clip_id in EXPECTED}
    for row in events.itertuples(index=False):
        found[row.clip_id].append((row.onset, row.offset, row.event_label))
        assert row.source_file == EXPECTED[row.clip_id][1]
    assert found == {clip_id: expected[4] for clip_id, expected in EXPECTED.items()}
    assert "Bird" not in set(events["event_label"])


def test_clips_are_32_khz_mono_resampled_and_zero_padded(built, folder: Path) -> None:
    out, _ = built
    for name, seconds in FILES.items():
        stereo, rate = sf.read(folder / "audio" / name, dtype="float64", always_2d=True)
        assert rate == SOURCE_RATE and stereo.shape[1] == 2
        # Independent: scipy's polyphase resampler of the channel mean (32000 / 44100).
        expected = resample_poly(stereo.mean(axis=1), 320, 441)
        assert expected.size == round(seconds * SAMPLE_RATE)
        ids = [c for c, e in EXPECTED.items() if e[1] == name]
        clips = []
        for clip_id in ids:
            clip, clip_rate = sf.read(out["audio_dir"] / f"{clip_id}.wav", always_2d=True)
            assert clip_rate == SAMPLE_RATE and clip.shape == (CLIP_SAMPLES, 1)
            clips.append(clip[:, 0])
        joined = np.concatenate(clips)
        valid = expected.size
        # The filters differ only within a few ms of the recording's ends.
        edge = SAMPLE_RATE // 100
        np.testing.assert_allclose(
            joined[edge : valid - edge], expected[edge : valid - edge], rtol=0, atol=2e-3
        )
        assert np.all(joined[valid:] == 0.0)


def test_summary_counts_the_dropped_labels(built) -> None:
    out, summary = built
    assert read_split_summary(out["summary_path"]) == json.loads(json.dumps(summary, default=str))
    assert summary["dropped_labels"] == {"Bird": 2}
    counts = summary["counts"]
    assert (counts["val"], counts["test"]) == (2, 4)
    assert (counts["recordings_val"], counts["recordings_test"]) == (2, 2)
    assert (counts["padded_clips"], counts["dropped_label_rows"], counts["skipped_rows"]) == (
        3,
        2,
        0,
    )
    assert summary["splits"]["test"]["events_by_class"]["Cat"] == 2
    assert summary["splits"]["val"]["seconds_of_audio"] == 17.0
    assert set(summary["splits"]["val"]["events_by_class"]) == set(CLASSES)


def test_a_seeded_split_keeps_every_window_of_a_file_together(folder: Path, tmp_path: Path):
    spec = RecordingsSpec(folder / "audio", folder / "all.tsv", val_fraction=0.5, seed=7)
    summary = build_recordings_split(spec, **_outputs(tmp_path))
    manifest = read_manifest(tmp_path / "split" / "manifest.tsv")
    by_file = manifest.groupby("source_file")["split"].agg(set)
    assert all(len(splits) == 1 for splits in by_file)
    names = sorted(FILES)
    order = np.random.default_rng(7).permutation(len(names))
    val = {names[i] for i in order[:2]}  # floor(4 x 0.5)
    assert {f for f, s in by_file.items() if s == {"val"}} == val
    assert summary["seed"] == 7 and summary["val_test"] == "seeded split of the files"
    assert split_files(names, 0.1, 0) == split_files(names, 0.1, 0)
    assert len(split_files(names, 0.1, 0)["val"]) == 1  # at least one file each
    assert len(split_files(names, 0.99, 0)["test"]) == 1
    with pytest.raises(ValueError, match="at least two"):
        split_files(["one.wav"], 0.5, 0)


BAD_ROWS = {
    "missing file": ("ghost.flac\t0.0\t1.0\tDog", "file 'ghost.flac' is not in the audio folder"),
    "negative time": ("c.flac\t-1.0\t2.0\tDog", "negative onset -1.0"),
    "reversed times": ("c.flac\t5.0\t4.0\tDog", "offset 4.0 is not after onset 5.0"),
    "beyond the end": (
        "kitchen_a.flac\t6.0\t7.5\tCat",
        "offset 7.5 is beyond the file's end (7.000 s)",
    ),
    "unreadable file": ("broken.flac\t0.0\t1.0\tDog", "file 'broken.flac' cannot be read as"),
    "outside the folder": ("../audio/c.flac\t0.0\t1.0\tDog", "'../audio/c.flac' is not in the"),
}


def _nothing_written(root: Path) -> bool:
    return not (root / "clips").exists() and not (root / "split").exists()


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_each_bad_annotation_case_is_one_error_before_anything_is_written(
    folder: Path, tmp_path: Path, case: str
) -> None:
    row, message = BAD_ROWS[case]
    tsv = _tsv(tmp_path / "labels.tsv", [*VAL_ROWS, row])
    spec = RecordingsSpec(folder / "audio", tsv)
    with pytest.raises(StrongLabelError) as error:
        build_recordings_split(spec, **_outputs(tmp_path))
    text = str(error.value)
    assert text.startswith("1 annotation rows cannot be used (set strict: false")
    assert f"{tsv}:{len(VAL_ROWS) + 2}: " in text and message in text
    assert _nothing_written(tmp_path)


def test_every_bad_row_of_both_files_is_in_the_one_error(folder: Path, tmp_path: Path) -> None:
    rows = [row for row, _ in BAD_ROWS.values()]
    val = _tsv(tmp_path / "val.tsv", [*VAL_ROWS, *rows[:2]])
    test = _tsv(tmp_path / "test.tsv", [*TEST_ROWS, *rows[2:], "c.flac\t1.0\t2.0\tDog"])
    spec = RecordingsSpec(folder / "audio", {"val": val, "test": test})
    with pytest.raises(StrongLabelError) as error:
        build_recordings_split(spec, **_outputs(tmp_path))
    text = str(error.value)
    assert text.startswith("7 annotation rows cannot be used")
    for _, message in BAD_ROWS.values():
        assert message in text
    for where in (f"{val}:6: ghost", f"{val}:7: c.", f"{test}:6: c.", f"{test}:7: kitchen_a"):
        assert where in text
    assert f"{test}:8: broken.flac" in text
    assert f"{test}: c.flac: also annotated in {val}" in text
    assert _nothing_written(tmp_path)


def test_strict_false_skips_the_bad_rows_and_leaves_their_files_out(
    folder: Path, tmp_path: Path
) -> None:
    rows = [row for row, _ in BAD_ROWS.values()]
    tsv = _tsv(tmp_path / "labels.tsv", [*VAL_ROWS, *TEST_ROWS, *rows])
    spec = RecordingsSpec(folder / "audio", tsv, strict=False, seed=3)
    summary = build_recordings_split(spec, **_outputs(tmp_path))
    counts = summary["counts"]
    assert counts["skipped_rows"] == 6 and len(summary["skipped_rows"]) == 6
    # c.flac and kitchen_a.flac exist but lost a row: what is left of their annotation would
    # call the skipped event's frames background, so they are left out whole.
    assert summary["left_out_recordings"] == ["c.flac", "kitchen_a.flac"]
    manifest = read_manifest(tmp_path / "split" / "manifest.tsv")
    assert set(manifest["source_file"]) == {"street b.flac", "d.flac"}
    assert counts["val"] + counts["test"] == 4 and counts["left_out_recordings"] == 2


def test_clip_ids_are_safe_and_unique() -> None:
    bases = clip_bases(["a b.wav", "a_b.flac", "sub/x.y.wav", "Y--4gqA_0.000_7.000.wav"])
    assert bases["sub/x.y.wav"] == "sub_x_y"
    assert bases["Y--4gqA_0.000_7.000.wav"] == "Y--4gqA_0_000_7_000"
    assert bases["a b.wav"] != bases["a_b.flac"]
    assert bases["a b.wav"].startswith("a_b_") and len(set(bases.values())) == 4
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", base) for base in bases.values())


def test_spec_from_config() -> None:
    one = RecordingsSpec.from_config({"audio": "a", "annotations": "x.tsv"}, default_seed=5)
    assert one == RecordingsSpec(Path("a"), Path("x.tsv"), True, 0.5, 5)
    two = RecordingsSpec.from_config(
        {"audio": "a", "annotations": {"val": "v.tsv", "test": "t.tsv"}, "strict": False},
        default_seed=5,
    )
    assert two.annotation_files() == {"val": Path("v.tsv"), "test": Path("t.tsv")}
    assert not two.strict
    with pytest.raises(ValueError, match="exactly"):
        RecordingsSpec(Path("a"), {"val": Path("v.tsv")})
    with pytest.raises(ValueError, match="val_fraction"):
        RecordingsSpec(Path("a"), Path("x.tsv"), val_fraction=1.0)


def test_an_old_manifest_means_whole_clips(tmp_path: Path) -> None:
    from igsed.formats.manifest import write_manifest

    row = dict(zip(MANIFEST_COLUMNS, ["x", "test", "x.wav", "x.jams", 0, 0], strict=True))
    write_manifest(pd.DataFrame([row]), tmp_path / "m.tsv")
    assert "valid_seconds" not in (tmp_path / "m.tsv").read_text()
    assert read_valid_frames(tmp_path / "m.tsv") == {"x": 100}
