"""A `recordings` condition: real recordings and their DCASE strong labels as a split.

No synthesis: the clips are the user's recordings, read as `igsed explain` reads a file
(any format soundfile decodes, channels averaged, resampled to 32 kHz:
igsed.core.audio_files.read_mono) and cut into consecutive 10 s windows
(igsed.core.recording_windows), the last one zero-padded. Each window is one clip of the
split: its own 32 kHz mono wav, its part of the annotations (events clipped to it and
shifted to its start) and its `valid_seconds`, which the evaluation uses to leave the
padded frames out of every metric and of the choice of tau*.

- Annotations are checked before anything is read or written (formats.strong_labels):
  every row naming a missing or unreadable file, a negative onset, an offset not after its
  onset or past the file's end is listed in one StrongLabelError (`strict`), or skipped
  and counted; a file with a skipped row is left out whole, since what remains of its
  annotation would count the skipped event's frames as background. Labels outside the
  classes are dropped and counted.
- Val/test: two annotation files given by the user, or a seeded split of the files
  (`val_fraction` of them to val, rounded down, at least one file each); the windows of
  one recording always share a split, so no recording feeds both tau* and the test.
- Clip ids are the recording's path without its suffix, every character outside
  [A-Za-z0-9_-] replaced by `_` (clip ids name shards), then `_w<index>`; names that
  collide this way get a short hash of their file name.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from igsed.core.annotations import Event, max_polyphony
from igsed.core.atomic import atomic_dir
from igsed.core.audio import write_wav
from igsed.core.audio_files import read_mono
from igsed.core.constants import CLASSES, CLIP_SAMPLES, CLIP_SECONDS, EVAL_SPLITS, SAMPLE_RATE
from igsed.core.recording_windows import RecordingWindow, recording_windows, window_events
from igsed.formats.manifest import (
    EVENT_COLUMNS,
    MANIFEST_COLUMNS,
    OPTIONAL_MANIFEST_COLUMNS,
    write_events,
    write_manifest,
    write_split_summary,
)
from igsed.formats.strong_labels import (
    StrongLabels,
    annotated_files,
    problems_error,
    read_strong_labels,
)

log = logging.getLogger(__name__)

DEFAULT_VAL_FRACTION = 0.5
# Float wav: resampling may overshoot [-1, 1], which 16-bit PCM would clip.
CLIP_SUBTYPE = "FLOAT"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class RecordingsSpec:
    """Config `conditions.<name>.recordings`.

    `annotations`: one TSV (a seeded split of its files, `val_fraction` to val) or
    {"val": TSV, "test": TSV}.
    """

    audio: Path
    annotations: Path | Mapping[str, Path]
    strict: bool = True
    val_fraction: float = DEFAULT_VAL_FRACTION
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.annotations, Mapping) and set(self.annotations) != set(EVAL_SPLITS):
            raise ValueError(
                f"recordings.annotations: one TSV or exactly {{val: TSV, test: TSV}}, "
                f"got keys {sorted(self.annotations)}"
            )
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"recordings.val_fraction must be in (0, 1), got {self.val_fraction}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any], default_seed: int) -> RecordingsSpec:
        annotations = section["annotations"]
        return cls(
            audio=Path(section["audio"]),
            annotations=(
                {split: Path(annotations[split]) for split in annotations}
                if isinstance(annotations, Mapping)
                else Path(annotations)
            ),
            strict=bool(section.get("strict", True)),
            val_fraction=float(section.get("val_fraction", DEFAULT_VAL_FRACTION)),
            seed=int(section.get("seed", default_seed)),
        )

    def annotation_files(self) -> dict[str, Path]:
        """Split -> TSV, or {"all": TSV} for one file to split by seed."""
        if isinstance(self.annotations, Mapping):
            return {split: Path(self.annotations[split]) for split in EVAL_SPLITS}
        return {"all": Path(self.annotations)}


@dataclass(frozen=True)
class CheckedAnnotations:
    """The usable events per recording and per TSV key, with what was left out."""

    events: dict[str, dict[str, list[Event]]]  # TSV key -> file -> events
    dropped_labels: Counter[str]
    skipped_rows: tuple[str, ...]
    left_out: tuple[str, ...]  # existing recordings with a skipped row, left out whole


def audio_durations(
    audio_dir: Path, names: Sequence[str]
) -> tuple[dict[str, float], dict[str, str]]:
    """Duration in seconds of each named file soundfile can read (its header only), and
    why it cannot read the others; files that do not exist, or lie outside `audio_dir`
    (an absolute name, a `..`), are in neither."""
    durations: dict[str, float] = {}
    unreadable: dict[str, str] = {}
    for name in names:
        path = audio_dir / name
        if Path(name).is_absolute() or ".." in Path(name).parts or not path.is_file():
            continue
        try:
            info = sf.info(path)
        except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as error:
            unreadable[name] = str(error)
            continue
        if info.frames <= 0:
            unreadable[name] = "no audio samples"
        else:
            durations[name] = info.frames / info.samplerate
    return durations, unreadable


def check_annotations(spec: RecordingsSpec, classes: Sequence[str] = CLASSES) -> CheckedAnnotations:
    """Every annotation file read and checked against the audio folder; StrongLabelError
    listing every unusable row of every file (`spec.strict`), before any audio is decoded."""
    if not spec.audio.is_dir():
        raise FileNotFoundError(f"recordings.audio: {spec.audio} is not a folder")
    files = spec.annotation_files()
    names = list(dict.fromkeys(n for tsv in files.values() for n in annotated_files(tsv)))
    durations, unreadable = audio_durations(spec.audio, names)
    labels: dict[str, StrongLabels] = {
        key: read_strong_labels(tsv, durations, False, classes, unreadable)
        for key, tsv in files.items()
    }
    problems = [row for checked in labels.values() for row in checked.skipped_rows]
    left_out = {name for checked in labels.values() for name in checked.skipped_files}
    if len(labels) == 2:
        shared = sorted(set(labels["val"].events) & set(labels["test"].events))
        left_out |= set(shared)
        problems += [
            f"{files['test']}: {name}: also annotated in {files['val']} (val and test must not "
            f"share a recording)"
            for name in shared
        ]
    if problems and spec.strict:
        raise problems_error(problems)
    return CheckedAnnotations(
        events={
            key: {n: e for n, e in checked.events.items() if n not in left_out}
            for key, checked in labels.items()
        },
        dropped_labels=sum((c.dropped_labels for c in labels.values()), Counter()),
        skipped_rows=tuple(problems),
        left_out=tuple(sorted(left_out & set(durations))),
    )


def split_files(names: Sequence[str], val_fraction: float, seed: int) -> dict[str, list[str]]:
    """Seeded val and test files: `val_fraction` of them (rounded down) to val, at least
    one file in each."""
    ordered = sorted(names)
    if len(ordered) < 2:
        raise ValueError(
            f"{len(ordered)} usable recording(s): a seeded val/test split needs at least two"
        )
    n_val = min(max(math.floor(len(ordered) * val_fraction), 1), len(ordered) - 1)
    order = np.random.default_rng(seed).permutation(len(ordered))
    return {
        "val": sorted(ordered[i] for i in order[:n_val]),
        "test": sorted(ordered[i] for i in order[n_val:]),
    }


def clip_bases(names: Sequence[str]) -> dict[str, str]:
    """Each file name's clip-id stem: safe characters only, unique (see the docstring)."""
    bases = {name: _UNSAFE.sub("_", Path(name).with_suffix("").as_posix()) for name in names}
    counts = Counter(bases.values())
    return {
        name: base
        if counts[base] == 1
        else f"{base}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"
        for name, base in bases.items()
    }


