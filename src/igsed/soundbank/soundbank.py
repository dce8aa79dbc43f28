"""Soundbanks in DESED's layout: synthetic (offline default), desed (download), folder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from igsed.core.atomic import atomic_dir, write_json

logger = logging.getLogger(__name__)

SOURCES: tuple[str, ...] = ("synthetic", "desed", "folder")


def soundbank(
    source: str,
    out_dir: Path,
    *,
    settings: dict[str, Any],
    downloads_dir: Path,
    eval_only: bool = False,
) -> dict[str, Any]:
    """Fill `out_dir` (atomically) from the configured source; return a summary.

    `eval_only`: a test condition's soundbank, which feeds only the eval pool; a folder then
    needs only its `eval/` half and may lack classes.
    """
    if source not in SOURCES:
        raise ValueError(f"soundbank.source = {source!r}; allowed values: {', '.join(SOURCES)}")
    with atomic_dir(out_dir) as staging:
        if source == "synthetic":
            from igsed.soundbank.synthetic import generate_synthetic_soundbank

            summary = generate_synthetic_soundbank(
                staging,
                seed=int(settings["seed"]),
                files_per_class=dict(settings["files_per_class"]),
                backgrounds=dict(settings["backgrounds"]),
            )
        elif source == "desed":
            from igsed.soundbank.desed import DEFAULT_DESED_ARCHIVES, fetch_desed_soundbank

            summary = fetch_desed_soundbank(
                staging,
                downloads_dir=downloads_dir,
                archives=list(settings.get("archives") or DEFAULT_DESED_ARCHIVES),
                retries=int(settings.get("retries", 3)),
                timeout_s=float(settings.get("timeout_s", 60.0)),
                include_cut_variants=bool(settings.get("include_cut_variants", False)),
            )
        else:
            from igsed.soundbank.folder import link_folder_soundbank

            path = settings.get("path")
            if not path:
                raise ValueError(
                    "soundbank.source = 'folder' needs soundbank.folder.path: the directory "
                    "holding {train,eval}/foreground/<Class>/*.wav and {train,eval}/background/"
                )
            summary = link_folder_soundbank(Path(path), staging, eval_only=eval_only)
        write_json(staging / "soundbank.json", {"source": source, **summary})
    logger.info("soundbank %s ready in %s", source, out_dir)
    return summary
