"""Saving model files (backbone, heads) atomically and byte-reproducibly."""

from __future__ import annotations

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
