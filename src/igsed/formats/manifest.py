"""The split's outputs (rule split): the manifest, its event table and its summary.

manifest.tsv: clip_id, split, audio_path, jams_path, n_events, polyphony, and optionally
              source_file, window_start_s, valid_seconds (a recordings condition's windows:
              the recording a clip was cut from, where, and how many seconds of the clip are
              audio, the rest being zero padding; a manifest without the column, or an
              empty cell, means the whole 10 s)
events.tsv:   clip_id, onset, offset, event_label, source_file
summary.json: what the split kept; `counts` holds the clips per pool and split (integers,
              `val` and `test` among them), the rest is context for the report.
Paths are stored as written by the split stage (relative to the working directory
when the pipeline made them relative).

Both tables are checked on reading against their writer's record (formats.handover).
The Snakefile reads clip ids through `read_clip_ids` and `shard_assignment`, which need
only the standard library: Snakemake's own environment has no pandas.
"""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from igsed.core.atomic import atomic_path
from igsed.core.constants import CLIP_SECONDS
from igsed.formats.handover import (
    damaged,
    read_handover,
    read_handover_json,
    write_handover,
    write_handover_json,
)
from igsed.formats.tables import read_table, require_columns, require_unique

if TYPE_CHECKING:
    import pandas as pd

    from igsed.core.annotations import Event

MANIFEST_COLUMNS: tuple[str, ...] = (
    "clip_id",
    "split",
    "audio_path",
    "jams_path",
    "n_events",
    "polyphony",
)
# Written after MANIFEST_COLUMNS when the split has them, so the synthetic split's manifest
# is unchanged.
OPTIONAL_MANIFEST_COLUMNS: tuple[str, ...] = ("source_file", "window_start_s", "valid_seconds")
VALID_SECONDS = "valid_seconds"
EVENT_COLUMNS: tuple[str, ...] = ("clip_id", "onset", "offset", "event_label", "source_file")
# A synthesis chunk's events.tsv (rule synthesize writes it): read by the split and by the
# backbone's pretraining, which must not need Scaper to do so.
CHUNK_EVENT_COLUMNS: tuple[str, ...] = (
    "clip_id",
    "filename",
    "onset",
    "offset",
    "event_label",
    "source_file",
    "source_sha256",
)
CHUNK_EVENTS_NAME = "events.tsv"


