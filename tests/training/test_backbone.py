"""Rule backbone: the PANNs download path (local HTTP server) and the pipeline pretraining."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from support.audio_data import random_events, tonal_clip
from support.cnn14_weights import official_state_dict
from support.http_server import FileServer

from igsed.core.annotations import Event
from igsed.core.checksums import file_digest
from igsed.core.constants import CLASSES, SAMPLE_RATE
from igsed.core.download import DownloadError
from igsed.formats.manifest import CHUNK_EVENT_COLUMNS
from igsed.formats.weights import read_backbone_file
from igsed.models.cnn14 import load_backbone, save_backbone
from igsed.training.backbone import BackboneSettings, backbone
from igsed.training.pretrain import (
    FLOOR_DB,
    PretrainSettings,
    _background_frames,
    _NegativeMaker,
    crop_targets,
    pretrain_backbone,
    read_pretrain_clips,
)

torch.set_num_threads(1)

CHECKPOINT = "Cnn14_mAP=0.431.pth"


def build_backbone(
    out: Path,
    meta: Path,
    *,
    downloads_dir: Path,
    pretrain_chunk_dirs: list[Path],
    **section: object,
) -> dict:
    """The rule's call: settings from a config `backbone` section, then the stage function."""
    settings = BackboneSettings.from_config(section)
    return backbone(
        out, meta, settings, downloads_dir=downloads_dir, pretrain_chunk_dirs=pretrain_chunk_dirs
    )


@pytest.fixture(scope="module")
def served_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("zenodo")
    state = official_state_dict(seed=4)
    torch.save({"model": state}, root / CHECKPOINT)
    return {
        "root": root,
        "state": state,
        "md5": file_digest(root / CHECKPOINT, "md5"),
        "size": (root / CHECKPOINT).stat().st_size,
    }


def test_panns_checkpoint_is_downloaded_verified_and_converted(
    served_checkpoint: dict, tmp_path: Path
) -> None:
    out, meta_path = tmp_path / "backbone.pt", tmp_path / "backbone.json"
    with FileServer(served_checkpoint["root"]) as server:
        panns = {
            "url": server.url(CHECKPOINT) + "?download=1",
            "md5": served_checkpoint["md5"],
            "size_bytes": served_checkpoint["size"],
        }
        meta = build_backbone(
            out,
            meta_path,
            pretrained="panns",
            width=1.0,
            device="cpu",
            panns=panns,
            downloads_dir=tmp_path / "downloads",
            pretrain_chunk_dirs=[],
            pretrain={},
        )
    assert (tmp_path / "downloads" / CHECKPOINT).is_file()
    assert json.loads(meta_path.read_text()) == json.loads(json.dumps(meta))
    assert meta["sha256"] == file_digest(out)
    assert meta["source"] == "panns" and meta["width"] == 1.0 and meta["embedding_dim"] == 2048
    assert meta["training"]["checkpoint_md5"] == served_checkpoint["md5"]
    payload = read_backbone_file(out)
    assert payload["source"] == "panns" and payload["config"]["n_classes"] == 527
    model = load_backbone(out)
    assert not model.training and all(not p.requires_grad for p in model.parameters())
    state = served_checkpoint["state"]
    for name in ("fc_audioset.weight", "conv_block3.bn2.running_var", "logmel_extractor.melW"):
        assert torch.equal(model.state_dict()[name], state[name]), name


def test_panns_checkpoint_with_wrong_md5_is_rejected(
    served_checkpoint: dict, tmp_path: Path
) -> None:
    out = tmp_path / "backbone.pt"
    with FileServer(served_checkpoint["root"]) as server:
        panns = {"url": server.url(CHECKPOINT), "md5": "0" * 32, "retries": 1}
        with pytest.raises(DownloadError, match="md5"):
            build_backbone(
                out,
                tmp_path / "backbone.json",
                pretrained="panns",
                width=1.0,
                device="cpu",
                panns=panns,
                downloads_dir=tmp_path / "downloads",
                pretrain_chunk_dirs=[],
                pretrain={},
            )
        assert server.count(CHECKPOINT) == 1
    assert not out.exists() and not (tmp_path / "downloads" / CHECKPOINT).exists()


