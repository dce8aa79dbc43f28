"""The `desed` soundbank source: download DESED's synthetic soundbank and map it to our layout.

What DESED's own `desed.download_desed_soundbank` (github.com/turpaultn/DESED,
desed/desed/download.py) fetches:
- `DESED_synth_soundbank.tar.gz` from Zenodo record 4307908. Extracted, it holds
  `audio/train/soundbank/foreground/<Class>/*.wav` (training foregrounds; no backgrounds,
  "only the foregrounds of training" says its docstring) and `audio/eval/soundbank/` with
  `foreground/<Class>/`, `background/{freesound,youtube}/` (17 files), plus `background_long/`,
  `foreground_short/`, `foreground_on_off/` used only by DESED's robustness subsets, and
  `license_*.tsv` at the root. Class folders may come as cut variants
  `<Class>_nOn`, `<Class>_nOff`, `<Class>_nOn_nOff` (recordings without onset and/or offset).
- Training backgrounds from SINS (Zenodo 1247102, `DCASE2018-task5-dev.audio.{1..23}.zip` +
  `.meta.zip`, keeping the files labelled `other`) and optionally TUT Acoustic Scenes 2017
  dev (Zenodo 400515, 10 zips, labels home/office/library). These are tens of GB, selected by
  a label file rather than by folder, so they are not in the defaults: the paper's train and
  test clips share one set of backgrounds, and the default maps the eval soundbank's
  backgrounds to both halves.

Archives are kept in `downloads_dir`, so a rerun (or a file placed there by hand) is not
downloaded again. Members are read one by one and written under paths computed here, never
extracted by name, so an archive cannot write outside `out_dir`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import stat
import tarfile
import urllib.parse
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from igsed.core.checksums import file_digest
from igsed.core.constants import CLASSES
from igsed.core.download import download
from igsed.core.logs import Progress
from igsed.soundbank.layout import (
    AUDIO_SUFFIXES,
    BACKGROUND,
    FOREGROUND,
    HALVES,
    SoundbankError,
    validate_soundbank_layout,
)

logger = logging.getLogger(__name__)

DESED_SOUNDBANK_URL = (
    "https://zenodo.org/record/4307908/files/DESED_synth_soundbank.tar.gz?download=1"
)

# md5 and size are not published in DESED's code and could not be checked from this machine
# (no internet): None means "not verified"; the summary reports the md5 of what was fetched
# so it can be pinned in config.yaml.
DEFAULT_DESED_ARCHIVES: list[dict[str, Any]] = [
    {
        "name": "DESED_synth_soundbank",
        "url": DESED_SOUNDBANK_URL,
        "md5": None,
        "size_bytes": None,
        "members": {
            "audio/train/soundbank/foreground": "train/foreground",
            "audio/eval/soundbank/foreground": "eval/foreground",
            "audio/eval/soundbank/background": ["train/background", "eval/background"],
        },
    },
]

_CUT_VARIANT = re.compile(r"^(?P<label>.+?)_(?P<cut>nOn_nOff|nOn|nOff)$")
_VALID_TARGETS = frozenset(f"{half}/{kind}" for half in HALVES for kind in (FOREGROUND, BACKGROUND))
_PROGRESS_EVERY_S = 5.0


def fetch_desed_soundbank(
    out_dir: Path,
    *,
    downloads_dir: Path,
    archives: Sequence[Mapping[str, Any]],
    retries: int = 3,
    timeout_s: float = 60.0,
    backoff_s: float = 1.0,
    include_cut_variants: bool = False,
) -> dict[str, Any]:
    """Download `archives` into `downloads_dir` and write their audio to `out_dir` in our layout.

    Each archive: {name, url, md5 (or None), size_bytes (optional), filename (optional),
    members: {archive folder prefix: "<half>/foreground" | "<half>/background" | [targets]}}.
    Under a foreground prefix the first folder names the class (a CLASSES name); cut variants
    (`<Class>_nOn_nOff` ...) are kept only with `include_cut_variants`, renamed
    `<stem>_<cut>.<ext>`. Deeper folders are flattened into the file name with `_`.
    `out_dir` must be missing or empty (the caller wraps it in `atomic_dir`).
    Returns {"archives": [{name, url, path, md5, size_bytes, files}], "counts": layout counts,
    "skipped": {...}}. Raises DownloadError (network, checksum) or SoundbankError (content).
    """
    out_dir = Path(out_dir)
    downloads_dir = Path(downloads_dir)
    specs = [_ArchiveSpec.parse(index, raw) for index, raw in enumerate(archives)]
    if not specs:
        raise SoundbankError("soundbank.desed.archives is empty: no archive to download")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise SoundbankError(f"output folder {out_dir} is not empty")
    out_dir.mkdir(parents=True, exist_ok=True)

    # Download everything first: an offline machine fails before any extraction work.
    paths = [
        download(
            spec.url,
            downloads_dir / spec.filename,
            md5=spec.md5,
            size_bytes=spec.size_bytes,
            retries=retries,
            timeout_s=timeout_s,
            backoff_s=backoff_s,
            manual_hint=_manual_hint(spec, downloads_dir / spec.filename),
        )
        for spec in specs
    ]
    skipped = _Skipped()
    summaries = []
    for spec, path in zip(specs, paths, strict=True):
        n_files = _extract(spec, path, out_dir, skipped, include_cut_variants)
        summaries.append(
            {
                "name": spec.name,
                "url": spec.url,
                "path": str(path),
                "md5": file_digest(path, "md5"),
                "size_bytes": path.stat().st_size,
                "files": n_files,
            }
        )
    if skipped.unknown_folders:
        logger.warning(
            "skipped foreground folders that are not DESED classes: %s",
            ", ".join(sorted(skipped.unknown_folders)),
        )
    counts = validate_soundbank_layout(out_dir)
    return {"archives": summaries, "counts": counts, "skipped": skipped.as_dict()}


@dataclass(frozen=True)
class _ArchiveSpec:
    name: str
    url: str
    md5: str | None
    size_bytes: int | None
    filename: str
    members: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (prefix parts, targets)

    @classmethod
    def parse(cls, index: int, raw: Mapping[str, Any]) -> _ArchiveSpec:
        where = f"soundbank.desed.archives[{index}]"
        if not isinstance(raw, Mapping):
            raise SoundbankError(f"{where} must be a mapping, got {raw!r}")
        for key in ("name", "url", "members"):
            if not raw.get(key):
                raise SoundbankError(f"{where} has no '{key}'")
        name, url = str(raw["name"]), str(raw["url"])
        where = f"{where} ({name})"
        members_raw = raw["members"]
        if not isinstance(members_raw, Mapping):
            raise SoundbankError(f"{where}.members must map archive folders to targets")
        members = []
        for prefix, targets_raw in members_raw.items():
            targets = (targets_raw,) if isinstance(targets_raw, str) else tuple(targets_raw)
            for target in targets:
                if target not in _VALID_TARGETS:
                    raise SoundbankError(
                        f"{where}.members[{prefix!r}]: unknown target {target!r}; "
                        f"targets are {', '.join(sorted(_VALID_TARGETS))}"
                    )
            try:
                prefix_parts = _safe_parts(str(prefix))
            except ValueError as err:
                raise SoundbankError(f"{where}.members: {err}") from err
            members.append((prefix_parts, targets))
        # Longest prefix first, so a nested mapping wins over its parent folder's.
        members.sort(key=lambda item: -len(item[0]))
        size = raw.get("size_bytes")
        md5 = raw.get("md5")
        return cls(
            name=name,
            url=url,
            md5=str(md5).lower() if md5 else None,
            size_bytes=int(size) if size is not None else None,
            filename=str(raw.get("filename") or _filename_from_url(url, name)),
            members=tuple(members),
        )


@dataclass
class _Skipped:
    cut_variants: int = 0
    unknown_folders: set[str] = field(default_factory=set)
    unknown_folder_files: int = 0
    non_audio_files: int = 0
    hidden_files: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "cut_variants": self.cut_variants,
            "unknown_folders": sorted(self.unknown_folders),
            "unknown_folder_files": self.unknown_folder_files,
            "non_audio_files": self.non_audio_files,
            "hidden_files": self.hidden_files,
        }


@dataclass(frozen=True)
class _Member:
    name: str
    is_file: bool
    is_link: bool
    open: Callable[[], IO[bytes]]


def _extract(
    spec: _ArchiveSpec, archive: Path, out_dir: Path, skipped: _Skipped, include_variants: bool
) -> int:
    written: dict[Path, str] = {}
    matched_prefixes: set[tuple[str, ...]] = set()
    top_level: set[str] = set()
    progress = Progress(logger, f"{archive.name}: files extracted", None, _PROGRESS_EVERY_S)
    with _members(archive) as members:
        for member in members:
            try:
                parts = _safe_parts(member.name)
            except ValueError as err:
                raise SoundbankError(f"archive {archive}: {err}; refusing to extract it") from err
            if parts:
                top_level.add(parts[0])
            mapping = _match(spec, parts)
            if mapping is None:
                continue
            prefix, targets = mapping
            relative = parts[len(prefix) :]
            if not member.is_file and not member.is_link:
                continue  # folders are recreated from file paths
            if any(part.startswith(".") for part in relative):
                skipped.hidden_files += 1
                continue
            if PurePosixPath(relative[-1]).suffix.lower() not in AUDIO_SUFFIXES:
                skipped.non_audio_files += 1
                continue
            if member.is_link:
                raise SoundbankError(
                    f"archive {archive}: member {member.name} is a link; refusing to extract it"
                )
            matched_prefixes.add(prefix)
            for target in targets:
                destination = _destination(out_dir, target, relative, skipped, include_variants)
                if destination is None:
                    continue
                if destination in written:
                    raise SoundbankError(
                        f"archive {archive}: members {written[destination]} and {member.name} "
                        f"both map to {destination}"
                    )
                if destination.exists():
                    raise SoundbankError(
                        f"archive {archive}: member {member.name} maps to {destination}, "
                        "which an earlier archive already wrote"
                    )
                destination.parent.mkdir(parents=True, exist_ok=True)
                with member.open() as source, open(destination, "wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
                written[destination] = member.name
            progress.update(len(written))
    for prefix, _ in spec.members:
        if prefix not in matched_prefixes:
            raise SoundbankError(
                f"archive {archive} ({spec.name}) has no audio under {'/'.join(prefix)}/; "
                f"its top-level entries are: {', '.join(sorted(top_level)[:20]) or '(none)'}. "
                "Check soundbank.desed.archives[].members."
            )
    logger.info("%s: extracted %d files into %s", archive.name, len(written), out_dir)
    return len(written)


def _match(
    spec: _ArchiveSpec, parts: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    for prefix, targets in spec.members:
        if len(parts) > len(prefix) and parts[: len(prefix)] == prefix:
            return prefix, targets
    return None


def _destination(
    out_dir: Path,
    target: str,
    relative: tuple[str, ...],
    skipped: _Skipped,
    include_variants: bool,
) -> Path | None:
    half, kind = target.split("/")
    if kind == BACKGROUND:
        return out_dir / half / BACKGROUND / "_".join(relative)
    if len(relative) < 2:
        skipped.unknown_folder_files += 1  # a file directly under foreground/ has no class
        return None
    folder, file_parts = relative[0], relative[1:]
    file_name = "_".join(file_parts)
    if folder in CLASSES:
        return out_dir / half / FOREGROUND / folder / file_name
    variant = _CUT_VARIANT.match(folder)
    if variant and variant.group("label") in CLASSES:
        if not include_variants:
            skipped.cut_variants += 1
            return None
        stem = PurePosixPath(file_name)
        renamed = f"{stem.stem}_{variant.group('cut')}{stem.suffix}"
        return out_dir / half / FOREGROUND / variant.group("label") / renamed
    skipped.unknown_folders.add(folder)
    skipped.unknown_folder_files += 1
    return None


def _safe_parts(name: str) -> tuple[str, ...]:
    """Path components of an archive member name; ValueError for absolute or `..` names."""
    unified = name.replace("\\", "/")
    if unified.startswith("/") or re.match(r"^[A-Za-z]:", unified):
        raise ValueError(f"member {name!r} has an absolute path")
    parts = tuple(part for part in unified.split("/") if part not in ("", "."))
    if ".." in parts:
        raise ValueError(f"member {name!r} points outside the archive")
    return parts


@contextlib.contextmanager
def _members(archive: Path) -> Iterator[Iterator[_Member]]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            yield _zip_members(handle)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive, "r:*") as handle:
            yield _tar_members(handle)
    else:
        raise SoundbankError(f"{archive} is neither a tar nor a zip archive")


def _tar_members(handle: tarfile.TarFile) -> Iterator[_Member]:
    for info in handle:
        yield _Member(
            name=info.name,
            is_file=info.isfile(),
            is_link=info.issym() or info.islnk(),
            open=lambda info=info: _tar_open(handle, info),
        )


def _tar_open(handle: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    stream = handle.extractfile(info)
    if stream is None:
        raise SoundbankError(f"cannot read member {info.name} of {handle.name}")
    return stream


def _zip_members(handle: zipfile.ZipFile) -> Iterator[_Member]:
    for info in handle.infolist():
        mode = info.external_attr >> 16
        yield _Member(
            name=info.filename,
            is_file=not info.is_dir(),
            is_link=stat.S_ISLNK(mode),
            open=lambda info=info: handle.open(info),
        )


def _filename_from_url(url: str, name: str) -> str:
    base = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    return base if base and "." in base else name


def _manual_hint(spec: _ArchiveSpec, path: Path) -> str:
    return (
        f"To proceed without this download: fetch {spec.url} yourself and save it as {path} "
        f"(it is then used as is), or arrange the soundbank yourself as "
        "<dir>/{train,eval}/foreground/<Class>/*.wav and <dir>/{train,eval}/background/*.wav "
        "and set `soundbank: {source: folder, folder: {path: <dir>}}` in the config."
    )