def window_clips(samples: np.ndarray) -> list[tuple[RecordingWindow, np.ndarray, int]]:
    """(window, its CLIP_SAMPLES samples zero-padded, how many of them are audio) per 10 s
    window of 32 kHz `samples`."""
    clips = []
    for window in recording_windows(samples.shape[0] / SAMPLE_RATE):
        part = samples[window.index * CLIP_SAMPLES : (window.index + 1) * CLIP_SAMPLES]
        clip = np.zeros(CLIP_SAMPLES, dtype=np.float32)
        clip[: part.shape[0]] = part
        clips.append((window, clip, int(part.shape[0])))
    return clips


@dataclass
class _Tables:
    manifest: list[dict[str, Any]]
    events: list[dict[str, Any]]


def _write_recording(
    name: str,
    split: str,
    events: list[Event],
    spec: RecordingsSpec,
    base: str,
    tmp_dir: Path,
    audio_dir: Path,
    tables: _Tables,
) -> None:
    """One recording's windows: their wav files in `tmp_dir` (named for `audio_dir`), their
    manifest and event rows."""
    samples, _, _ = read_mono(spec.audio / name)
    # Offsets may pass the end by END_TOLERANCE_S; the windows' frames stop at the end.
    end = samples.shape[0] / SAMPLE_RATE
    events = [Event(e.onset, min(e.offset, end), e.label) for e in events if e.onset < end]
    for window, clip, n_samples in window_clips(samples):
        clip_id = f"{base}_w{window.index:03d}"
        write_wav(tmp_dir / f"{clip_id}.wav", clip, SAMPLE_RATE, subtype=CLIP_SUBTYPE)
        own = sorted(window_events(events, window), key=lambda e: (e.onset, e.offset, e.label))
        tables.manifest.append(
            {
                "clip_id": clip_id,
                "split": split,
                "audio_path": (audio_dir / f"{clip_id}.wav").as_posix(),
                "jams_path": "",
                "n_events": len(own),
                "polyphony": max_polyphony(own),
                "source_file": name,
                "window_start_s": window.start_s,
                "valid_seconds": n_samples / SAMPLE_RATE,
            }
        )
        tables.events += [
            {
                "clip_id": clip_id,
                "onset": e.onset,
                "offset": e.offset,
                "event_label": e.label,
                "source_file": name,
            }
            for e in own
        ]


