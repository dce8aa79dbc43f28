"""Which test clip Fig. 2 shows, chosen from the split alone, before any attribution.

The attribution shard of that clip keeps the full-resolution signed IG the figure draws, so
the choice is made right after the split (by the workflow, as each shard's `signed_clips`
param, so a change re-runs only the shards whose kept clips changed) and needs only the
manifest and the events, none of the plotting or metric code.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from igsed.formats.manifest import read_events, read_manifest


def _as_frame(
    table: pd.DataFrame | str | os.PathLike[str], reader: Callable[..., pd.DataFrame]
) -> pd.DataFrame:
    return table if isinstance(table, pd.DataFrame) else reader(table)


def rank_figure_clips(
    manifest: pd.DataFrame | str | os.PathLike[str],
    events: pd.DataFrame | str | os.PathLike[str],
    split: str = "test",
    seed: int = 0,
) -> list[str]:
    """Clip ids of `split` ordered by how well they would show polyphonic attribution.

    First the clips with events of two classes that overlap in time, then clips with events
    of at least two classes, then any clip with an event; within a tier the order is a
    permutation seeded by `seed` (over the sorted clip ids, so it does not depend on
    manifest order). Clips without events are left out.
    """
    manifest_frame = _as_frame(manifest, read_manifest)
    events_frame = _as_frame(events, read_events)
    clip_ids = sorted(
        str(c) for c in manifest_frame.loc[manifest_frame["split"] == split, "clip_id"]
    )
    if not clip_ids:
        raise ValueError(f"manifest has no clips of split {split!r}")
    grouped = {
        str(clip_id): group
        for clip_id, group in events_frame[events_frame["clip_id"].isin(clip_ids)].groupby(
            "clip_id", sort=True
        )
    }
    tiers: list[list[str]] = [[], [], []]
    for clip_id in clip_ids:
        group = grouped.get(clip_id)
        if group is None or group.empty:
            continue
        rows = list(group.itertuples(index=False))
        labels = {str(r.event_label) for r in rows}
        overlapping = any(
            str(a.event_label) != str(b.event_label)
            and min(float(a.offset), float(b.offset)) > max(float(a.onset), float(b.onset))
            for i, a in enumerate(rows)
            for b in rows[i + 1 :]
        )
        tier = 0 if overlapping else (1 if len(labels) >= 2 else 2)
        tiers[tier].append(clip_id)
    rng = np.random.default_rng(seed)
    ranked: list[str] = []
    for tier in tiers:
        ranked += [tier[i] for i in rng.permutation(len(tier))]
    if not ranked:
        raise ValueError(f"no clip of split {split!r} has a foreground event")
    return ranked


def choose_figure_clip(
    manifest: pd.DataFrame | str | os.PathLike[str],
    events: pd.DataFrame | str | os.PathLike[str],
    split: str = "test",
    seed: int = 0,
) -> str:
    """The clip Fig. 2 should show, known before attribution so its shard keeps signed IG.

    Prefers a clip with overlapping events of two different classes (see rank_figure_clips).
    Whether the classifier detects two classes in it is only known after classification, so
    a pipeline may keep signed IG for the first few of `rank_figure_clips` instead.
    """
    return rank_figure_clips(manifest, events, split, seed)[0]


@dataclass(frozen=True)
class SignedClips:
    """The Fig. 2 clip and every clip whose shard keeps full-resolution signed IG."""

    figure_clip: str
    signed_clips: tuple[str, ...]


def signed_clips(
    manifest: pd.DataFrame | str | os.PathLike[str],
    events: pd.DataFrame | str | os.PathLike[str],
    requested: Sequence[str],
) -> SignedClips:
    """The Fig. 2 clip first, then the configured `attribution.signed_clips`.

    Raises ValueError naming every requested id that is not a val or test clip, so a typo
    is caught before any attribution rather than silently keeping nothing.
    """
    manifest_frame = _as_frame(manifest, read_manifest)
    known = set(
        str(c) for c in manifest_frame.loc[manifest_frame["split"].isin(["val", "test"]), "clip_id"]
    )
    unknown = [str(clip_id) for clip_id in requested if str(clip_id) not in known]
    if unknown:
        examples = ", ".join(sorted(known)[:3])
        raise ValueError(
            f"config key attribution.signed_clips names clips that are in neither val nor "
            f"test: {unknown} (val and test clip ids look like: {examples})"
        )
    chosen = choose_figure_clip(manifest_frame, events)
    return SignedClips(chosen, tuple(dict.fromkeys([chosen, *map(str, requested)])))