def write_table_tsv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """A TSV inside a synthesis chunk (its directory is the rule's output), atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False)


def _write_checked_tsv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    write_handover(path, frame.to_csv(None, sep="\t", index=False))


def write_manifest(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    require_columns(frame, MANIFEST_COLUMNS, path)
    optional = [c for c in OPTIONAL_MANIFEST_COLUMNS if c in frame.columns]
    _write_checked_tsv(frame.loc[:, [*MANIFEST_COLUMNS, *optional]], path)


def read_clip_ids(path: str | os.PathLike[str], split: str, *, checked: bool = True) -> list[str]:
    """Clip ids of one split, in manifest order (standard library only).

    checked=False skips the record check: for the Snakefile only, which plans the jobs from
    the manifest before any job runs. Snakemake reads an existing checkpoint output even
    when --forcerun rebuilds it, so refusing a damaged manifest there would leave no command
    that rebuilds it; the jobs that read the manifest refuse it instead.
    """
    text = read_handover(path) if checked else Path(path).read_text(encoding="utf-8")
    with io.StringIO(text, newline="") as handle:
        return [
            row["clip_id"]
            for row in csv.DictReader(handle, delimiter="\t")
            if row.get("split") == split
        ]


def read_manifest(
    path: str | os.PathLike[str], split: str | None = None, *, checked: bool = True
) -> pd.DataFrame:
    """The manifest, optionally only the rows of one split, in manifest order
    (checked=False: for the Snakefile only, see `read_clip_ids`)."""
    frame = read_table(path, sep="\t", checked=checked, dtype={"clip_id": str, "split": str})
    require_columns(frame, MANIFEST_COLUMNS, path)
    require_unique(frame, ("clip_id",), path)
    if split is not None:
        frame = frame[frame["split"] == split].reset_index(drop=True)
    return frame


def valid_seconds(frame: pd.DataFrame, path: object) -> dict[str, float]:
    """Seconds of audio in each clip of a manifest frame (CLIP_SECONDS without the column
    or for an empty cell); a value outside (0, CLIP_SECONDS] is refused."""
    if VALID_SECONDS not in frame.columns:
        return dict.fromkeys(frame["clip_id"], CLIP_SECONDS)
    values = frame[VALID_SECONDS].astype("float64").fillna(CLIP_SECONDS)
    wrong = frame["clip_id"][~((values > 0) & (values <= CLIP_SECONDS))].tolist()
    if wrong:
        raise damaged(path, f"{VALID_SECONDS} outside (0, {CLIP_SECONDS}] for clips {wrong[:5]}")
    return dict(zip(frame["clip_id"], values.tolist(), strict=True))


def read_valid_seconds(path: str | os.PathLike[str]) -> dict[str, float]:
    """Seconds of audio in every clip of the manifest at `path` (see `valid_seconds`)."""
    return valid_seconds(read_manifest(path), path)


def read_valid_frames(path: str | os.PathLike[str]) -> dict[str, int]:
    """The evaluation frames that hold audio in every clip of the manifest at `path`:
    the 100 ms frames that start inside its valid seconds (100 for a whole clip)."""
    from igsed.core.recording_windows import frames_in  # numpy: not for the Snakefile

    return {clip_id: frames_in(s) for clip_id, s in read_valid_seconds(path).items()}


def write_events(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    require_columns(frame, EVENT_COLUMNS, path)
    _write_checked_tsv(frame.loc[:, list(EVENT_COLUMNS)], path)


def read_events(path: str | os.PathLike[str], *, checked: bool = True) -> pd.DataFrame:
    """The event table (checked=False: for the Snakefile only, see `read_clip_ids`)."""
    frame = read_table(path, sep="\t", checked=checked, dtype={"clip_id": str, "event_label": str})
    require_columns(frame, EVENT_COLUMNS, path)
    return frame


SPLIT_COUNTS: tuple[str, ...] = ("val", "test")


def write_split_summary(summary: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """summary.json atomically, with its record."""
    write_handover_json(path, dict(summary))


def read_split_summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """summary.json as written by `write_split_summary`: checked, `counts` of integers."""
    summary = read_handover_json(path)
    counts = summary.get("counts") if isinstance(summary, dict) else None
    if not isinstance(counts, dict):
        raise damaged(path, "no `counts` object")
    wrong = [
        key
        for key in {*SPLIT_COUNTS, *counts}
        if isinstance(counts.get(key), bool) or not isinstance(counts.get(key), int)
    ]
    if wrong:
        raise damaged(path, f"counts {sorted(wrong)} are not integers (val and test are required)")
    return summary


def events_by_clip(events: pd.DataFrame) -> dict[str, list[Event]]:
    """Events grouped per clip id (clips without events are absent: use .get(id, []))."""
    from igsed.core.annotations import Event

    grouped: dict[str, list[Event]] = defaultdict(list)
    for row in events.itertuples(index=False):
        grouped[row.clip_id].append(
            Event(onset=float(row.onset), offset=float(row.offset), label=str(row.event_label))
        )
    return dict(grouped)


def shard_assignment(clip_ids: list[str], clips_per_shard: int) -> dict[str, list[str]]:
    """Consecutive groups of `clips_per_shard` clip ids, keyed by shard name."""
    if clips_per_shard < 1:
        raise ValueError(f"clips_per_shard must be >= 1, got {clips_per_shard}")
    if clips_per_shard == 1:
        return {clip_id: [clip_id] for clip_id in clip_ids}
    return {
        f"shard_{start // clips_per_shard:05d}": clip_ids[start : start + clips_per_shard]
        for start in range(0, len(clip_ids), clips_per_shard)
    }


def read_chunk_events(chunk_dir: str | Path) -> pd.DataFrame:
    """A chunk's `events.tsv` (columns CHUNK_EVENT_COLUMNS)."""
    import pandas as pd

    path = Path(chunk_dir) / CHUNK_EVENTS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing chunk event table (not a synthesis chunk?)")
    frame = pd.read_csv(
        path,
        sep="\t",
        dtype={"clip_id": str, "filename": str, "event_label": str, "source_file": str},
    )
    require_columns(frame, CHUNK_EVENT_COLUMNS, path)
    return frame
