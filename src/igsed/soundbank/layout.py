"""The soundbank layout every source produces, and its validation.

    <root>/{train,eval}/foreground/<Class>/<file>   one folder per class of CLASSES
    <root>/{train,eval}/background/<file>

Files are any format soundfile reads, at any sample rate (synthesis resamples). Hidden
files (a leading dot: `.DS_Store`, macOS `._x.wav`) are ignored, as Scaper ignores them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import soundfile as sf

from igsed.core.constants import CLASSES, CLIP_SECONDS
from igsed.core.logs import Progress

logger = logging.getLogger(__name__)

HALVES: tuple[str, ...] = ("train", "eval")
FOREGROUND = "foreground"
BACKGROUND = "background"
_PROGRESS_EVERY_S = 5.0


class SoundbankError(ValueError):
    """A soundbank that does not follow the layout; the message names the offending path."""


def visible_entries(folder: Path) -> list[Path]:
    """Entries of `folder` without hidden ones, sorted by name (a stable order)."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def layout_files(root: Path) -> dict[str, dict[str, Any]]:
    """Audio file paths per half: {half: {"foreground": {Class: [paths]}, "background": [...]}}.

    Checks the folder structure only (not the audio); raises SoundbankError.
    """
    root = Path(root)
    if not root.is_dir():
        raise SoundbankError(f"soundbank folder {root} does not exist or is not a folder")
    files: dict[str, dict[str, Any]] = {}
    for half in HALVES:
        half_dir = root / half
        foreground_dir = half_dir / FOREGROUND
        background_dir = half_dir / BACKGROUND
        for required in (half_dir, foreground_dir, background_dir):
            if not required.is_dir():
                raise SoundbankError(f"missing folder {required} (soundbank layout: {_LAYOUT})")
        files[half] = {
            FOREGROUND: _class_files(foreground_dir),
            BACKGROUND: _flat_files(background_dir, what=f"{half} background"),
        }
    return files


def validate_soundbank_layout(root: Path) -> dict[str, Any]:
    """Check `root` follows the layout and every file is readable, non-empty audio.

    Returns counts: {half: {"foreground": {Class: n}, "background": n,
    "sample_rates": [Hz, ...]}} for half in train, eval. Raises SoundbankError naming the
    first offending path.
    """
    files = layout_files(root)
    counts: dict[str, Any] = {}
    checked = 0
    progress = Progress(logger, f"soundbank files checked under {root}", None, _PROGRESS_EVERY_S)
    for half in HALVES:
        rates: set[int] = set()
        short_backgrounds: list[Path] = []
        for path, is_background in _all_files(files[half]):
            rate, seconds = _audio_info(path)
            rates.add(rate)
            if is_background and seconds < CLIP_SECONDS:
                short_backgrounds.append(path)
            checked += 1
            progress.update(checked)
        if short_backgrounds:
            logger.warning(
                "%d of %d %s backgrounds are shorter than a %.0f s clip (e.g. %s)",
                len(short_backgrounds),
                len(files[half][BACKGROUND]),
                half,
                CLIP_SECONDS,
                short_backgrounds[0],
            )
        counts[half] = {
            FOREGROUND: {name: len(paths) for name, paths in files[half][FOREGROUND].items()},
            BACKGROUND: len(files[half][BACKGROUND]),
            "sample_rates": sorted(rates),
        }
    logger.info("soundbank %s valid: %d audio files", root, checked)
    return counts


_LAYOUT = "<root>/{train,eval}/foreground/<Class>/*.wav and <root>/{train,eval}/background/*.wav"


def _class_files(foreground_dir: Path) -> dict[str, list[Path]]:
    entries = visible_entries(foreground_dir)
    for entry in entries:
        if not entry.is_dir():
            raise SoundbankError(
                f"{entry}: files belong in a class folder, e.g. {foreground_dir}/{CLASSES[0]}/"
            )
        if entry.name not in CLASSES:
            raise SoundbankError(
                f"unknown class folder {entry}; class folders are: {', '.join(CLASSES)}"
            )
    result: dict[str, list[Path]] = {}
    for name in CLASSES:
        class_dir = foreground_dir / name
        if not class_dir.is_dir():
            raise SoundbankError(f"missing class folder {class_dir} (every class needs one)")
        result[name] = _flat_files(class_dir, what=f"class {name}")
    return result


def _flat_files(folder: Path, *, what: str) -> list[Path]:
    entries = visible_entries(folder)
    for entry in entries:
        if entry.is_dir():
            raise SoundbankError(f"{entry}: sub-folders are not allowed here; put files directly")
        if not entry.is_file():
            raise SoundbankError(f"{entry}: not a regular file (a broken link?)")
    if not entries:
        raise SoundbankError(f"empty folder: {folder} holds no audio files ({what})")
    return entries


def _all_files(half_files: dict[str, Any]) -> list[tuple[Path, bool]]:
    """(path, is_background) for every file of one half."""
    paths = [(p, False) for name in CLASSES for p in half_files[FOREGROUND][name]]
    return paths + [(p, True) for p in half_files[BACKGROUND]]


def _audio_info(path: Path) -> tuple[int, float]:
    """(sample rate, duration in seconds) of a readable, non-empty audio file."""
    try:
        info = sf.info(str(path))
    except Exception as err:  # soundfile raises several types for unreadable input
        raise SoundbankError(f"{path} is not readable audio: {err}") from err
    if info.frames <= 0:
        raise SoundbankError(f"{path} holds no audio samples")
    return int(info.samplerate), float(info.duration)
