"""The composed waveform models equal the cached-feature path the heads were trained on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from support.audio_data import calibrated_backbone, write_dataset

from igsed.core.audio import load_clip
from igsed.core.constants import CLASSES, N_MODEL_FRAMES
from igsed.formats.features import FeatureCache
from igsed.formats.manifest import read_manifest
from igsed.formats.probabilities import read_probabilities
from igsed.models.cnn14 import load_backbone
from igsed.models.explained import (
    ExplainedModel,
    FramewiseModel,
    load_explained_model,
    load_framewise_model,
)
from igsed.models.heads import load_head
from igsed.training.cache_features import cache_features
from igsed.training.classify import classify
from igsed.training.train_head import train_head

torch.set_num_threads(1)

HEAD_SETTINGS = {"epochs": 3, "patience": 3, "batch_size": 4, "lr": 1e-2, "seed": 0}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Tonal 10 s clips -> calibrated tiny backbone -> caches -> the three trained heads."""
    root = tmp_path_factory.mktemp("explained")
    manifest, events, _ = write_dataset(root, {"train": 6, "val": 3, "test": 3}, seed=3)
    rows = read_manifest(manifest)
    audio = {r.clip_id: load_clip(r.audio_path) for r in rows.itertuples()}
    backbone = calibrated_backbone(
        root / "backbone.pt", [audio[c] for c in rows[rows.split == "train"].clip_id]
    )
    caches = {}
    for split in ("train", "val", "test"):
        caches[split] = root / f"{split}.h5"
        cache_features(manifest, events, split, backbone, caches[split], batch_size=3, device="cpu")
    heads = {}
    for head in ("clip", "fw_weak", "fw_strong"):
        heads[head] = root / f"head_{head}.pt"
        train_head(
            head,
            caches["train"],
            caches["val"],
            backbone,
            heads[head],
            root / f"head_{head}.tsv",
            clip_pooling="max",
            **HEAD_SETTINGS,
        )
    return {"root": root, "audio": audio, "backbone": backbone, "caches": caches, "heads": heads}


def test_explained_model_equals_the_cache_path(pipeline: dict) -> None:
    root = pipeline["root"]
    outputs = {"val": root / "p_val.tsv", "test": root / "p_test.tsv"}
    classify(
        {"val": pipeline["caches"]["val"], "test": pipeline["caches"]["test"]},
        pipeline["backbone"],
        pipeline["heads"]["clip"],
        outputs,
    )
    model = load_explained_model(pipeline["backbone"], pipeline["heads"]["clip"], "cpu")
    assert isinstance(model, ExplainedModel) and not model.training
    assert all(not p.requires_grad for p in model.parameters())
    for split in ("val", "test"):
        table = read_probabilities(outputs[split])
        waveforms = torch.from_numpy(np.stack([pipeline["audio"][c] for c in table.clip_id]))
        with torch.no_grad():
            direct = model(waveforms).numpy()
        cached = table[list(CLASSES)].to_numpy()
        assert direct.shape == (len(table), 10)
        np.testing.assert_allclose(direct, cached, atol=1e-4, rtol=0)
        # Not a degenerate comparison: the probabilities vary across clips and classes.
        assert direct.std() > 0.01


def test_power_split_is_the_same_function(pipeline: dict) -> None:
    model = load_explained_model(pipeline["backbone"], pipeline["heads"]["clip"], "cpu")
    waveform = torch.from_numpy(next(iter(pipeline["audio"].values())))[None]
    with torch.no_grad():
        power = model.power_spectrogram(waveform)
        assert power.shape == (1, 1, 1001, 513)
        torch.testing.assert_close(model.from_power(power), model(waveform), rtol=0, atol=0)
        # Scaling the waveform by a scales the power by a**2 (what a fused IG engine uses).
        alpha = 0.3
        torch.testing.assert_close(
            model.from_power(alpha**2 * power), model(alpha * waveform), rtol=1e-4, atol=1e-5
        )


def test_explained_model_gives_waveform_gradients(pipeline: dict) -> None:
    model = load_explained_model(pipeline["backbone"], pipeline["heads"]["clip"], "cpu")
    waveform = torch.from_numpy(next(iter(pipeline["audio"].values())))[None].requires_grad_(True)
    (gradient,) = torch.autograd.grad(model(waveform)[0, 2], waveform)
    assert torch.isfinite(gradient).all() and gradient.abs().max() > 0


def test_framewise_models_equal_the_cache_path(pipeline: dict) -> None:
    backbone = pipeline["backbone"]
    with FeatureCache(pipeline["caches"]["test"]) as cache:
        batch = cache[:]
    waveforms = torch.from_numpy(np.stack([pipeline["audio"][c] for c in batch.clip_ids]))
    for head in ("fw_weak", "fw_strong"):
        model = load_framewise_model(backbone, pipeline["heads"][head], "cpu")
        assert isinstance(model, FramewiseModel)
        assert all(not p.requires_grad for p in model.parameters())
        with torch.no_grad():
            frames = model.frame_probabilities(waveforms)
            cached = torch.sigmoid(
                load_head(pipeline["heads"][head], load_backbone(backbone))(
                    torch.from_numpy(batch.features)
                )
            )
        assert frames.shape == (3, N_MODEL_FRAMES, 10)
        torch.testing.assert_close(frames, cached, rtol=0, atol=1e-4)
        torch.testing.assert_close(model(waveforms), frames.max(dim=1).values)


def test_heads_must_match_their_backbone_and_kind(pipeline: dict, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected one of"):
        load_explained_model(pipeline["backbone"], pipeline["heads"]["fw_weak"], "cpu")
    with pytest.raises(ValueError, match="expected one of"):
        load_framewise_model(pipeline["backbone"], pipeline["heads"]["clip"], "cpu")
    other = calibrated_backbone(tmp_path / "other.pt", list(pipeline["audio"].values())[:2], seed=1)
    with pytest.raises(ValueError, match="retrain the head"):
        load_explained_model(other, pipeline["heads"]["clip"], "cpu")
