"""Strong labels of real recordings in DCASE's format, read and checked before any work.

One TSV, `filename onset offset event_label` with a header line, as DESED's real validation
and public evaluation sets ship (`filename` relative to the audio folder). A row whose
onset, offset and label are empty names a file without events. Labels outside the ten
classes are dropped and counted; every other bad row (a file that is not in the folder,
a negative onset, an offset not after its onset, an offset beyond the file's end) is a
problem: listed all together in one StrongLabelError (`strict`), or skipped and counted.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from igsed.core.annotations import Event
from igsed.core.constants import CLASSES

STRONG_LABEL_COLUMNS: tuple[str, ...] = ("filename", "onset", "offset", "event_label")
# Annotations are rounded to milliseconds; an offset this far past the end still fits.
END_TOLERANCE_S = 0.05


class StrongLabelError(ValueError):
    """Annotation rows that cannot be used, every one named with its line number."""


@dataclass(frozen=True)
class StrongLabels:
    """The checked annotations: events per file (files without events included)."""

    events: Mapping[str, list[Event]]
    dropped_labels: Counter[str] = field(default_factory=Counter)  # outside the ten classes
    skipped_rows: tuple[str, ...] = ()  # problems skipped under strict=False
    # The files those rows name: what is left of their annotation is incomplete.
    skipped_files: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Row:
    line: int
    filename: str
    onset: str
    offset: str
    label: str


def _rows(path: Path) -> list[_Row]:
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].strip().split("\t")) != STRONG_LABEL_COLUMNS:
        found = lines[0].strip().split("\t") if lines else "an empty file"
        raise StrongLabelError(
            f"{path}: the first line must be the header {'<tab>'.join(STRONG_LABEL_COLUMNS)} "
            f"(DCASE strong labels), found {found}"
        )
    rows = []
    for number, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        cells = text.rstrip("\n").split("\t")
        cells += [""] * (4 - len(cells))
        if len(cells) > 4:
            raise StrongLabelError(f"{path}:{number}: {len(cells)} columns, expected 4")
        rows.append(_Row(number, *(cell.strip() for cell in cells)))
    return rows


def _times(row: _Row) -> tuple[float, float] | str:
    """The row's onset and offset, or what is wrong with them."""
    try:
        onset, offset = float(row.onset), float(row.offset)
    except ValueError:
        return f"onset {row.onset!r} / offset {row.offset!r} are not numbers"
    if not (math.isfinite(onset) and math.isfinite(offset)):
        return f"onset {onset} / offset {offset} are not finite"
    if onset < 0:
        return f"negative onset {onset}"
    if offset <= onset:
        return f"offset {offset} is not after onset {onset}"
    return onset, offset


def _problem(
    row: _Row, durations: Mapping[str, float], unreadable: Mapping[str, str]
) -> str | tuple[float, float] | None:
    """None for a file-only row, the times of a good row, else what is wrong."""
    if row.filename in unreadable:
        return f"file {row.filename!r} cannot be read as audio ({unreadable[row.filename]})"
    if row.filename not in durations:
        return f"file {row.filename!r} is not in the audio folder"
    if not (row.onset or row.offset or row.label):
        return None
    times = _times(row)
    if isinstance(times, str):
        return times
    if times[1] > durations[row.filename] + END_TOLERANCE_S:
        return f"offset {times[1]} is beyond the file's end ({durations[row.filename]:.3f} s)"
    return times


def annotated_files(path: str | os.PathLike[str]) -> list[str]:
    """The file names `path` annotates, in order of first appearance (the header checked),
    so that a caller can look at only those files before `read_strong_labels`."""
    return list(dict.fromkeys(row.filename for row in _rows(Path(path))))


def problems_error(problems: Sequence[str]) -> StrongLabelError:
    """The one error that lists every unusable row."""
    return StrongLabelError(
        f"{len(problems)} annotation rows cannot be used (set strict: false to skip them):\n  "
        + "\n  ".join(problems)
    )


def read_strong_labels(
    path: str | os.PathLike[str],
    durations: Mapping[str, float],
    strict: bool = True,
    classes: Collection[str] = CLASSES,
    unreadable: Mapping[str, str] | None = None,
) -> StrongLabels:
    """The annotations of `path`, checked against the audio files' `durations` (seconds,
    by filename relative to the audio folder); labels outside `classes` are dropped, and
    rows naming a file of `unreadable` (file -> why soundfile cannot read it) are problems."""
    path = Path(path)
    unreadable = unreadable or {}
    events: dict[str, list[Event]] = {}
    dropped: Counter[str] = Counter()
    problems = []
    problem_files = set()
    for row in _rows(path):
        checked = _problem(row, durations, unreadable)
        if isinstance(checked, str):
            problems.append(f"{path}:{row.line}: {row.filename}: {checked}")
            problem_files.add(row.filename)
            continue
        events.setdefault(row.filename, [])
        if checked is None:
            continue
        if row.label not in classes:
            dropped[row.label] += 1
            continue
        events[row.filename].append(Event(checked[0], checked[1], row.label))
    if problems and strict:
        raise problems_error(problems)
    return StrongLabels(events, dropped, tuple(problems), frozenset(problem_files))
