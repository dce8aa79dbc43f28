"""The feature cache: frozen-backbone frame features of one split, with its labels (HDF5).

Layout of `results/main/cnn14/features/{split}.h5` (one row per clip, manifest order)::

    /                      attrs: format_version, split, backbone_sha256, classes (JSON),
                                  config (JSON: how the features were made)
    /clip_ids              str     (N,)
    /features              float32 (N, T', D)  after the frequency mean, before time pooling
    /clip_labels           uint8   (N, 10)
    /frame_labels          uint8   (N, T', 10)  on the model grid (0.32 s, T' = 31)
    /frame_labels_100ms    uint8   (N, 100, 10) on the 100 ms evaluation grid

Every per-clip array is chunked one clip per chunk and gzip-compressed, so reading a batch
of clips touches only their chunks. Dataset times are not stored, so the same features give
the same file bytes.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from igsed.core.atomic import atomic_path
from igsed.core.constants import CLASSES, N_CLASSES, N_EVAL_FRAMES

FORMAT_VERSION = 1
PER_CLIP_DATASETS: tuple[str, ...] = (
    "features",
    "clip_labels",
    "frame_labels",
    "frame_labels_100ms",
)


@dataclass
class FeatureBatch:
    """Rows of a feature cache (numpy arrays, first axis = clips)."""

    clip_ids: list[str]
    features: np.ndarray  # (B, T', D) float32
    clip_labels: np.ndarray  # (B, 10) uint8
    frame_labels: np.ndarray  # (B, T', 10) uint8
    frame_labels_100ms: np.ndarray  # (B, 100, 10) uint8


class FeatureCacheWriter:
    """Write a cache of `n_clips` rows incrementally; the file appears only on success.

    with FeatureCacheWriter(path, n_clips, n_frames, dim, split=..., ...) as writer:
        writer.write(batch)  # batches in row order
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        n_clips: int,
        n_frames: int,
        dim: int,
        *,
        split: str,
        backbone_sha256: str,
        config: Mapping[str, Any],
    ) -> None:
        self.path = Path(path)
        self.n_clips = int(n_clips)
        self.n_frames = int(n_frames)
        self.dim = int(dim)
        self.attrs = {
            "format_version": FORMAT_VERSION,
            "split": split,
            "backbone_sha256": backbone_sha256,
            "classes": json.dumps(list(CLASSES)),
            "config": json.dumps(dict(config), sort_keys=True, default=str),
        }
        self.written = 0
        self._atomic: Any = None
        self._file: h5py.File | None = None

    def __enter__(self) -> FeatureCacheWriter:
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        try:
            self._file = h5py.File(tmp, "w", track_order=False)
            self._create()
        except BaseException:
            self._atomic.__exit__(*sys.exc_info())
            raise
        return self

    def _create(self) -> None:
        assert self._file is not None
        handle = self._file
        for key, value in self.attrs.items():
            handle.attrs[key] = value
        n = self.n_clips
        handle.create_dataset(
            "clip_ids", shape=(n,), dtype=h5py.string_dtype("utf-8"), track_times=False
        )
        shapes = {
            "features": ((n, self.n_frames, self.dim), "float32"),
            "clip_labels": ((n, N_CLASSES), "uint8"),
            "frame_labels": ((n, self.n_frames, N_CLASSES), "uint8"),
            "frame_labels_100ms": ((n, N_EVAL_FRAMES, N_CLASSES), "uint8"),
        }
        for name, (shape, dtype) in shapes.items():
            kwargs: dict[str, Any] = {"track_times": False}
            if n > 0:
                kwargs.update(chunks=(1, *shape[1:]), compression="gzip", compression_opts=4)
            handle.create_dataset(name, shape=shape, dtype=dtype, **kwargs)

    def write(self, batch: FeatureBatch) -> None:
        if self._file is None:
            raise RuntimeError("FeatureCacheWriter.write outside its `with` block")
        count = len(batch.clip_ids)
        start, stop = self.written, self.written + count
        if stop > self.n_clips:
            raise ValueError(f"{self.path}: {stop} rows written, the cache holds {self.n_clips}")
        expected = {
            "features": (count, self.n_frames, self.dim),
            "clip_labels": (count, N_CLASSES),
            "frame_labels": (count, self.n_frames, N_CLASSES),
            "frame_labels_100ms": (count, N_EVAL_FRAMES, N_CLASSES),
        }
        for name, shape in expected.items():
            array = np.asarray(getattr(batch, name))
            if array.shape != shape:
                raise ValueError(f"{self.path}: {name} has shape {array.shape}, expected {shape}")
            self._file[name][start:stop] = array
        self._file["clip_ids"][start:stop] = np.asarray(batch.clip_ids, dtype=object)
        self.written = stop

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._file is not None and self._atomic is not None
        self._file.close()
        self._file = None
        if exc_type is None and self.written != self.n_clips:
            exc = ValueError(f"{self.path}: {self.written} of {self.n_clips} rows written")
            self._atomic.__exit__(type(exc), exc, None)
            raise exc
        self._atomic.__exit__(exc_type, exc, traceback)


