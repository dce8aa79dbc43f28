"""Attribution shards: one HDF5 file per `attribute` job (one method, one split, a few clips).

Layout of a shard (frame scores on the 100 ms evaluation grid, 100 frames)::

    /                   attrs: format_version (2), method, split, model_checksum,
                               instances_checksum, settings (JSON)
    /<clip_id>/         attrs: classes (JSON list: the rows), diagnostics (JSON list of names),
                               one float64 (k,) attr per diagnostic (IG: convergence_delta,
                               f_input, f_baseline), clip_probabilities (10,) where the method
                               has its own detections (the framewise heads)
    /<clip_id>/scores   float32 (k, 100)  frame scores, higher = more important
    /<clip_id>/signed   float32 (k, N)    per-sample signed attribution, kept clips only

`model_checksum` covers the model files the method was run with (only those), and
`instances_checksum` the instances file it attributed ("" for methods that score every class).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from igsed.core.atomic import atomic_path
from igsed.core.checksums import combined_digest, file_digest
from igsed.core.constants import N_CLASSES, N_EVAL_FRAMES
from igsed.formats.handover import rebuild_hint as _rebuild_hint

FORMAT_VERSION = 2
# The model files a method can be run with, in the order of its model_checksum.
MODEL_ROLES: tuple[str, ...] = ("backbone", "clip_head", "fw_weak", "fw_strong", "classifier")


class ShardError(ValueError):
    """A shard that cannot be used: unreadable, or made with other models or settings."""


def model_checksum(models: Mapping[str, str | os.PathLike[str]]) -> str:
    """The checksum a shard records of the model files it was made with, by role.

    Only the roles given count (a framewise method is not re-run for a new clip head);
    no models at all (the baselines) give "".
    """
    unknown = sorted(set(models) - set(MODEL_ROLES))
    if unknown:
        raise KeyError(f"unknown model roles {unknown}; expected some of {MODEL_ROLES}")
    if not models:
        return ""
    return combined_digest(models[role] for role in MODEL_ROLES if role in models)


@dataclass
class ClipScores:
    """One method's scores of one clip: a row of frame scores per class."""

    clip_id: str
    classes: list[str]
    scores: np.ndarray  # (k, 100)
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (k,)
    signed: np.ndarray | None = None  # (k, n_samples), kept clips only
    clip_probabilities: np.ndarray | None = None  # (10,) the method's own detections

    def row(self, class_name: str) -> np.ndarray:
        """The frame scores of `class_name`; KeyError naming the clip if it has no row."""
        if class_name not in self.classes:
            raise KeyError(
                f"clip {self.clip_id}: no scores for class {class_name} "
                f"(scored classes: {self.classes})"
            )
        return np.asarray(self.scores[self.classes.index(class_name)])


@dataclass
class Shard:
    method: str
    split: str
    model_checksum: str
    instances_checksum: str
    settings: dict[str, Any]
    clips: list[ClipScores]


def _gzip(group: h5py.Group, name: str, data: np.ndarray, dtype: str) -> None:
    array = np.asarray(data, dtype=dtype)
    if array.size == 0:
        group.create_dataset(name, data=array)
    else:
        group.create_dataset(name, data=array, compression="gzip", compression_opts=4)


def _write_clip(h5: h5py.File, clip: ClipScores) -> None:
    k = len(clip.classes)
    group = h5.create_group(clip.clip_id)
    group.attrs["classes"] = json.dumps(list(clip.classes))
    group.attrs["diagnostics"] = json.dumps(sorted(clip.diagnostics))
    for name, values in clip.diagnostics.items():
        group.attrs[name] = np.asarray(values, dtype=np.float64).reshape(k)
    if clip.clip_probabilities is not None:
        probabilities = np.asarray(clip.clip_probabilities, dtype=np.float64)
        group.attrs["clip_probabilities"] = probabilities.reshape(N_CLASSES)
    _gzip(group, "scores", np.asarray(clip.scores).reshape(k, N_EVAL_FRAMES), "float32")
    if clip.signed is not None:
        signed = np.asarray(clip.signed)
        _gzip(group, "signed", signed.reshape(k, signed.shape[-1]), "float32")


