"""File digests (md5 for published checksums, sha256 for our own provenance)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

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
