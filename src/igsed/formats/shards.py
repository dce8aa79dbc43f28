"""Attribution shards: one HDF5 file per `attribute` job, one group per clip.

Layout of a shard (all frame arrays on the 100 ms evaluation grid, 100 frames)::

    /                      attrs: format_version, split, model_checksum, settings (JSON)
    /<clip_id>/            attrs: probabilities (10,) clip-classifier sigmoid scores,
                                  attributed_classes (k,) class names (prob > threshold),
                                  convergence_delta (k,), f_input (k,), f_baseline (k,)
    /<clip_id>/ground_truth   uint8 (100, 10)   frame mask per class
    /<clip_id>/ig             float32 (k, 100)  mean |IG| per frame, rows = attributed_classes
    /<clip_id>/fw_weak        float32 (100, 10) FW-WS frame probabilities on the 100 ms grid
    /<clip_id>/fw_strong      float32 (100, 10) FW-SS frame probabilities on the 100 ms grid
    /<clip_id>/fw_weak_clip   float32 (10,)     FW-WS clip probabilities (max over frames)
    /<clip_id>/fw_strong_clip float32 (10,)     FW-SS clip probabilities
    /<clip_id>/energy         float32 (100,)    mean |x| per frame
    /<clip_id>/random         float32 (100, 10) U(0, 1), seeded per clip
    /<clip_id>/ig_signed      float32 (k, 320000) only for the configured figure clips
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
from igsed.core.checksums import combined_digest
from igsed.core.constants import N_EVAL_FRAMES

FORMAT_VERSION = 1
FRAME_METHODS: tuple[str, ...] = ("ig", "fw_weak", "fw_strong", "energy", "random")
# The model files a shard is made with, in the order of its model_checksum.
MODEL_ROLES: tuple[str, ...] = ("backbone", "clip_head", "fw_weak", "fw_strong")


class ShardError(ValueError):
    """A shard that cannot be used: unreadable, or made with other models or settings."""


def rebuild_options(paths: Sequence[str | os.PathLike[str]]) -> str:
    """What to add to the run's snakemake command to rebuild `paths`.

    --rerun-incomplete because a shard finished by an orphaned job is still marked
    incomplete, and Snakemake refuses to force it otherwise.
    """
    return "--rerun-incomplete --forcerun " + " ".join(str(p) for p in paths)


def _rebuild_hint(paths: Sequence[str | os.PathLike[str]]) -> str:
    which = "it" if len(paths) == 1 else "them"
    return (
        f"Rebuild {which} by adding these options to the run's snakemake command: "
        f"{rebuild_options(paths)}"
    )


def model_checksum(models: Mapping[str, str | os.PathLike[str]]) -> str:
    """The checksum a shard records of the model files it was made with (MODEL_ROLES)."""
    missing = [role for role in MODEL_ROLES if role not in models]
    if missing:
        raise KeyError(f"model files missing for roles {missing}; expected {MODEL_ROLES}")
    return combined_digest(models[role] for role in MODEL_ROLES)


@dataclass
class ClipAttribution:
    """Everything the evaluation needs about one clip."""

    clip_id: str
    probabilities: np.ndarray  # (10,)
    attributed_classes: list[str]
    ground_truth: np.ndarray  # (100, 10) uint8
    ig: np.ndarray  # (k, 100)
    convergence_delta: np.ndarray  # (k,)
    f_input: np.ndarray  # (k,) F(x) of each attributed class
    f_baseline: np.ndarray  # (k,) F(0)
    fw_weak: np.ndarray  # (100, 10)
    fw_strong: np.ndarray  # (100, 10)
    fw_weak_clip: np.ndarray  # (10,)
    fw_strong_clip: np.ndarray  # (10,)
    energy: np.ndarray  # (100,)
    random: np.ndarray  # (100, 10)
    ig_signed: np.ndarray | None = None  # (k, n_samples), figure clips only
    extra_attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Shard:
    split: str
    model_checksum: str
    settings: dict[str, Any]
    clips: list[ClipAttribution]


def _gzip(group: h5py.Group, name: str, data: np.ndarray, dtype: str) -> None:
    array = np.asarray(data, dtype=dtype)
    if array.size == 0:
        group.create_dataset(name, data=array)
    else:
        group.create_dataset(name, data=array, compression="gzip", compression_opts=4)


def write_shard(
    path: str | os.PathLike[str],
    clips: Sequence[ClipAttribution],
    *,
    split: str,
    model_checksum: str,
    settings: dict[str, Any],
) -> None:
    """Write a shard atomically (temporary file, then rename)."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["format_version"] = FORMAT_VERSION
        h5.attrs["split"] = split
        h5.attrs["model_checksum"] = model_checksum
        h5.attrs["settings"] = json.dumps(settings, sort_keys=True)
        for clip in clips:
            k = len(clip.attributed_classes)
            group = h5.create_group(clip.clip_id)
            group.attrs["probabilities"] = np.asarray(clip.probabilities, dtype=np.float64)
            group.attrs["attributed_classes"] = json.dumps(list(clip.attributed_classes))
            group.attrs["convergence_delta"] = np.asarray(
                clip.convergence_delta, dtype=np.float64
            ).reshape(k)
            group.attrs["f_input"] = np.asarray(clip.f_input, dtype=np.float64).reshape(k)
            group.attrs["f_baseline"] = np.asarray(clip.f_baseline, dtype=np.float64).reshape(k)
            for key, value in clip.extra_attrs.items():
                group.attrs[key] = value
            _gzip(group, "ground_truth", clip.ground_truth, "uint8")
            _gzip(group, "ig", np.asarray(clip.ig).reshape(k, N_EVAL_FRAMES), "float32")
            for name in ("fw_weak", "fw_strong", "fw_weak_clip", "fw_strong_clip"):
                _gzip(group, name, getattr(clip, name), "float32")
            _gzip(group, "energy", clip.energy, "float32")
            _gzip(group, "random", clip.random, "float32")
            if clip.ig_signed is not None:
                _gzip(group, "ig_signed", clip.ig_signed, "float32")


