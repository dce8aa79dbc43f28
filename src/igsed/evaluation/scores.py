"""The attribution shards the evaluation reads: by method and split, checked and loaded.

`ShardSet` is what the `evaluate` and `figures` rules hand over: every shard path by method,
then split, and what each method's shards must have been made with (its parameters, model
files and instances). The evaluation learns the methods from here and never names one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from igsed.core.constants import EVAL_SPLITS, N_EVAL_FRAMES
from igsed.core.logs import Progress
from igsed.core.methods import method_info
from igsed.core.model_kinds import roles_in
from igsed.formats.shards import (
    ClipScores,
    ShardExpectation,
    read_shard,
    require_current_shards,
)

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class ShardSet:
    """Shard paths by method, then split; `expectations` by method (None: no check)."""

    paths: Mapping[str, Mapping[str, Sequence[PathLike]]]
    expectations: Mapping[str, ShardExpectation] | None = None

    @property
    def methods(self) -> list[str]:
        return list(self.paths)

    def of(self, method: str, split: str) -> list[Path]:
        return [Path(p) for p in self.paths[method].get(split, [])]

    @classmethod
    def for_run(
        cls,
        paths: Mapping[str, Mapping[str, Sequence[PathLike]]],
        *,
        models: Mapping[str, PathLike],
        method_params: Mapping[str, Mapping[str, Any]],
        instances: Mapping[str, PathLike],
    ) -> ShardSet:
        """The run's shards, expected to be made with its model files (by role), each
        method's configured parameters and the instances files (by split)."""
        expectations = {}
        for method in paths:
            info = method_info(method)
            expectations[method] = ShardExpectation.of(
                method,
                {role: models[role] for role in roles_in(info, models)},
                method_params[method],
                None if info.all_classes else instances,
            )
        return cls(paths, expectations)

    def require_current(self, splits: Sequence[str] = EVAL_SPLITS) -> None:
        """Raise ShardError naming every existing shard made with other settings or models."""
        if self.expectations is None:
            return
        for method in self.methods:
            present = [p for split in splits for p in self.of(method, split) if p.is_file()]
            require_current_shards(present, self.expectations[method])


@dataclass
class MethodScores:
    """One method's scores of every clip of a split, and the distinct settings recorded."""

    clips: dict[str, ClipScores]
    settings: list[dict[str, Any]]


def load_method_scores(
    paths: Sequence[PathLike], method: str, split: str, expected_ids: Sequence[str]
) -> MethodScores:
    """The scores of every expected clip of `split` from one method's shards.

    Raises when a shard is missing, holds another method or split, a clip is in two shards,
    an expected clip is missing or an unexpected one is present.
    """
    paths = [Path(p) for p in paths]
    missing_paths = [str(p) for p in paths if not p.is_file()]
    if missing_paths:
        raise FileNotFoundError(f"{method} {split}: shard files not found: {missing_paths}")
    by_id: dict[str, ClipScores] = {}
    source: dict[str, Path] = {}
    settings: dict[str, dict[str, Any]] = {}
    progress = Progress(logger, f"{method} {split}: shards read", len(paths), every_s=5.0)
    for number, path in enumerate(paths, start=1):
        shard = read_shard(path)
        if (shard.method, shard.split) != (method, split):
            raise ValueError(
                f"{path}: a shard of {shard.method} on {shard.split}, expected {method} on {split}"
            )
        settings.setdefault(json.dumps(shard.settings, sort_keys=True), shard.settings)
        for clip in shard.clips:
            if clip.clip_id in by_id:
                raise ValueError(
                    f"clip {clip.clip_id} is in two {method} shards: "
                    f"{source[clip.clip_id]} and {path}"
                )
            by_id[clip.clip_id] = clip
            source[clip.clip_id] = path
        progress.update(number)
    missing = [clip_id for clip_id in expected_ids if clip_id not in by_id]
    if missing:
        raise FileNotFoundError(
            f"{method} {split}: {len(missing)} of {len(expected_ids)} expected clips have no "
            f"attribution shard: {missing}"
        )
    expected = set(expected_ids)
    unexpected = sorted(clip_id for clip_id in by_id if clip_id not in expected)
    if unexpected:
        raise ValueError(
            f"{method} {split}: shards hold clips that are not in the {split} manifest: "
            f"{unexpected} (first in {source[unexpected[0]]})"
        )
    return MethodScores(
        clips={clip_id: by_id[clip_id] for clip_id in expected_ids},
        settings=[settings[key] for key in sorted(settings)],
    )


def checked_row(clip: ClipScores, class_name: str, method: str) -> np.ndarray:
    """One instance's 100 frame scores from a clip of a shard, or a ValueError naming the
    clip, class and method (a missing class, a wrong shape, a non-finite score)."""
    try:
        scores = np.asarray(clip.row(class_name), dtype=np.float64)
    except KeyError as error:
        raise ValueError(
            f"{method}: {error.args[0]}. Was it attributed with other instances?"
        ) from error
    if scores.shape != (N_EVAL_FRAMES,):
        raise ValueError(
            f"clip {clip.clip_id}, class {class_name}, method {method}: "
            f"frame scores have shape {scores.shape}, expected ({N_EVAL_FRAMES},)"
        )
    bad = ~np.isfinite(scores)
    if bad.any():
        frames = np.flatnonzero(bad)
        raise ValueError(
            f"clip {clip.clip_id}, class {class_name}, method {method}: "
            f"{frames.size} non-finite frame score(s) (first at frame {frames[0]}: "
            f"{scores[frames[0]]}); refusing to average them"
        )
    return scores
