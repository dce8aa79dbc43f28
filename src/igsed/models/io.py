"""Model files (backbone, heads): saved atomically and byte-reproducibly, read with checks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from igsed.formats.atomic import atomic_path


def save_payload(payload: dict[str, Any], path: Path) -> None:
    """torch.save `payload` to `path` through a temporary file, then rename."""
    # Through a file object, torch names the archive "archive", not after the temporary
    # file, so the same weights always give the same bytes (and sha256).
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        torch.save(payload, handle)


def load_payload(
    path: Path, *, kind: str, required: Sequence[str], mmap: bool = False
) -> dict[str, Any]:
    """The payload `save_payload` wrote to `path`, with the `required` keys of a `kind` file.

    Raises FileNotFoundError when `path` is missing and ValueError naming the missing keys
    when it is some other file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{kind} weights not found: {path}")
    payload = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    missing = [key for key in required if key not in payload]
    if missing:
        raise ValueError(f"{path}: not an igsed {kind} file (missing {missing})")
    return payload