def _split_summary(
    manifest: pd.DataFrame, events: pd.DataFrame, split: str, classes: Sequence[str]
) -> dict[str, Any]:
    rows = manifest[manifest["split"] == split]
    labels = Counter(events[events["clip_id"].isin(rows["clip_id"])]["event_label"])
    return {
        "clips": len(rows),
        "recordings": int(rows["source_file"].nunique()),
        "padded_clips": int((rows["valid_seconds"] < CLIP_SECONDS).sum()),
        "seconds_of_audio": float(rows["valid_seconds"].sum()),
        "events": int(sum(labels.values())),
        "events_by_class": {c: int(labels.get(c, 0)) for c in classes},
    }


def _summary(
    spec: RecordingsSpec,
    checked: CheckedAnnotations,
    files: Mapping[str, list[str]],
    manifest: pd.DataFrame,
    events: pd.DataFrame,
    classes: Sequence[str],
) -> dict[str, Any]:
    seeded = not isinstance(spec.annotations, Mapping)
    splits = {split: _split_summary(manifest, events, split, classes) for split in EVAL_SPLITS}
    return {
        "source": "recordings",
        "audio": spec.audio.as_posix(),
        "annotations": {k: p.as_posix() for k, p in spec.annotation_files().items()},
        "strict": spec.strict,
        "val_test": "seeded split of the files" if seeded else "two annotation files",
        "seed": spec.seed if seeded else None,
        "val_fraction": spec.val_fraction if seeded else None,
        "dropped_labels": dict(sorted(checked.dropped_labels.items())),
        "skipped_rows": list(checked.skipped_rows),
        "left_out_recordings": list(checked.left_out),
        "splits": splits,
        "counts": {
            "val": splits["val"]["clips"],
            "test": splits["test"]["clips"],
            "recordings_val": len(files["val"]),
            "recordings_test": len(files["test"]),
            "padded_clips": sum(s["padded_clips"] for s in splits.values()),
            "dropped_label_rows": sum(checked.dropped_labels.values()),
            "skipped_rows": len(checked.skipped_rows),
            "left_out_recordings": len(checked.left_out),
        },
    }


def _files_by_split(spec: RecordingsSpec, checked: CheckedAnnotations) -> dict[str, list[str]]:
    if "all" in checked.events:
        return split_files(list(checked.events["all"]), spec.val_fraction, spec.seed)
    files = {split: sorted(checked.events[split]) for split in EVAL_SPLITS}
    empty = [split for split, names in files.items() if not names]
    if empty:
        raise ValueError(f"recordings: no usable recording in the {' and '.join(empty)} file(s)")
    return files


def build_recordings_split(
    spec: RecordingsSpec,
    *,
    audio_dir: Path,
    manifest_path: Path,
    events_path: Path,
    summary_path: Path,
    classes: Sequence[str] = CLASSES,
) -> dict[str, Any]:
    """Check the annotations, write every window's wav into `audio_dir` (replaced as a
    whole, atomically), then the manifest, events and summary in the split's formats.
    Returns the summary. `audio_dir` is written into the manifest as given."""
    checked = check_annotations(spec, classes)
    files = _files_by_split(spec, checked)
    events = {name: e for by_file in checked.events.values() for name, e in by_file.items()}
    bases = clip_bases(sorted(events))
    tables = _Tables([], [])
    with atomic_dir(audio_dir) as tmp_dir:
        for split in EVAL_SPLITS:
            for name in files[split]:
                _write_recording(
                    name, split, events[name], spec, bases[name], tmp_dir, audio_dir, tables
                )
    manifest = pd.DataFrame(
        tables.manifest, columns=[*MANIFEST_COLUMNS, *OPTIONAL_MANIFEST_COLUMNS]
    )
    event_frame = pd.DataFrame(tables.events, columns=list(EVENT_COLUMNS))
    summary = _summary(spec, checked, files, manifest, event_frame, classes)
    write_manifest(manifest, manifest_path)
    write_events(event_frame, events_path)
    write_split_summary(summary, summary_path)
    _log(summary)
    return summary


def _log(summary: Mapping[str, Any]) -> None:
    counts = summary["counts"]
    log.info(
        "recordings: val %d clips from %d recordings, test %d clips from %d recordings, %d padded",
        counts["val"],
        counts["recordings_val"],
        counts["test"],
        counts["recordings_test"],
        counts["padded_clips"],
    )
    if summary["dropped_labels"]:
        log.warning(
            "recordings: %d annotation rows dropped, labels outside the classes: %s",
            counts["dropped_label_rows"],
            summary["dropped_labels"],
        )
    if summary["skipped_rows"]:
        log.warning(
            "recordings: %d annotation rows skipped (strict: false), %d recordings left out:\n  %s",
            counts["skipped_rows"],
            counts["left_out_recordings"],
            "\n  ".join(summary["skipped_rows"]),
        )
