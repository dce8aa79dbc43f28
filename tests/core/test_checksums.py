"""listing_digest: a cheap digest of a file listing, the folder soundbank's re-run trigger."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from igsed.core.checksums import listing_digest

AUDIO = frozenset({".wav", ".flac"})


def _make_folder(root: Path) -> Path:
    for relative in ("train/foreground/Dog/a.wav", "train/foreground/Dog/b.wav", "eval/bg.flac"):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"RIFF" + relative.encode())
        # A fixed time, so an edit that keeps the size still changes the mtime.
        os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    return root


def _add(root: Path) -> None:
    (root / "train" / "foreground" / "Dog" / "c.wav").write_bytes(b"new")


def _grow(root: Path) -> None:
    path = root / "eval" / "bg.flac"
    stat = path.stat()
    path.write_bytes(path.read_bytes() + b"more")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # only the size changes


def _touch(root: Path) -> None:
    path = root / "train" / "foreground" / "Dog" / "a.wav"
    mtime = path.stat().st_mtime_ns
    os.utime(path, ns=(mtime, mtime + 1_000))  # same bytes, newer by a microsecond


def _rename(root: Path) -> None:
    folder = root / "train" / "foreground" / "Dog"
    (folder / "b.wav").rename(folder / "b2.wav")


def _remove(root: Path) -> None:
    (root / "train" / "foreground" / "Dog" / "b.wav").unlink()


@pytest.mark.parametrize("change", [_add, _grow, _touch, _rename, _remove])
def test_digest_changes_with_the_listing(tmp_path: Path, change: Callable[[Path], None]) -> None:
    root = _make_folder(tmp_path / "bank")
    before = listing_digest(root, AUDIO)
    change(root)
    assert listing_digest(root, AUDIO) != before


def test_digest_is_stable_and_ignores_what_the_layout_ignores(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "bank")
    before = listing_digest(root, AUDIO)
    assert listing_digest(root, AUDIO) == before
    # Reading a file changes nothing; neither do hidden files nor, with suffixes, other files.
    (root / "eval" / "bg.flac").read_bytes()
    (root / "train" / "foreground" / "Dog" / ".DS_Store").write_bytes(b"\0")
    (root / ".git").mkdir()
    (root / ".git" / "x.wav").write_bytes(b"\0")
    (root / "README.txt").write_text("my soundbank")
    assert listing_digest(root, AUDIO) == before
    assert listing_digest(root) != listing_digest(root, AUDIO)


def test_digest_does_not_depend_on_where_the_folder_is(tmp_path: Path) -> None:
    first = _make_folder(tmp_path / "one")
    second = _make_folder(tmp_path / "two")
    assert listing_digest(first) == listing_digest(second)


def test_links_are_followed_and_broken_ones_still_count(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "bank")
    elsewhere = _make_folder(tmp_path / "elsewhere")
    (root / "more").symlink_to(elsewhere / "train")
    (root / "more_again").symlink_to(root)  # a cycle must not recurse forever
    before = listing_digest(root)
    (elsewhere / "train" / "foreground" / "Dog" / "a.wav").write_bytes(b"edited, longer")
    edited = listing_digest(root)
    assert edited != before
    (root / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    assert listing_digest(root) != edited


def test_missing_folder_gives_the_empty_listing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert listing_digest(tmp_path / "nowhere") == listing_digest(empty)
