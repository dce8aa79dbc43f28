"""Atomic writes: outputs get the umask's mode, so collaborators can read results/."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from igsed.core.atomic import atomic_dir, atomic_path, write_text


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_and_dirs_get_the_umask_mode(tmp_path: Path, umask_022: None) -> None:
    write_text(tmp_path / "table.md", "| a |\n")
    with atomic_path(tmp_path / "weights.pt") as tmp:
        tmp.write_bytes(b"x")
    with atomic_dir(tmp_path / "chunk_0") as staging:
        (staging / "clip.wav").write_bytes(b"RIFF")
    assert _mode(tmp_path / "table.md") == 0o644
    assert _mode(tmp_path / "weights.pt") == 0o644
    assert _mode(tmp_path / "chunk_0") == 0o755
    assert not list(tmp_path.glob(".*.part"))


def test_a_stricter_umask_is_respected(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        write_text(tmp_path / "private.txt", "x")
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "private.txt") == 0o600


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_leftovers_of_a_killed_writer_are_removed_on_the_next_write(
    tmp_path: Path, kind: str
) -> None:
    # What `kill -9` in the middle of a write leaves: the temporary sibling, never renamed.
    name = "table[1].csv" if kind == "file" else "chunk_0"
    stale_file = tmp_path / f".{name}.k3j2h1.part"
    stale_file.write_text("half")
    stale_dir = tmp_path / f".{name}.a9b8c7.part"
    stale_dir.mkdir()
    (stale_dir / "clip.wav").write_bytes(b"RIFF")
    other = tmp_path / ".other.csv.x1.part"
    other.write_text("someone else's")
    if kind == "file":
        write_text(tmp_path / name, "done\n")
    else:
        with atomic_dir(tmp_path / name) as staging:
            (staging / "clip.wav").write_bytes(b"RIFF")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, other.name])