def write_shard(
    path: str | os.PathLike[str],
    clips: Sequence[ClipScores],
    *,
    method: str,
    split: str,
    model_checksum: str,
    instances_checksum: str,
    settings: dict[str, Any],
) -> None:
    """Write a shard atomically (temporary file, then rename)."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["format_version"] = FORMAT_VERSION
        h5.attrs["method"] = method
        h5.attrs["split"] = split
        h5.attrs["model_checksum"] = model_checksum
        h5.attrs["instances_checksum"] = instances_checksum
        h5.attrs["settings"] = json.dumps(settings, sort_keys=True)
        for clip in clips:
            _write_clip(h5, clip)


def _read_clip(clip_id: str, group: h5py.Group) -> ClipScores:
    classes = list(json.loads(group.attrs["classes"]))
    names = json.loads(group.attrs["diagnostics"])
    probabilities = group.attrs.get("clip_probabilities")
    return ClipScores(
        clip_id=clip_id,
        classes=classes,
        scores=group["scores"][()].reshape(len(classes), N_EVAL_FRAMES),
        diagnostics={name: np.asarray(group.attrs[name]).reshape(-1) for name in names},
        signed=group["signed"][()] if "signed" in group else None,
        clip_probabilities=None if probabilities is None else np.asarray(probabilities),
    )


def _unreadable(path: str | os.PathLike[str], error: OSError) -> ShardError:
    return ShardError(
        f"attribution shard {path} is unreadable ({error}); it was probably cut short. "
        f"{_rebuild_hint([path])}"
    )


def _open(path: str | os.PathLike[str]) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise _unreadable(path, error) from error


def _header(h5: h5py.File, path: str | os.PathLike[str]) -> Shard:
    version = int(h5.attrs.get("format_version", -1))
    if version != FORMAT_VERSION:
        raise ShardError(
            f"{path}: shard format {version}, expected {FORMAT_VERSION}. {_rebuild_hint([path])}"
        )
    return Shard(
        method=str(h5.attrs["method"]),
        split=str(h5.attrs["split"]),
        model_checksum=str(h5.attrs["model_checksum"]),
        instances_checksum=str(h5.attrs["instances_checksum"]),
        settings=json.loads(h5.attrs["settings"]),
        clips=[],
    )


def read_shard(path: str | os.PathLike[str]) -> Shard:
    with _open(path) as h5:
        shard = _header(h5, path)
        try:
            shard.clips = [_read_clip(clip_id, h5[clip_id]) for clip_id in h5]
        except OSError as error:  # a damaged dataset inside a file that still opens
            raise _unreadable(path, error) from error
        return shard


@dataclass(frozen=True)
class ShardExpectation:
    """What every shard of one method must have been made with.

    `settings` holds the configured values of the recorded settings that shape the numbers
    (the method's parameters); `instances_checksums` the checksum of each split's instances
    file (empty for a method that scores every class). A shard that differs is stale, for
    example one finished by an orphaned job after a hard kill, which Snakemake keeps
    without metadata.
    """

    method: str
    model_checksum: str
    settings: Mapping[str, Any]
    instances_checksums: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        method: str,
        models: Mapping[str, str | os.PathLike[str]],
        settings: Mapping[str, Any],
        instances: Mapping[str, str | os.PathLike[str]] | None = None,
    ) -> ShardExpectation:
        """From the method's model files by role, its settings and instances files by split."""
        checksums = {split: file_digest(path) for split, path in (instances or {}).items()}
        return cls(method, model_checksum(models), dict(settings), checksums)

    def differences(self, shard: Shard) -> list[str]:
        if shard.method != self.method:
            return [f"a shard of method {shard.method!r}, expected {self.method!r}"]
        found = [
            f"{key} = {shard.settings.get(key)!r} (configured: {value!r})"
            for key, value in sorted(self.settings.items())
            if shard.settings.get(key) != value
        ]
        if shard.model_checksum != self.model_checksum:
            found.append("made with other model files")
        if shard.instances_checksum != self.instances_checksums.get(shard.split, ""):
            found.append(f"made for other {shard.split} instances")
        return found


def require_current_shards(
    paths: Sequence[str | os.PathLike[str]], expectation: ShardExpectation
) -> None:
    """Raise ShardError naming every shard not made with the expected models and settings."""
    stale: dict[str, list[str]] = {}
    for path in paths:
        with _open(path) as h5:
            differences = expectation.differences(_header(h5, path))
        if differences:
            stale[str(path)] = differences
    if stale:
        lines = "\n".join(f"  {path}: {'; '.join(diff)}" for path, diff in stale.items())
        raise ShardError(
            f"{len(stale)} {expectation.method} attribution shards were made with other "
            f"settings or models than this run's, and would mix into its results:\n{lines}\n"
            f"{_rebuild_hint(list(stale))}"
        )


def iter_clips(paths: Sequence[str | os.PathLike[str]]) -> Iterator[ClipScores]:
    """Clips of many shards, one shard open at a time."""
    for path in paths:
        yield from read_shard(Path(path)).clips


def find_clip(paths: Sequence[str | os.PathLike[str]], clip_id: str) -> ClipScores | None:
    """The scores of `clip_id` from the first of `paths` that holds it (None if none does)."""
    for path in paths:
        with _open(path) as h5:
            if clip_id not in h5:
                continue
            _header(h5, path)
            try:
                return _read_clip(clip_id, h5[clip_id])
            except OSError as error:
                raise _unreadable(path, error) from error
    return None