class FeatureCache:
    """Lazy reader of a feature cache: opens the file on first use, reads only what is asked.

    with FeatureCache(path) as cache:
        len(cache); cache.clip_ids; cache[3]; cache[10:26]; cache.batch([4, 7, 9])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"feature cache not found: {self.path}")
        self._file: h5py.File | None = None
        self._clip_ids: list[str] | None = None

    @property
    def file(self) -> h5py.File:
        if self._file is None:
            self._file = h5py.File(self.path, "r")
            version = int(self._file.attrs.get("format_version", -1))
            if version != FORMAT_VERSION:
                raise ValueError(
                    f"{self.path}: feature cache format {version}, this code reads {FORMAT_VERSION}"
                )
            missing = [n for n in ("clip_ids", *PER_CLIP_DATASETS) if n not in self._file]
            if missing:
                raise ValueError(f"{self.path}: missing datasets {missing}")
        return self._file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> FeatureCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self.file["clip_ids"].shape[0])

    @property
    def clip_ids(self) -> list[str]:
        if self._clip_ids is None:
            self._clip_ids = [
                v.decode("utf-8") if isinstance(v, bytes) else str(v)
                for v in self.file["clip_ids"][()]
            ]
        return self._clip_ids

    @property
    def backbone_sha256(self) -> str:
        return str(self.file.attrs["backbone_sha256"])

    @property
    def split(self) -> str:
        return str(self.file.attrs["split"])

    @property
    def config(self) -> dict[str, Any]:
        return json.loads(self.file.attrs["config"])

    @property
    def n_frames(self) -> int:
        return int(self.file["features"].shape[1])

    @property
    def dim(self) -> int:
        return int(self.file["features"].shape[2])

    def dataset(self, name: str) -> h5py.Dataset:
        """The raw h5py dataset `name` (sliceable without loading the rest)."""
        if name not in ("clip_ids", *PER_CLIP_DATASETS):
            raise KeyError(f"{self.path}: no dataset {name!r}")
        return self.file[name]

    def batch(self, indices: Sequence[int] | np.ndarray) -> FeatureBatch:
        """Rows `indices` (any order, repeats allowed) as one batch."""
        index = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if index.size and (index.min() < -n or index.max() >= n):
            raise IndexError(f"{self.path}: row index out of range for {n} clips")
        index = np.where(index < 0, index + n, index)
        # h5py fancy indexing needs increasing unique indices; read those, then reorder.
        unique, inverse = np.unique(index, return_inverse=True)
        arrays = {
            name: self.file[name][unique] if unique.size else self.file[name][:0]
            for name in PER_CLIP_DATASETS
        }
        ids = self.clip_ids
        return FeatureBatch(
            clip_ids=[ids[i] for i in index],
            **{name: array[inverse] for name, array in arrays.items()},
        )

    def __getitem__(self, key: int | slice) -> FeatureBatch:
        if isinstance(key, slice):
            return self.batch(np.arange(len(self))[key])
        if isinstance(key, (int, np.integer)):
            return self.batch([int(key)])
        raise TypeError(f"feature cache rows are indexed by int or slice, got {type(key)}")

    def iter_batches(self, batch_size: int) -> Iterator[FeatureBatch]:
        """Consecutive batches in row order (the last one may be shorter)."""
        for start in range(0, len(self), batch_size):
            yield self[start : start + batch_size]