def _read_clip(clip_id: str, group: h5py.Group) -> ClipAttribution:
    attributed = list(json.loads(group.attrs["attributed_classes"]))
    known = {"probabilities", "attributed_classes", "convergence_delta", "f_input", "f_baseline"}
    return ClipAttribution(
        clip_id=clip_id,
        probabilities=np.asarray(group.attrs["probabilities"]),
        attributed_classes=attributed,
        ground_truth=group["ground_truth"][()],
        ig=group["ig"][()].reshape(len(attributed), N_EVAL_FRAMES),
        convergence_delta=np.asarray(group.attrs["convergence_delta"]).reshape(-1),
        f_input=np.asarray(group.attrs["f_input"]).reshape(-1),
        f_baseline=np.asarray(group.attrs["f_baseline"]).reshape(-1),
        fw_weak=group["fw_weak"][()],
        fw_strong=group["fw_strong"][()],
        fw_weak_clip=group["fw_weak_clip"][()],
        fw_strong_clip=group["fw_strong_clip"][()],
        energy=group["energy"][()],
        random=group["random"][()],
        ig_signed=group["ig_signed"][()] if "ig_signed" in group else None,
        extra_attrs={k: v for k, v in group.attrs.items() if k not in known},
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
        split=str(h5.attrs["split"]),
        model_checksum=str(h5.attrs["model_checksum"]),
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
    """What every shard a stage reads must have been made with.

    `settings` holds the configured values of the recorded settings that shape the numbers;
    a shard whose recorded value differs (or whose models differ) is stale, for example one
    finished by an orphaned job after a hard kill, which Snakemake keeps without metadata.
    """

    model_checksum: str
    settings: Mapping[str, Any]

    @classmethod
    def of(
        cls, models: Mapping[str, str | os.PathLike[str]], settings: Mapping[str, Any]
    ) -> ShardExpectation:
        """From the model files by role (MODEL_ROLES) and the configured settings."""
        return cls(model_checksum(models), dict(settings))

    def differences(self, shard: Shard) -> list[str]:
        found = [
            f"{key} = {shard.settings.get(key)!r} (configured: {value!r})"
            for key, value in sorted(self.settings.items())
            if shard.settings.get(key) != value
        ]
        if shard.model_checksum != self.model_checksum:
            found.append("made with other model files")
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
            f"{len(stale)} attribution shards were made with other settings or models than "
            f"this run's, and would mix into its results:\n{lines}\n"
            f"{_rebuild_hint(list(stale))}"
        )


def iter_clips(paths: Sequence[str | os.PathLike[str]]) -> Iterator[ClipAttribution]:
    """Clips of many shards, one shard open at a time."""
    for path in paths:
        yield from read_shard(Path(path)).clips
