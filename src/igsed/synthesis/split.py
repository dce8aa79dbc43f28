"""Polyphony filter and the train / val / test split (paper Sec. II-A).

The paper generates 1000 train and 250 eval-pool clips, drops the clips with three
simultaneous events (1000 -> 823, 250 -> 193) and halves the eval pool into val and test
(96 + 97). Here a clip is kept when its foreground polyphony (computed from the Scaper JAMS,
the annotation Scaper actually placed) is at most `max_polyphony`, like DESED's
`rm_high_polyphony`. The kept eval-pool clips are shuffled with `seed` and split into
`n // 2` val clips and the rest test, so with an odd count test gets the extra clip (as in
the paper's 96 + 97).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from igsed.core.annotations import max_polyphony as events_max_polyphony
from igsed.core.constants import CLASSES
from igsed.formats.manifest import (
    EVENT_COLUMNS,
    MANIFEST_COLUMNS,
    read_chunk_events,
    write_events,
    write_manifest,
    write_split_summary,
)
from igsed.synthesis.synthesize import read_clip_jams

log = logging.getLogger(__name__)

# The clip-id prefix each input of split must carry (igsed.synthesis.synthesize names clips
# `<pool>_<index>`), so passing the pretrain chunks as train chunks fails loudly.
_TRAIN_POOL = "train"
_EVAL_POOL = "evalpool"
# JAMS and events.tsv hold the same floats; the tolerance only absorbs text round-trips.
_TIME_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ClipRecord:
    clip_id: str
    chunk_dir: Path
    n_events: int
    polyphony: int
    events: pd.DataFrame  # the clip's rows of the chunk's events.tsv


def _read_chunk(chunk_dir: Path, pool: str) -> list[ClipRecord]:
    table = read_chunk_events(chunk_dir)
    rows_by_clip = {cid: rows for cid, rows in table.groupby("clip_id", sort=False)}
    jams_paths = sorted(chunk_dir.glob("*.jams"))
    known = {p.stem for p in jams_paths}
    orphans = sorted(set(rows_by_clip) - known)
    if orphans:
        raise ValueError(f"{chunk_dir}: events.tsv lists clips without a JAMS file: {orphans[:5]}")
    records = []
    for jams_path in jams_paths:
        cid = jams_path.stem
        if not cid.startswith(f"{pool}_"):
            raise ValueError(f"{jams_path}: clip {cid!r} is not from the {pool!r} pool")
        if not (chunk_dir / f"{cid}.wav").is_file():
            raise FileNotFoundError(f"{chunk_dir / f'{cid}.wav'}: missing audio of clip {cid}")
        events, _ = read_clip_jams(jams_path)
        rows = rows_by_clip.get(cid, table.iloc[0:0])
        rows = rows.sort_values(["onset", "offset", "event_label"], kind="stable")
        placed = sorted((e.onset, e.offset, e.label) for e in events)
        listed = list(zip(rows["onset"], rows["offset"], rows["event_label"], strict=True))
        consistent = len(placed) == len(listed) and all(
            math.isclose(a[0], b[0], abs_tol=_TIME_TOLERANCE)
            and math.isclose(a[1], b[1], abs_tol=_TIME_TOLERANCE)
            and a[2] == b[2]
            for a, b in zip(placed, listed, strict=True)
        )
        if not consistent:
            raise ValueError(
                f"{chunk_dir}: events.tsv rows of clip {cid} disagree with {jams_path.name}: "
                f"{listed} vs {placed}"
            )
        records.append(ClipRecord(cid, chunk_dir, len(events), events_max_polyphony(events), rows))
    return records


def _read_pool(chunk_dirs: list[Path], pool: str) -> list[ClipRecord]:
    records: list[ClipRecord] = []
    seen: dict[str, Path] = {}
    for chunk_dir in map(Path, chunk_dirs):
        for record in _read_chunk(chunk_dir, pool):
            if record.clip_id in seen:
                raise ValueError(
                    f"clip {record.clip_id} appears in both {seen[record.clip_id]} and {chunk_dir}"
                )
            seen[record.clip_id] = chunk_dir
            records.append(record)
    return sorted(records, key=lambda r: r.clip_id)


def shared_source_files(
    train_events: pd.DataFrame, eval_events: pd.DataFrame
) -> list[tuple[str, str]]:
    """(train source, eval source) pairs that are the same file, by path or by content.

    Content is compared through the `source_sha256` column when both tables have it, so a
    file copied into both soundbank pools is caught too.
    """
    pairs: set[tuple[str, str]] = set()
    for key in ("source_file", "source_sha256"):
        if key not in train_events.columns or key not in eval_events.columns:
            continue
        train_by_key = dict(zip(train_events[key], train_events["source_file"], strict=True))
        for value, eval_file in zip(eval_events[key], eval_events["source_file"], strict=True):
            if value in train_by_key:
                pairs.add((str(train_by_key[value]), str(eval_file)))
    return sorted(pairs)


def check_disjoint_sources(train_events: pd.DataFrame, eval_events: pd.DataFrame) -> None:
    """Raise if any foreground source file feeds both train and val/test clips."""
    shared = shared_source_files(train_events, eval_events)
    if shared:
        train_file, eval_file = shared[0]
        raise ValueError(
            f"{len(shared)} foreground source file(s) are used by both train and val/test "
            f"clips, e.g. train {train_file!r} = eval {eval_file!r}; the soundbank's train "
            f"and eval pools must not share files"
        )


def split_eval_ids(clip_ids: list[str], seed: int) -> tuple[list[str], list[str]]:
    """Seeded halves (val, test) of `clip_ids`; test gets the extra clip of an odd count."""
    ordered = sorted(clip_ids)
    order = np.random.default_rng(seed).permutation(len(ordered))
    n_val = len(ordered) // 2
    val = sorted(ordered[i] for i in order[:n_val])
    test = sorted(ordered[i] for i in order[n_val:])
    return val, test


def _pool_counts(records: list[ClipRecord], kept: list[ClipRecord]) -> dict[str, Any]:
    return {
        "generated": len(records),
        "kept": len(kept),
        "dropped": len(records) - len(kept),
        "clips_by_polyphony": {
            str(k): v for k, v in sorted(Counter(r.polyphony for r in records).items())
        },
    }


def _split_counts(records: list[ClipRecord]) -> dict[str, Any]:
    labels = Counter(
        label for r in records for label in r.events["event_label"].astype(str).tolist()
    )
    return {
        "clips": len(records),
        "events": sum(r.n_events for r in records),
        "events_by_class": {c: labels.get(c, 0) for c in CLASSES},
    }


def split(
    train_chunk_dirs: list[Path],
    evalpool_chunk_dirs: list[Path],
    *,
    max_polyphony: int,
    seed: int,
    manifest_path: Path,
    events_path: Path,
    summary_path: Path,
) -> dict[str, Any]:
    """Filter by polyphony, split the eval pool into val/test, write manifest, events, summary.

    Paths in the manifest are the chunk directories as given joined with the clip files.
    Returns the summary written to `summary_path`.
    """
    if max_polyphony < 1:
        raise ValueError(f"split.max_polyphony must be >= 1, got {max_polyphony}")
    train_all = _read_pool(train_chunk_dirs, _TRAIN_POOL)
    eval_all = _read_pool(evalpool_chunk_dirs, _EVAL_POOL)
    train = [r for r in train_all if r.polyphony <= max_polyphony]
    eval_kept = [r for r in eval_all if r.polyphony <= max_polyphony]
    for name, kept in (("train", train), ("val/test", eval_kept)):
        if not kept:
            raise ValueError(
                f"no {name} clip left after the polyphony filter (max {max_polyphony})"
            )

    def events_of(records: list[ClipRecord]) -> pd.DataFrame:
        return pd.concat([r.events for r in records], ignore_index=True)

    # Only kept clips can leak; a source shared by a dropped clip reaches no model.
    check_disjoint_sources(events_of(train), events_of(eval_kept))

    val_ids, test_ids = split_eval_ids([r.clip_id for r in eval_kept], seed)
    if not val_ids:
        raise ValueError(
            f"only {len(eval_kept)} eval-pool clip(s) left after the polyphony filter; "
            f"val and test need at least one each (raise synthesis.n_clips.evalpool)"
        )
    by_id = {r.clip_id: r for r in eval_kept}
    splits = {
        "train": train,
        "val": [by_id[c] for c in val_ids],
        "test": [by_id[c] for c in test_ids],
    }
    ordered = [(split, r) for split, records in splits.items() for r in records]
    manifest = pd.DataFrame(
        [
            {
                "clip_id": r.clip_id,
                "split": split,
                "audio_path": (r.chunk_dir / f"{r.clip_id}.wav").as_posix(),
                "jams_path": (r.chunk_dir / f"{r.clip_id}.jams").as_posix(),
                "n_events": r.n_events,
                "polyphony": r.polyphony,
            }
            for split, r in ordered
        ],
        columns=list(MANIFEST_COLUMNS),
    )
    events = pd.concat([r.events for _, r in ordered], ignore_index=True).loc[
        :, list(EVENT_COLUMNS)
    ]

    summary: dict[str, Any] = {
        "max_polyphony": max_polyphony,
        "seed": seed,
        "train_pool": _pool_counts(train_all, train),
        "eval_pool": _pool_counts(eval_all, eval_kept),
        "splits": {name: _split_counts(records) for name, records in splits.items()},
        "counts": {
            "train_generated": len(train_all),
            "train_kept": len(train),
            "evalpool_generated": len(eval_all),
            "evalpool_kept": len(eval_kept),
            "val": len(val_ids),
            "test": len(test_ids),
        },
    }
    write_manifest(manifest, manifest_path)
    write_events(events, events_path)
    write_split_summary(summary, summary_path)
    log.info(
        "polyphony <= %d: train %d -> %d; eval pool %d -> %d -> val %d + test %d",
        max_polyphony,
        len(train_all),
        len(train),
        len(eval_all),
        len(eval_kept),
        len(val_ids),
        len(test_ids),
    )
    return summary
