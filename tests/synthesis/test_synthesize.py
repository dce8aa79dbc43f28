from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from support.soundbank_fixture import FIXTURE_RATE, write_soundbank

from igsed.core.atomic import atomic_dir
from igsed.core.constants import CLASSES
from igsed.formats.manifest import CHUNK_EVENT_COLUMNS, read_chunk_events
from igsed.synthesis.synthesize import (
    DCASE_COLUMNS,
    SOUNDBANK_HALF,
    SynthesisSettings,
    chunk_indices,
    read_clip_jams,
    synthesize,
)

SETTINGS = SynthesisSettings()
SEED = 7
REPO = Path(__file__).resolve().parents[2]


def _synth(soundbank: Path, pool: str, out: Path, indices: range, seed: int = SEED) -> dict:
    with atomic_dir(out) as tmp:
        summary = synthesize(soundbank, pool, tmp, indices=indices, seed=seed, settings=SETTINGS)
    return summary


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def soundbank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_soundbank(tmp_path_factory.mktemp("soundbank"))


@pytest.fixture(scope="module")
def train_chunk(soundbank: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "train" / "chunk_0"
    _synth(soundbank, "train", out, range(0, 6))
    return out


def test_chunk_indices_partition_all_clips() -> None:
    chunks = [chunk_indices(10, 4, k) for k in range(4)]
    assert [len(c) for c in chunks] == [3, 3, 2, 2]
    assert [i for c in chunks for i in c] == list(range(10))
    assert chunk_indices(2, 4, 3) == range(2, 2)
    with pytest.raises(ValueError, match="chunk 4 out of range"):
        chunk_indices(10, 4, 4)
    with pytest.raises(ValueError, match="chunks must be >= 1"):
        chunk_indices(10, 0, 0)


def test_same_chunk_twice_is_byte_identical(soundbank: Path, train_chunk: Path, tmp_path: Path):
    again = tmp_path / "again"
    _synth(soundbank, "train", again, range(0, 6))
    first, second = _files(train_chunk), _files(again)
    assert sorted(first) == sorted(second)
    assert len(first) == 6 * 3 + 1
    for name in first:
        assert first[name] == second[name], name


def test_chunking_does_not_change_clips(soundbank: Path, train_chunk: Path, tmp_path: Path):
    _synth(soundbank, "train", tmp_path / "a", range(0, 4))
    _synth(soundbank, "train", tmp_path / "b", range(4, 6))
    whole = _files(train_chunk)
    parts = {**_files(tmp_path / "a"), **_files(tmp_path / "b")}
    for name, content in whole.items():
        if name != "events.tsv":
            assert parts[name] == content, name
    joined = pd.concat(
        [read_chunk_events(tmp_path / "a"), read_chunk_events(tmp_path / "b")], ignore_index=True
    )
    pd.testing.assert_frame_equal(joined, read_chunk_events(train_chunk))


def test_clip_properties_and_event_tables_match_jams(soundbank: Path, train_chunk: Path) -> None:
    table = read_chunk_events(train_chunk)
    assert tuple(table.columns) == CHUNK_EVENT_COLUMNS
    for index in range(6):
        cid = f"train_{index:05d}"
        info = sf.info(str(train_chunk / f"{cid}.wav"))
        assert (info.samplerate, info.channels, info.frames) == (32000, 1, 320000)
        events, sources = read_clip_jams(train_chunk / f"{cid}.jams")
        assert 1 <= len(events) <= 3
        rows = table[table["clip_id"] == cid]
        assert list(rows["filename"]) == [f"{cid}.wav"] * len(events)
        assert list(zip(rows["onset"], rows["offset"], rows["event_label"], strict=True)) == [
            (e.onset, e.offset, e.label) for e in events
        ]
        dcase = pd.read_csv(train_chunk / f"{cid}.tsv", sep="\t")
        assert tuple(dcase.columns) == DCASE_COLUMNS
        assert list(dcase["onset"]) == [e.onset for e in events]
        assert list(dcase["offset"]) == [e.offset for e in events]
        for event, source, relative in zip(events, sources, rows["source_file"], strict=True):
            assert event.label in CLASSES
            assert 0.0 <= event.onset < event.offset <= 10.0 + 1e-9
            assert relative.startswith(f"train/foreground/{event.label}/")
            assert Path(source) == soundbank / relative
            natural = sf.info(str(soundbank / relative)).duration
            assert event.offset - event.onset == pytest.approx(min(natural, 10.0), abs=1e-9)


def test_events_are_audible_above_the_background(soundbank: Path, train_chunk: Path) -> None:
    checked = 0
    for index in range(6):
        cid = f"train_{index:05d}"
        audio, _ = sf.read(train_chunk / f"{cid}.wav")
        events, _ = read_clip_jams(train_chunk / f"{cid}.jams")
        quiet = np.ones(audio.shape[0], dtype=bool)
        for e in events:
            quiet[int(e.onset * FIXTURE_RATE) : int(np.ceil(e.offset * FIXTURE_RATE))] = False
        if quiet.sum() < FIXTURE_RATE // 2:
            continue
        background_rms = np.sqrt(np.mean(audio[quiet] ** 2))
        assert background_rms > 0
        for e in events:
            span = audio[int(e.onset * FIXTURE_RATE) : int(e.offset * FIXTURE_RATE)]
            # SNR >= 15 dB by loudness; a plain RMS ratio of 3 (9.5 dB) leaves a wide margin.
            assert np.sqrt(np.mean(span**2)) > 3 * background_rms, (cid, e)
            checked += 1
    assert checked >= 3


def test_pools_seeds_and_sources_differ(soundbank: Path, train_chunk: Path, tmp_path: Path):
    _synth(soundbank, "pretrain", tmp_path / "pretrain", range(0, 2))
    _synth(soundbank, "evalpool", tmp_path / "evalpool", range(0, 2))
    _synth(soundbank, "train", tmp_path / "reseeded", range(0, 2), seed=SEED + 1)
    train_wav = (train_chunk / "train_00000.wav").read_bytes()
    assert (tmp_path / "pretrain" / "pretrain_00000.wav").read_bytes() != train_wav
    assert (tmp_path / "reseeded" / "train_00000.wav").read_bytes() != train_wav
    assert SOUNDBANK_HALF == {"pretrain": "train", "train": "train", "evalpool": "eval"}
    assert read_chunk_events(tmp_path / "pretrain")["source_file"].str.startswith("train/").all()
    eval_sources = read_chunk_events(tmp_path / "evalpool")["source_file"]
    assert eval_sources.str.startswith("eval/foreground/").all()
    assert set(read_chunk_events(tmp_path / "evalpool")["clip_id"]) == {
        "evalpool_00000",
        "evalpool_00001",
    }


def test_long_sources_are_truncated_and_missing_classes_skipped(tmp_path: Path, caplog) -> None:
    bank = tmp_path / "bank"
    long_dir = bank / "train" / "foreground" / "Vacuum_cleaner"
    long_dir.mkdir(parents=True)
    t = np.arange(12 * FIXTURE_RATE) / FIXTURE_RATE
    sf.write(long_dir / "long.wav", 0.3 * np.sin(2 * np.pi * 440 * t), FIXTURE_RATE)
    (bank / "train" / "background").mkdir(parents=True)
    noise = 0.05 * np.random.default_rng(0).standard_normal(4 * FIXTURE_RATE)
    sf.write(bank / "train" / "background" / "bg.wav", noise, FIXTURE_RATE)
    with caplog.at_level(logging.WARNING, logger="igsed.synthesis.synthesize"):
        summary = _synth(bank, "train", tmp_path / "out", range(0, 3))
    assert "no foreground files" in caplog.text
    assert summary["truncated_events"] == summary["n_events"] >= 3
    for event in read_chunk_events(tmp_path / "out").itertuples():
        assert (event.event_label, event.onset, event.offset) == ("Vacuum_cleaner", 0.0, 10.0)


def test_silent_source_is_rejected_by_name(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    (bank / "train" / "foreground" / "Dog").mkdir(parents=True)
    sf.write(bank / "train" / "foreground" / "Dog" / "mute.wav", np.zeros(8000), FIXTURE_RATE)
    (bank / "train" / "background").mkdir(parents=True)
    noise = 0.05 * np.random.default_rng(0).standard_normal(FIXTURE_RATE)
    sf.write(bank / "train" / "background" / "bg.wav", noise, FIXTURE_RATE)
    with pytest.raises(ValueError, match="mute.wav: silent"):
        _synth(bank, "train", tmp_path / "out", range(0, 2))
    assert not (tmp_path / "out").exists()


def test_bad_inputs_raise_clear_errors(soundbank: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown synthesis pool 'val'"):
        synthesize(soundbank, "val", tmp_path, indices=range(1), seed=1, settings=SETTINGS)
    with pytest.raises(FileNotFoundError, match="missing soundbank folder"):
        synthesize(
            tmp_path / "nowhere", "train", tmp_path, indices=range(1), seed=1, settings=SETTINGS
        )
    with pytest.raises(ValueError, match="n_events"):
        SynthesisSettings(n_events=(3, 1))


def test_settings_from_config_yaml() -> None:
    section = yaml.safe_load((REPO / "config.yaml").read_text())["synthesis"]
    settings = SynthesisSettings.from_config(section)
    assert settings == SynthesisSettings(
        duration_s=float(section["duration_s"]),
        sample_rate=int(section["sample_rate"]),
        n_events=tuple(section["n_events"]),
        snr_db=(float(section["snr_db"][0]), float(section["snr_db"][1])),
        ref_db=float(section["ref_db"]),
    )
    assert isinstance(settings.n_events[0], int) and isinstance(settings.ref_db, float)
