"""DCASE strong labels of real recordings: read, checked, every bad row named."""

from __future__ import annotations

from pathlib import Path

import pytest

from igsed.core.annotations import Event
from igsed.core.recording_windows import RecordingWindow, recording_windows, window_events
from igsed.formats.strong_labels import StrongLabelError, read_strong_labels

HEADER = "filename\tonset\toffset\tevent_label\n"
DURATIONS = {"a.wav": 10.0, "b.flac": 7.0, "c.wav": 23.4}


def _tsv(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "labels.tsv"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def test_good_rows_become_events_and_foreign_labels_are_counted(tmp_path: Path) -> None:
    path = _tsv(
        tmp_path,
        [
            "a.wav\t0.5\t2.25\tDog",
            "a.wav\t1.0\t3.0\tSpeech",
            "a.wav\t4.0\t5.0\tBird",
            "b.flac\t\t\t",
            "c.wav\t9.5\t12.0\tFrying",
            "c.wav\t0.0\t1.0\tBird",
            "c.wav\t2.0\t3.0\tCar",
        ],
    )
    labels = read_strong_labels(path, DURATIONS)
    assert labels.events == {
        "a.wav": [Event(0.5, 2.25, "Dog"), Event(1.0, 3.0, "Speech")],
        "b.flac": [],
        "c.wav": [Event(9.5, 12.0, "Frying")],
    }
    assert labels.dropped_labels == {"Bird": 2, "Car": 1} and labels.skipped_rows == ()


BAD_ROWS = [
    ("missing.wav\t0.0\t1.0\tDog", "file 'missing.wav' is not in the audio folder"),
    ("a.wav\t-0.5\t1.0\tDog", "negative onset -0.5"),
    ("a.wav\t3.0\t2.0\tDog", "offset 2.0 is not after onset 3.0"),
    ("a.wav\t3.0\t3.0\tDog", "offset 3.0 is not after onset 3.0"),
    ("b.flac\t6.0\t7.5\tCat", "offset 7.5 is beyond the file's end (7.000 s)"),
    ("a.wav\tsoon\t2.0\tDog", "onset 'soon' / offset '2.0' are not numbers"),
    ("a.wav\tnan\t2.0\tDog", "are not finite"),
]


@pytest.mark.parametrize(("row", "message"), BAD_ROWS, ids=[m for _, m in BAD_ROWS])
def test_each_bad_row_is_named_with_its_line(tmp_path: Path, row: str, message: str) -> None:
    path = _tsv(tmp_path, ["a.wav\t0.5\t2.0\tDog", row])
    with pytest.raises(StrongLabelError, match="1 annotation rows cannot be used") as error:
        read_strong_labels(path, DURATIONS)
    assert f"{path}:3: " in str(error.value) and message in str(error.value)


def test_every_bad_row_is_listed_at_once_or_skipped_when_not_strict(tmp_path: Path) -> None:
    path = _tsv(tmp_path, ["a.wav\t0.5\t2.0\tDog", *(row for row, _ in BAD_ROWS)])
    with pytest.raises(StrongLabelError) as error:
        read_strong_labels(path, DURATIONS)
    assert str(error.value).count(f"{path}:") == len(BAD_ROWS)
    labels = read_strong_labels(path, DURATIONS, strict=False)
    assert labels.events == {"a.wav": [Event(0.5, 2.0, "Dog")]}
    assert len(labels.skipped_rows) == len(BAD_ROWS)
    # An offset just past the end (rounding of the annotation) is kept.
    near = _tsv(tmp_path, ["b.flac\t6.0\t7.04\tCat"])
    assert read_strong_labels(near, DURATIONS).events["b.flac"] == [Event(6.0, 7.04, "Cat")]


def test_a_file_without_the_dcase_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels.tsv"
    path.write_text("a.wav\t0.5\t2.0\tDog\n", encoding="utf-8")
    with pytest.raises(StrongLabelError, match="first line must be the header filename<tab>"):
        read_strong_labels(path, DURATIONS)


def test_recordings_become_ten_second_windows_with_their_valid_frames() -> None:
    assert recording_windows(10.0) == [RecordingWindow(0, 0.0, 100)]
    assert recording_windows(7.0) == [RecordingWindow(0, 0.0, 70)]
    assert recording_windows(7.05) == [RecordingWindow(0, 0.0, 71)]  # a frame starting inside
    assert recording_windows(23.4) == [
        RecordingWindow(0, 0.0, 100),
        RecordingWindow(1, 10.0, 100),
        RecordingWindow(2, 20.0, 34),
    ]
    assert recording_windows(23.4)[2].padded and not recording_windows(10.0)[0].padded
    with pytest.raises(ValueError, match="more than 0 s"):
        recording_windows(0.0)


def test_each_window_is_scored_against_its_own_part_of_the_annotations() -> None:
    events = [Event(9.5, 12.0, "Frying"), Event(1.0, 2.0, "Dog"), Event(20.5, 23.4, "Cat")]
    first, second, third = recording_windows(23.4)
    assert window_events(events, first) == [Event(9.5, 10.0, "Frying"), Event(1.0, 2.0, "Dog")]
    assert window_events(events, second) == [Event(0.0, 2.0, "Frying")]
    assert window_events(events, third) == [Event(0.5, pytest.approx(3.4), "Cat")]


def test_a_class_list_of_its_own_and_the_files_named(tmp_path: Path) -> None:
    from igsed.formats.strong_labels import annotated_files

    path = _tsv(tmp_path, ["b.flac\t1.0\t2.0\tSpeech", "a.wav\t0.5\t2.0\tDog", "b.flac\t\t\t"])
    assert annotated_files(path) == ["b.flac", "a.wav"]
    labels = read_strong_labels(path, DURATIONS, classes=("Dog",))
    assert labels.events == {"b.flac": [], "a.wav": [Event(0.5, 2.0, "Dog")]}
    assert labels.dropped_labels == {"Speech": 1}
    skipped = read_strong_labels(path, DURATIONS, strict=False, unreadable={"a.wav": "bad header"})
    assert skipped.skipped_files == {"a.wav"}
    assert "file 'a.wav' cannot be read as audio (bad header)" in skipped.skipped_rows[0]
