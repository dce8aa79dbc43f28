"""File digests (md5 for published checksums, sha256 for our own provenance)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Iterable
from pathlib import Path

_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def combined_digest(paths: Iterable[str | os.PathLike[str]]) -> str:
    """One sha256 over the sha256 of several files, in the given order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(file_digest(path).encode())
    return digest.hexdigest()


def listing_digest(root: str | os.PathLike[str], suffixes: Collection[str] | None = None) -> str:
    """sha256 of the file listing under `root`: relative path, size and mtime (ns) of each.

    Cheap enough to compute while Snakemake builds its DAG (it only stats, never reads), yet
    it changes when a file is added, removed, renamed or rewritten. Hidden entries (a leading
    dot) are left out, as the soundbank layout ignores them; with `suffixes` (lower case,
    with the dot) only files with one of those suffixes count. Links are followed. A missing
    `root` gives the digest of an empty listing rather than an error: the job that reads the
    folder reports it.
    """
    allowed = None if suffixes is None else frozenset(suffixes)
    digest = hashlib.sha256()
    for relative, size, mtime_ns in _listing(Path(root), "", allowed, set()):
        digest.update(f"{relative}\0{size}\0{mtime_ns}\n".encode())
    return digest.hexdigest()


def _listing(
    folder: Path, prefix: str, suffixes: frozenset[str] | None, seen: set[tuple[int, int]]
) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime_ns) of the visible files under `folder`, sorted by name."""
    try:
        identity = folder.stat()
        children = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return []
    # A followed link back to an ancestor would otherwise recurse forever.
    if (identity.st_dev, identity.st_ino) in seen:
        return []
    seen.add((identity.st_dev, identity.st_ino))
    entries: list[tuple[str, int, int]] = []
    for child in children:
        if child.name.startswith("."):
            continue
        relative = f"{prefix}{child.name}"
        if child.is_dir():
            entries += _listing(Path(child.path), f"{relative}/", suffixes, seen)
        elif suffixes is None or Path(child.name).suffix.lower() in suffixes:
            entries.append((relative, *_size_and_mtime(child)))
    return entries


def _size_and_mtime(entry: os.DirEntry[str]) -> tuple[int, int]:
    try:
        stat = entry.stat()  # follows links: the linked file's size and time count
    except OSError:
        # A broken link still counts by its name; the job that reads it reports it.
        return -1, -1
    return stat.st_size, stat.st_mtime_ns
