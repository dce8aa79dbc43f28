"""Head training on a small feature cache: learning, early stopping, best weights, logs."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

import igsed.training.train_head as train_head_module
from igsed.core.checksums import file_digest
from igsed.core.constants import CLASSES, N_MODEL_FRAMES
from igsed.formats.features import FeatureBatch, FeatureCache, FeatureCacheWriter
from igsed.formats.probabilities import read_probabilities
from igsed.models.cnn14 import Cnn14, load_backbone, save_backbone
from igsed.models.heads import ClipHead, FramewiseHead, load_head, make_head, read_head_file
from igsed.training.classify import classify, table1
from igsed.training.train_head import LOG_COLUMNS, train_head

torch.set_num_threads(1)

WIDTH = 1 / 32  # D = 64: the heads only see fc1, so a narrow backbone is enough
DIM = 64


def write_cache(path: Path, n: int, seed: int, sha256: str, split: str) -> None:
    """Non-negative frame features (as after CNN14's last ReLU and average pooling) where
    class c adds a fixed sparse pattern in the frames where it is active."""
    rng = np.random.default_rng(seed)
    pattern_rng = np.random.default_rng(99)
    patterns = pattern_rng.random((10, DIM)) * (pattern_rng.random((10, DIM)) < 0.3)
    frame_labels = np.zeros((n, N_MODEL_FRAMES, 10), np.uint8)
    for i in range(n):
        for c in rng.choice(10, size=int(rng.integers(1, 3)), replace=False):
            start = int(rng.integers(0, N_MODEL_FRAMES - 4))
            frame_labels[i, start : start + int(rng.integers(2, 8)), c] = 1
    features = 0.2 * np.abs(rng.standard_normal((n, N_MODEL_FRAMES, DIM)))
    features += 2.0 * np.einsum("ntc,cd->ntd", frame_labels.astype(np.float64), patterns)
    features = features.astype(np.float32)
    with FeatureCacheWriter(
        path, n, N_MODEL_FRAMES, DIM, split=split, backbone_sha256=sha256, config={}
    ) as writer:
        writer.write(
            FeatureBatch(
                clip_ids=[f"{split}_{i:05d}" for i in range(n)],
                features=features,
                clip_labels=frame_labels.max(axis=1),
                frame_labels=frame_labels,
                frame_labels_100ms=np.zeros((n, 100, 10), np.uint8),
            )
        )


@pytest.fixture(scope="module")
def caches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("heads")
    torch.manual_seed(0)
    model = Cnn14(width=WIDTH, n_classes=10)
    backbone = root / "backbone.pt"
    save_backbone(model, backbone, source="pipeline", config={"n_classes": 10})
    sha256 = file_digest(backbone)
    paths = {"backbone": backbone, "root": root}
    for split, n, seed in (("train", 160, 1), ("val", 48, 2), ("test", 48, 3)):
        paths[split] = root / f"{split}.h5"
        write_cache(paths[split], n, seed, sha256, split)
    return paths


SETTINGS = {"epochs": 12, "patience": 10, "batch_size": 16, "lr": 3e-2, "seed": 5}


@pytest.mark.parametrize("head", ["clip", "fw_weak", "fw_strong"])
def test_training_lowers_validation_loss_and_keeps_the_best_epoch(
    caches: dict[str, Path], head: str, tmp_path: Path
) -> None:
    weights, log = tmp_path / f"{head}.pt", tmp_path / f"{head}.log.tsv"
    summary = train_head(
        head,
        caches["train"],
        caches["val"],
        caches["backbone"],
        weights,
        log,
        clip_pooling="max",
        **SETTINGS,
    )
    table = pd.read_csv(log, sep="\t")
    assert tuple(table.columns) == LOG_COLUMNS
    assert table["epoch"].tolist() == list(range(1, len(table) + 1))
    best = int(table["val_loss"].idxmin())
    assert summary["best_epoch"] == table["epoch"][best]
    assert table["best"][best] == 1

    backbone = load_backbone(caches["backbone"])
    with FeatureCache(caches["val"]) as val:
        batch = val[:]
    frames = torch.from_numpy(batch.features)
    target = torch.from_numpy(batch.frame_labels if head == "fw_strong" else batch.clip_labels)

    def validation_loss(module: torch.nn.Module) -> float:
        with torch.no_grad():
            logits = module(frames)
        if isinstance(module, FramewiseHead):
            assert logits.shape == (48, N_MODEL_FRAMES, 10)
            if head == "fw_weak":
                logits = FramewiseHead.clip_logits(logits)
        else:
            assert isinstance(module, ClipHead) and logits.shape == (48, 10)
        return float(F.binary_cross_entropy_with_logits(logits, target.float()))

    # train_head seeds torch before making the head: this is its untrained starting point.
    torch.manual_seed(SETTINGS["seed"])
    untrained = validation_loss(make_head(head, backbone, "max"))
    assert summary["best_val_loss"] < 0.7 * untrained
    if head != "fw_weak":  # max-pooled MIL learns slowly on this tiny cache
        assert summary["val_clip_f1"]["micro_f1"] > 0.8

    # The saved weights are those of the best epoch: they reproduce its validation loss.
    module = load_head(weights, backbone, expected=head)
    assert all(not p.requires_grad for p in module.parameters())
    assert validation_loss(module) == pytest.approx(summary["best_val_loss"], rel=1e-5)
    assert read_head_file(weights)["backbone_sha256"] == file_digest(caches["backbone"])


def test_early_stopping_and_determinism(caches: dict[str, Path], tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        summary = train_head(
            "clip",
            caches["train"],
            caches["val"],
            caches["backbone"],
            tmp_path / f"{name}.pt",
            tmp_path / f"{name}.tsv",
            epochs=100,
            patience=2,
            batch_size=16,
            lr=0.3,  # far too high: validation loss stops improving quickly
            seed=1,
            clip_pooling="max_mean",
        )
        runs.append(summary)
    assert runs[0]["stopped_early"] and runs[0]["epochs_run"] == runs[0]["best_epoch"] + 2
    first, second = (read_head_file(tmp_path / f"{n}.pt") for n in ("a", "b"))
    assert first["clip_pooling"] == "max_mean"
    for key, value in first["state_dict"].items():
        assert torch.equal(value, second["state_dict"][key])


def test_head_files_are_byte_reproducible(
    caches: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def train(name: str) -> dict:
        return train_head(
            "fw_weak",
            caches["train"],
            caches["val"],
            caches["backbone"],
            tmp_path / f"{name}.pt",
            tmp_path / f"{name}.tsv",
            **{**SETTINGS, "epochs": 3},
        )

    first = train("a")
    # The second run on a machine 1000 times slower: its timings cannot match the first's.
    slow_clock = SimpleNamespace(monotonic=lambda: 1000.0 * time.monotonic())
    monkeypatch.setattr(train_head_module, "time", slow_clock)
    second = train("b")
    assert second["seconds"] > first["seconds"]  # still measured and returned
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()
    assert "seconds" not in read_head_file(tmp_path / "a.pt")["training"]


def test_cache_from_another_backbone_is_rejected(caches: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "other.h5"
    write_cache(other, 8, 1, "0" * 64, "train")
    with pytest.raises(ValueError, match="re-run cache_features"):
        train_head(
            "clip", other, caches["val"], caches["backbone"], tmp_path / "h.pt", tmp_path / "h.tsv"
        )


def test_classify_writes_probabilities_and_table(caches: dict[str, Path], tmp_path: Path) -> None:
    head = tmp_path / "clip.pt"
    train_head(
        "clip",
        caches["train"],
        caches["val"],
        caches["backbone"],
        head,
        tmp_path / "log.tsv",
        **SETTINGS,
    )
    outputs = {"val": tmp_path / "p_val.tsv", "test": tmp_path / "p_test.tsv"}
    classify({"val": caches["val"], "test": caches["test"]}, caches["backbone"], head, outputs)
    summary = table1(
        caches["test"],
        caches["backbone"],
        head,
        tmp_path / "table1.csv",
        tmp_path / "table1.md",
        threshold=0.5,
    )
    probabilities = read_probabilities(outputs["test"])
    assert list(probabilities.columns) == ["clip_id", *CLASSES] and len(probabilities) == 48
    table = pd.read_csv(tmp_path / "table1.csv")
    assert table["class"].tolist()[:10] == list(CLASSES)
    assert table["class"].tolist()[10:] == ["macro average", "micro average"]
    with FeatureCache(caches["test"]) as test:
        labels = test[:].clip_labels.astype(bool)
    predicted = probabilities[list(CLASSES)].to_numpy() > 0.5
    for c, name in enumerate(CLASSES):
        tp = (predicted[:, c] & labels[:, c]).sum()
        row = table.set_index("class").loc[name]
        assert row["support"] == labels[:, c].sum()
        if labels[:, c].any():
            assert row["recall"] == pytest.approx(tp / labels[:, c].sum(), abs=1e-4)
    macro = table.set_index("class").loc["macro average"]
    assert macro["f1"] == pytest.approx(table["f1"][:10].mean(), abs=1e-4)
    assert summary["test"]["macro_f1"] == pytest.approx(macro["f1"], abs=1e-4)
    markdown = (tmp_path / "table1.md").read_text()
    assert "| Class | Precision | Recall | F1 |" in markdown and "macro average" in markdown
