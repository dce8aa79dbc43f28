"""The soundbank layout every source produces, and its validation.

    <root>/{train,eval}/foreground/<Class>/<file>   one folder per class of CLASSES
    <root>/{train,eval}/background/<file>

Files are audio (AUDIO_SUFFIXES, any sample rate: synthesis resamples). Hidden files (a
leading dot: `.DS_Store`, macOS `._x.wav`) and files with another suffix (a README.txt) are
skipped with one warning naming them; an audio file that does not decode is an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import soundfile as sf

from igsed.core.constants import CLASSES, CLIP_SECONDS
from igsed.core.logs import Progress

logger = logging.getLogger(__name__)

HALVES: tuple[str, ...] = ("train", "eval")
FOREGROUND = "foreground"
BACKGROUND = "background"
# Suffixes (lower case) of audio formats soundfile reads: the files a soundbank is made of.
AUDIO_SUFFIXES: frozenset[str] = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".caf"}
)
_PROGRESS_EVERY_S = 5.0
_SKIPPED_SHOWN = 20


class SoundbankError(ValueError):
    """A soundbank that does not follow the layout; the message names the offending path."""


def is_audio_file_name(path: Path) -> bool:
    """A visible file name with an audio suffix: the files a soundbank is made of."""
    return not path.name.startswith(".") and path.suffix.lower() in AUDIO_SUFFIXES


def layout_files(
    root: Path, halves: Sequence[str] = HALVES, *, all_classes: bool = True
) -> dict[str, dict[str, Any]]:
    """Audio file paths per half: {half: {"foreground": {Class: [paths]}, "background": [...]}}.

    Checks the folder structure of `halves` only (not the audio); raises SoundbankError.
    Hidden and non-audio files are left out, with one warning that names them. With
    `all_classes` False (a test condition's recordings), a class may have no folder or no
    files (one warning names them), but at least one class must have files.
    """
    root = Path(root)
    if not root.is_dir():
        raise SoundbankError(f"soundbank folder {root} does not exist or is not a folder")
    skipped: list[Path] = []
    files: dict[str, dict[str, Any]] = {}
    for half in halves:
        half_dir = root / half
        foreground_dir = half_dir / FOREGROUND
        background_dir = half_dir / BACKGROUND
        for required in (half_dir, foreground_dir, background_dir):
            if not required.is_dir():
                raise SoundbankError(f"missing folder {required} (soundbank layout: {_LAYOUT})")
        files[half] = {
            FOREGROUND: _class_files(foreground_dir, skipped, all_classes),
            BACKGROUND: _flat_files(background_dir, skipped, what=f"{half} background"),
        }
    if skipped:
        _warn_skipped(root, skipped)
    return files


def validate_soundbank_layout(
    root: Path, files: Mapping[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Check `root` follows the layout and every file is readable, non-empty audio.

    `files` is `layout_files(root, ...)` when the caller has it already (one skip warning,
    not two; its halves are the ones checked). Returns counts: {half: {"foreground": {Class:
    n}, "background": n, "sample_rates": [Hz, ...]}} per half. Raises SoundbankError naming
    the first offending path.
    """
    files = layout_files(root) if files is None else files
    counts: dict[str, Any] = {}
    checked = 0
    progress = Progress(logger, f"soundbank files checked under {root}", None, _PROGRESS_EVERY_S)
    for half in files:
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


def _class_files(
    foreground_dir: Path, skipped: list[Path], all_classes: bool
) -> dict[str, list[Path]]:
    entries = _kept_entries(foreground_dir, skipped)
    for entry in entries:
        if not entry.is_dir():
            raise SoundbankError(
                f"{entry}: files belong in a class folder, e.g. {foreground_dir}/{CLASSES[0]}/"
            )
        if entry.name not in CLASSES:
            raise SoundbankError(
                f"unknown class folder {entry}; class folders are: {', '.join(CLASSES)}"
            )
    if not all_classes:
        return _present_class_files(foreground_dir, skipped)
    result: dict[str, list[Path]] = {}
    for name in CLASSES:
        class_dir = foreground_dir / name
        if not class_dir.is_dir():
            raise SoundbankError(f"missing class folder {class_dir} (every class needs one)")
        result[name] = _flat_files(class_dir, skipped, what=f"class {name}")
    return result


def _present_class_files(foreground_dir: Path, skipped: list[Path]) -> dict[str, list[Path]]:
    """Files per class where classes may be missing (recordings rarely hold all ten)."""
    result: dict[str, list[Path]] = {}
    for name in CLASSES:
        class_dir = foreground_dir / name
        present = class_dir.is_dir() and any(
            is_audio_file_name(p) for p in class_dir.iterdir() if p.is_file()
        )
        result[name] = _flat_files(class_dir, skipped, what=f"class {name}") if present else []
    missing = [name for name in CLASSES if not result[name]]
    if len(missing) == len(CLASSES):
        raise SoundbankError(
            f"{foreground_dir} holds no foreground audio of any class; "
            f"class folders are: {', '.join(CLASSES)}"
        )
    if missing:
        logger.warning(
            "%s has no foreground audio for %d classes, which never occur in its clips: %s",
            foreground_dir,
            len(missing),
            ", ".join(missing),
        )
    return result


def _flat_files(folder: Path, skipped: list[Path], *, what: str) -> list[Path]:
    entries = _kept_entries(folder, skipped)
    for entry in entries:
        if entry.is_dir():
            raise SoundbankError(f"{entry}: sub-folders are not allowed here; put files directly")
        if not entry.is_file():
            raise SoundbankError(f"{entry}: not a regular file (a broken link?)")
    if not entries:
        raise SoundbankError(f"empty folder: {folder} holds no audio files ({what})")
    return entries


def _kept_entries(folder: Path, skipped: list[Path]) -> list[Path]:
    """Sub-folders and audio files of `folder`, sorted; the other files go to `skipped`.

    Stray files (a README.txt, Finder's .DS_Store) are common in a user's folder, and
    nothing in the pipeline reads them, so they are skipped rather than fatal.
    """
    kept: list[Path] = []
    for entry in sorted(folder.iterdir()):
        visible = not entry.name.startswith(".")
        wanted = visible and (entry.is_dir() or is_audio_file_name(entry))
        (kept if wanted else skipped).append(entry)
    return kept


def _warn_skipped(root: Path, skipped: list[Path]) -> None:
    shown = ", ".join(str(p) for p in skipped[:_SKIPPED_SHOWN])
    more = f" and {len(skipped) - _SKIPPED_SHOWN} more" if len(skipped) > _SKIPPED_SHOWN else ""
    logger.warning(
        "soundbank %s: skipped %d hidden or non-audio entries (audio suffixes: %s): %s%s",
        root,
        len(skipped),
        " ".join(sorted(AUDIO_SUFFIXES)),
        shown,
        more,
    )


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