def test_panns_needs_width_one(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="width 1.0"):
        build_backbone(
            tmp_path / "b.pt",
            tmp_path / "b.json",
            pretrained="panns",
            width=0.5,
            device="cpu",
            panns={"url": "http://127.0.0.1:9/x.pth"},
            downloads_dir=tmp_path,
            pretrain_chunk_dirs=[],
            pretrain={},
        )


def write_chunks(root: Path, n_chunks: int, per_chunk: int, seconds: float = 3.0) -> list[Path]:
    """Synthesis-like chunk directories: <clip_id>.wav and events.tsv."""
    rng = np.random.default_rng(0)
    dirs = []
    for chunk in range(n_chunks):
        chunk_dir = root / f"chunk_{chunk}"
        chunk_dir.mkdir(parents=True)
        rows = []
        for k in range(per_chunk):
            clip_id = f"pretrain_{chunk * per_chunk + k:05d}"
            events = random_events(rng, seconds)
            sf.write(chunk_dir / f"{clip_id}.wav", tonal_clip(events, k, seconds), SAMPLE_RATE)
            rows += [
                {
                    "clip_id": clip_id,
                    "filename": f"{clip_id}.wav",
                    "onset": e.onset,
                    "offset": e.offset,
                    "event_label": e.label,
                    "source_file": f"train/foreground/{e.label}/a.wav",
                    "source_sha256": "0" * 64,
                }
                for e in events
            ]
        pd.DataFrame(rows, columns=list(CHUNK_EVENT_COLUMNS)).to_csv(
            chunk_dir / "events.tsv", sep="\t", index=False
        )
        dirs.append(chunk_dir)
    return dirs


PRETRAIN = {"epochs": 1, "batch_size": 4, "lr": 1e-3, "seed": 3, "holdout_fraction": 0.25}


def test_pipeline_pretraining_writes_a_loadable_backbone(tmp_path: Path) -> None:
    chunks = write_chunks(tmp_path / "pretrain", 2, 4)
    out, meta_path = tmp_path / "backbone.pt", tmp_path / "backbone.json"
    meta = build_backbone(
        out,
        meta_path,
        pretrained="pipeline",
        width=1 / 16,
        device="cpu",
        panns={},
        downloads_dir=tmp_path,
        pretrain_chunk_dirs=chunks,
        pretrain=PRETRAIN,
    )
    assert json.loads(meta_path.read_text()) == json.loads(json.dumps(meta))
    assert meta["sha256"] == file_digest(out) and meta["source"] == "pipeline"
    assert meta["width"] == 1 / 16 and meta["embedding_dim"] == 128
    training = meta["training"]
    assert training["n_clips"] == 8 and training["n_holdout_clips"] == 2
    assert training["n_negatives_per_epoch"] == 1  # 10 % of the 6 training clips, rounded
    assert set(training["zero_input_probabilities"]) == set(training["classes"])
    assert 0.0 <= training["zero_input_max_probability"] <= 1.0
    assert np.isfinite(training["final_train_loss"])
    assert set(training["holdout_clip_f1"]) == {"micro_f1", "macro_f1"}
    payload = read_backbone_file(out)
    assert set(payload) >= {"state_dict", "width", "source", "config"}
    assert payload["config"]["n_classes"] == 10 and payload["config"]["pretrain"]["epochs"] == 1
    model = load_backbone(out)
    assert model.n_classes == 10 and not model.training
    assert all(not p.requires_grad for p in model.parameters())


