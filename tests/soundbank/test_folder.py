"""The `folder` source: layout validation and the symlinked copy of a user's soundbank."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from igsed.core.constants import CLASSES
from igsed.soundbank.folder import link_folder_soundbank
from igsed.soundbank.layout import SoundbankError, validate_soundbank_layout


def _write_wav(path: Path, rate: int = 32_000, seconds: float = 0.05) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = np.random.default_rng(len(str(path))).uniform(-0.1, 0.1, int(rate * seconds))
    sf.write(path, audio.astype(np.float32), rate, subtype="PCM_16")


def _make_soundbank(root: Path, rate: int = 32_000) -> Path:
    for pool in ("train", "eval"):
        for name in CLASSES:
            _write_wav(root / pool / "foreground" / name / f"{name}_1.wav", rate)
        _write_wav(root / pool / "background" / "room.wav", rate)
    _write_wav(root / "train" / "foreground" / "Dog" / "Dog_2.wav", rate)
    return root


def test_valid_layout_is_linked(tmp_path: Path) -> None:
    src = _make_soundbank(tmp_path / "mine")
    (src / "train" / "foreground" / "Cat" / ".DS_Store").write_bytes(b"\0")
    out_dir = tmp_path / "linked"
    summary = link_folder_soundbank(src, out_dir)

    counts = summary["counts"]
    assert counts["train"]["foreground"]["Dog"] == 2
    assert counts["eval"]["foreground"]["Dog"] == 1
    assert counts["train"]["background"] == 1
    assert counts["eval"]["sample_rates"] == [32_000]
    assert summary["source"] == str(src.resolve())

    link = out_dir / "train" / "foreground" / "Dog" / "Dog_2.wav"
    assert link.is_symlink() and os.path.isabs(os.readlink(link))
    assert link.resolve() == (src / "train" / "foreground" / "Dog" / "Dog_2.wav").resolve()
    assert (out_dir / "eval" / "background" / "room.wav").is_symlink()
    assert not (out_dir / "train" / "foreground" / "Cat" / ".DS_Store").exists()
    assert validate_soundbank_layout(out_dir) == counts


def test_stray_files_are_skipped_with_one_warning_naming_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = _make_soundbank(tmp_path / "mine")
    cat = src / "train" / "foreground" / "Cat"
    stray = [cat / "README.txt", cat / ".DS_Store", src / "eval" / "background" / "notes.md"]
    for path in stray:
        path.write_text("not audio")
    out_dir = tmp_path / "linked"
    with caplog.at_level(logging.WARNING, logger="igsed.soundbank.layout"):
        summary = link_folder_soundbank(src, out_dir)

    assert summary["counts"]["train"]["foreground"]["Cat"] == 1
    assert summary["counts"]["eval"]["background"] == 1
    assert sorted(p.name for p in (out_dir / "train" / "foreground" / "Cat").iterdir()) == [
        "Cat_1.wav"
    ]
    assert not (out_dir / "eval" / "background" / "notes.md").exists()
    # One warning for the whole soundbank, not one per file or per listing.
    skips = [r for r in caplog.records if "hidden or non-audio" in r.getMessage()]
    assert len(skips) == 1 and skips[0].levelno == logging.WARNING
    assert all(str(path) in skips[0].getMessage() for path in stray)


def test_relative_source_gives_absolute_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make_soundbank(tmp_path / "mine")
    monkeypatch.chdir(tmp_path)
    link_folder_soundbank(Path("mine"), tmp_path / "linked")
    link = tmp_path / "linked" / "eval" / "foreground" / "Speech" / "Speech_1.wav"
    assert os.readlink(link) == str(tmp_path.resolve() / "mine/eval/foreground/Speech/Speech_1.wav")


def test_44k1_files_are_accepted(tmp_path: Path) -> None:
    src = _make_soundbank(tmp_path / "mine", rate=44_100)
    _write_wav(src / "eval" / "background" / "hall.wav", rate=48_000)
    counts = link_folder_soundbank(src, tmp_path / "linked")["counts"]
    assert counts["train"]["sample_rates"] == [44_100]
    assert counts["eval"]["sample_rates"] == [44_100, 48_000]


def test_missing_class_folder_names_path(tmp_path: Path) -> None:
    src = _make_soundbank(tmp_path / "mine")
    for path in (src / "eval" / "foreground" / "Blender").iterdir():
        path.unlink()
    (src / "eval" / "foreground" / "Blender").rmdir()
    with pytest.raises(
        SoundbankError, match=re.escape(str(src / "eval" / "foreground" / "Blender"))
    ):
        link_folder_soundbank(src, tmp_path / "linked")
    assert not (tmp_path / "linked").exists()


def test_non_audio_file_names_path(tmp_path: Path) -> None:
    src = _make_soundbank(tmp_path / "mine")
    bad = src / "train" / "foreground" / "Frying" / "recipe.wav"
    bad.write_text("not audio at all")
    with pytest.raises(SoundbankError, match=re.escape(f"{bad} is not readable audio")):
        link_folder_soundbank(src, tmp_path / "linked")


def test_empty_class_pool_names_path(tmp_path: Path) -> None:
    src = _make_soundbank(tmp_path / "mine")
    (src / "eval" / "foreground" / "Cat" / "Cat_1.wav").unlink()
    with pytest.raises(
        SoundbankError, match=re.escape(f"empty folder: {src / 'eval' / 'foreground' / 'Cat'}")
    ):
        validate_soundbank_layout(src)


def test_empty_background_pool_names_path(tmp_path: Path) -> None:
    src = _make_soundbank(tmp_path / "mine")
    (src / "train" / "background" / "room.wav").unlink()
    with pytest.raises(
        SoundbankError, match=re.escape(f"empty folder: {src / 'train' / 'background'}")
    ):
        validate_soundbank_layout(src)


def test_zero_length_audio_is_refused(tmp_path: Path) -> None:
    src = _make_soundbank(tmp_path / "mine")
    empty = src / "eval" / "background" / "silence.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), 32_000)
    with pytest.raises(SoundbankError, match=re.escape(f"{empty} holds no audio")):
        validate_soundbank_layout(src)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda src: (src / "train" / "foreground" / "Kettle").mkdir(), "unknown class folder"),
        (lambda src: _write_wav(src / "eval" / "foreground" / "loose.wav"), "class folder"),
        (lambda src: _write_wav(src / "eval" / "background" / "sins" / "a.wav"), "sub-folders"),
        (lambda src: (src / "eval" / "background").rename(src / "eval" / "bg"), "missing folder"),
    ],
)
def test_layout_errors_name_the_path(tmp_path: Path, mutate, message: str) -> None:
    src = _make_soundbank(tmp_path / "mine")
    mutate(src)
    with pytest.raises(SoundbankError, match=message) as caught:
        validate_soundbank_layout(src)
    assert str(src) in str(caught.value)


def test_missing_source_folder(tmp_path: Path) -> None:
    with pytest.raises(SoundbankError, match=re.escape(str(tmp_path / "nowhere"))):
        link_folder_soundbank(tmp_path / "nowhere", tmp_path / "linked")


def test_non_empty_output_is_refused(tmp_path: Path) -> None:
    src = _make_soundbank(tmp_path / "mine")
    out_dir = tmp_path / "linked"
    out_dir.mkdir()
    (out_dir / "old").write_text("x")
    with pytest.raises(SoundbankError, match="not empty"):
        link_folder_soundbank(src, out_dir)


def _make_eval_only(root: Path, classes: tuple[str, ...]) -> Path:
    for name in classes:
        _write_wav(root / "eval" / "foreground" / name / f"{name}_1.wav")
    _write_wav(root / "eval" / "background" / "kitchen.wav")
    return root


def test_a_condition_folder_needs_only_the_eval_half_and_some_classes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    present = ("Cat", "Dog", "Speech")
    src = _make_eval_only(tmp_path / "recordings", present)
    # An empty class folder counts as missing, like an absent one.
    (src / "eval" / "foreground" / "Blender").mkdir()
    out_dir = tmp_path / "linked"
    with caplog.at_level(logging.WARNING):
        summary = link_folder_soundbank(src, out_dir, eval_only=True)

    assert set(summary["counts"]) == {"eval"}
    assert {n for n, k in summary["counts"]["eval"]["foreground"].items() if k} == set(present)
    assert not (out_dir / "train").exists()
    assert (out_dir / "eval" / "foreground" / "Dog" / "Dog_1.wav").is_symlink()
    missing = [name for name in CLASSES if name not in present]
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert all(name in warning for name in missing), warning
    assert str(src.resolve() / "eval" / "foreground") in warning
    assert not any(name in warning for name in present)


def test_a_condition_folder_without_any_foreground_names_its_path(tmp_path: Path) -> None:
    src = _make_eval_only(tmp_path / "recordings", ())
    (src / "eval" / "foreground").mkdir(parents=True, exist_ok=True)
    with pytest.raises(SoundbankError, match=re.escape(str(src.resolve() / "eval" / "foreground"))):
        link_folder_soundbank(src, tmp_path / "linked", eval_only=True)


def test_the_run_soundbank_still_needs_both_halves(tmp_path: Path) -> None:
    src = _make_eval_only(tmp_path / "recordings", CLASSES)
    with pytest.raises(SoundbankError, match=re.escape(str(src.resolve() / "train"))):
        link_folder_soundbank(src, tmp_path / "linked")
