"""Atomic output: write to a temporary sibling, then rename over the target.

An interrupted job therefore never leaves a half-written file under the final name,
so Snakemake (or a user) never mistakes it for a finished output.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _umask() -> int:
    # The only portable way to read the umask is to set it; it is restored at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def permission_bits(directory: bool = False) -> int:
    """The mode a plain open()/mkdir() would give under the process umask (0644/0755 at 022).

    mkstemp and mkdtemp create private (0600/0700) files, which would make every output
    unreadable to collaborators on a shared filesystem once renamed into place.
    """
    return (0o777 if directory else 0o666) & ~_umask()


def _remove_leftovers(target: Path) -> None:
    """Remove temporary siblings of `target` that a killed writer left behind.

    A process killed outright (SIGKILL, power cut) never reaches its cleanup; the next write
    of the same target is the one moment its leftovers are known to be dead weight, since
    one target has one writer at a time.
    """
    pattern = os.path.join(glob.escape(str(target.parent)), f".{glob.escape(target.name)}.*.part")
    for leftover in map(Path, glob.glob(pattern)):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to `target`; rename it onto `target` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, permission_bits())
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory next to `target`; move it onto `target` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    os.chmod(tmp, permission_bits(directory=True))
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_text(target: str | os.PathLike[str], text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: str | os.PathLike[str], payload: Any) -> None:
    write_text(target, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))