def test_pretraining_is_seeded_and_saving_is_byte_stable(tmp_path: Path) -> None:
    clips = read_pretrain_clips(write_chunks(tmp_path / "pretrain", 1, 4, seconds=2.0))
    settings = PretrainSettings.from_config(
        {**PRETRAIN, "holdout_fraction": 0.0, "negative_fraction": 0.5, "crop_seconds": 0.5}
    )
    digests = []
    for name in ("a", "b"):
        model, summary = pretrain_backbone(
            clips, width=1 / 32, settings=settings, device=torch.device("cpu"), clip_samples=32000
        )
        assert summary["n_negatives_per_epoch"] == 2
        save_backbone(model, tmp_path / f"{name}.pt", source="pipeline", config={})
        digests.append(file_digest(tmp_path / f"{name}.pt"))
    assert digests[0] == digests[1]
    other = PretrainSettings.from_config({**PRETRAIN, "seed": 4})
    model, _ = pretrain_backbone(
        clips, width=1 / 32, settings=other, device=torch.device("cpu"), clip_samples=32000
    )
    save_backbone(model, tmp_path / "c.pt", source="pipeline", config={})
    assert file_digest(tmp_path / "c.pt") != digests[0]


def test_pretrain_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        PretrainSettings.from_config({**PRETRAIN, "epoch": 3})
    with pytest.raises(ValueError, match="missing keys"):
        PretrainSettings.from_config({"epochs": 3})
    with pytest.raises(ValueError, match="pooling"):
        PretrainSettings.from_config({**PRETRAIN, "pooling": "attention"})
    chunk = write_chunks(tmp_path, 1, 1)[0]
    next(chunk.glob("*.wav")).unlink()
    with pytest.raises(ValueError, match="without a wav"):
        read_pretrain_clips([chunk])


def test_negatives_are_silence_or_event_free_background(tmp_path: Path) -> None:
    events = [Event(1.0, 2.0, "Dog"), Event(5.0, 9.0, "Cat")]
    frames = _background_frames(events, 1001)
    centres = frames * 0.01
    assert frames.size > 0
    for event in events:
        assert not np.any((centres > event.onset - 0.06) & (centres < event.offset + 0.06))
    assert np.any(centres < 0.9) and np.any(centres > 9.1)

    chunk = write_chunks(tmp_path, 1, 3)[0]
    clips = read_pretrain_clips([chunk])
    logmels = torch.rand(3, 1, 1001, 64) * 60 - 80
    settings = PretrainSettings.from_config({**PRETRAIN, "silence_share": 0.5})
    maker = _NegativeMaker(logmels, clips, settings, np.random.default_rng(0))
    negatives = maker.make(20)
    silent = (negatives == FLOOR_DB).flatten(1).all(dim=1)
    assert 3 <= int(silent.sum()) <= 17
    background = negatives[~silent]
    assert background.min() >= FLOOR_DB
    # Background negatives are attenuated copies of event-free frames, never louder.
    assert background.max() <= logmels.max()


def test_crop_targets_keep_clear_events_and_mask_slivers() -> None:
    events = [
        Event(0.0, 4.0, "Dog"),  # 1 s inside the crop [3, 8): a target
        Event(7.8, 9.0, "Cat"),  # 0.2 s inside: too little to hear, left out of the loss
        Event(7.9, 8.1, "Dishes"),  # 0.1 s inside, half of a 0.2 s event: a target
        Event(9.0, 9.5, "Speech"),  # outside: a negative
    ]
    targets, weights = crop_targets(events, 3.0, 8.0, min_overlap_s=0.5)
    index = {name: CLASSES.index(name) for name in ("Dog", "Cat", "Dishes", "Speech")}
    assert targets[index["Dog"]] == 1 and weights[index["Dog"]] == 1
    assert targets[index["Cat"]] == 0 and weights[index["Cat"]] == 0
    assert targets[index["Dishes"]] == 1 and weights[index["Dishes"]] == 1
    assert targets[index["Speech"]] == 0 and weights[index["Speech"]] == 1
    assert targets.sum() == 2 and weights.sum() == 9
