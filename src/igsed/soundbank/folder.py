"""The `folder` soundbank source: a user's own soundbank, validated and linked in place.

Absolute symlinks instead of copies: a real soundbank is gigabytes, and the links keep the
pipeline's `resources/soundbank/folder/` in the same layout as every other source.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from igsed.core.constants import CLASSES
from igsed.soundbank.layout import (
    BACKGROUND,
    FOREGROUND,
    SoundbankError,
    layout_files,
    validate_soundbank_layout,
)

logger = logging.getLogger(__name__)


def link_folder_soundbank(src: Path, out_dir: Path, *, eval_only: bool = False) -> dict[str, Any]:
    """Validate the soundbank at `src`, then fill `out_dir` with absolute symlinks to its files.

    `eval_only` (a test condition's recordings): only the `eval/` half is needed and linked,
    and classes may be missing (a warning names them). `out_dir` must be missing or empty
    (the caller wraps it in `atomic_dir`). Returns {"source": absolute src, "counts":
    validate_soundbank_layout(src)}. Raises SoundbankError.
    """
    src = Path(src).expanduser()
    source_root = src.resolve()
    # Listed once, so stray files are warned about once; only listed files are linked.
    files = (
        layout_files(source_root, ("eval",), all_classes=False)
        if eval_only
        else layout_files(source_root)
    )
    counts = validate_soundbank_layout(source_root, files)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise SoundbankError(f"output folder {out_dir} is not empty")

    n_links = 0
    for half in files:
        for name in CLASSES:
            target_dir = out_dir / half / FOREGROUND / name
            n_links += _link_all(files[half][FOREGROUND][name], target_dir)
        n_links += _link_all(files[half][BACKGROUND], out_dir / half / BACKGROUND)
    logger.info("linked %d files of soundbank %s into %s", n_links, source_root, out_dir)
    return {"source": str(source_root), "counts": counts}


def _link_all(paths: list[Path], target_dir: Path) -> int:
    target_dir.mkdir(parents=True, exist_ok=True)
    for path in paths:
        # The source root is resolved, so every link target is absolute.
        os.symlink(path, target_dir / path.name)
    return len(paths)
