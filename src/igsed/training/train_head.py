"""Rule `train_head`: one head (clip, FW-WS or FW-SS) trained on the feature cache.

The backbone and its fc1 are frozen, so fc1 + ReLU is applied once to the cached features
(after time pooling for the clip head, per frame for the framewise heads) and only the
10-class linear layer is optimised: BCE, Adam, seeded shuffling, early stopping on the
validation loss; the weights of the best validation epoch are kept (paper III-C).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from igsed.core.atomic import atomic_path
from igsed.core.checksums import file_digest
from igsed.core.classification import clip_f1
from igsed.formats.features import FeatureCache
from igsed.formats.weights import require_backbone
from igsed.models.cnn14 import TIME_POOLINGS, load_backbone, pool_time
from igsed.models.heads import FrozenEmbedding, check_head_name, make_head, save_head

logger = logging.getLogger(__name__)

LOG_COLUMNS: tuple[str, ...] = ("epoch", "train_loss", "val_loss", "best", "val_clip_f1")


def _embedded(
    cache: FeatureCache, embedding: FrozenEmbedding, head: str, pooling: str, batch: int = 64
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """(inputs of the linear layer, BCE targets, clip labels) for every row of `cache`."""
    inputs, targets, labels = [], [], []
    with torch.no_grad():
        for rows in cache.iter_batches(batch):
            frames = torch.from_numpy(rows.features)
            if head == "clip":
                inputs.append(embedding(pool_time(frames, pooling)))
            else:
                inputs.append(embedding(frames))
            target = rows.frame_labels if head == "fw_strong" else rows.clip_labels
            targets.append(torch.from_numpy(target.astype(np.float32)))
            labels.append(rows.clip_labels)
    return torch.cat(inputs), torch.cat(targets), np.concatenate(labels)


def _logits(linear: nn.Linear, inputs: torch.Tensor, head: str) -> torch.Tensor:
    logits = linear(inputs)
    if head == "fw_weak":
        return logits.max(dim=1).values
    return logits


def _clip_probabilities(linear: nn.Linear, inputs: torch.Tensor, head: str) -> np.ndarray:
    logits = linear(inputs)
    if head != "clip":
        logits = logits.max(dim=1).values
    return torch.sigmoid(logits).numpy()


def _check_cache(cache: FeatureCache, sha256: str, backbone_path: Path) -> None:
    require_backbone(
        cache.backbone_sha256,
        sha256,
        made=cache.path,
        backbone=backbone_path,
        remedy="re-run cache_features",
    )
    if len(cache) == 0:
        raise ValueError(f"{cache.path}: no clips to train or validate on")


def train_head(
    head: str,
    train_cache: Path,
    val_cache: Path,
    backbone_path: Path,
    out_weights: Path,
    out_log: Path,
    *,
    epochs: int = 100,
    patience: int = 10,
    batch_size: int = 16,
    lr: float = 1e-3,
    seed: int = 0,
    clip_pooling: str = "max",
) -> dict[str, Any]:
    """Train `head` and write its weights (igsed.models.heads) and per-epoch log (TSV)."""
    check_head_name(head)
    if clip_pooling not in TIME_POOLINGS:
        raise ValueError(f"heads.clip_pooling = {clip_pooling!r}; expected one of {TIME_POOLINGS}")
    if epochs < 1 or patience < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(
            "heads: epochs, patience and batch_size must be >= 1 and lr > 0, got "
            f"epochs={epochs}, patience={patience}, batch_size={batch_size}, lr={lr}"
        )
    started = time.monotonic()
    backbone_path = Path(backbone_path)
    sha256 = file_digest(backbone_path)
    backbone = load_backbone(backbone_path, "cpu")
    torch.manual_seed(seed)
    module = make_head(head, backbone, clip_pooling)
    linear = module.linear
    with FeatureCache(train_cache) as train, FeatureCache(val_cache) as val:
        for cache in (train, val):
            _check_cache(cache, sha256, backbone_path)
        train_x, train_y, _ = _embedded(train, module.embedding, head, clip_pooling)
        val_x, val_y, val_labels = _embedded(val, module.embedding, head, clip_pooling)
    logger.info(
        "training head %s (pooling %s) on %d clips, validating on %d; up to %d epochs",
        head,
        clip_pooling if head == "clip" else "-",
        train_x.shape[0],
        val_x.shape[0],
        epochs,
    )
    optimizer = torch.optim.Adam(linear.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    n_train = train_x.shape[0]
    best_loss = float("inf")
    best_epoch = 0
    best_state = {k: v.clone() for k, v in linear.state_dict().items()}
    rows: list[dict[str, Any]] = []
    for epoch in range(1, epochs + 1):
        linear.train()
        order = torch.randperm(n_train, generator=generator)
        total = 0.0
        for start in range(0, n_train, batch_size):
            index = order[start : start + batch_size]
            loss = F.binary_cross_entropy_with_logits(
                _logits(linear, train_x[index], head), train_y[index]
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * index.numel()
        linear.eval()
        with torch.no_grad():
            val_loss = float(
                F.binary_cross_entropy_with_logits(_logits(linear, val_x, head), val_y)
            )
            val_f1 = clip_f1(_clip_probabilities(linear, val_x, head), val_labels)["micro_f1"]
        improved = val_loss < best_loss
        if improved:
            best_loss, best_epoch = val_loss, epoch
            best_state = {k: v.clone() for k, v in linear.state_dict().items()}
        rows.append(
            {
                "epoch": epoch,
                "train_loss": total / n_train,
                "val_loss": val_loss,
                "best": int(improved),
                "val_clip_f1": val_f1,
            }
        )
        logger.info(
            "%s epoch %d: train loss %.4f, val loss %.4f%s, val clip F1 %.3f",
            head,
            epoch,
            total / n_train,
            val_loss,
            " (best)" if improved else "",
            val_f1,
        )
        if epoch - best_epoch >= patience:
            logger.info("early stop after epoch %d (best epoch %d)", epoch, best_epoch)
            break
    linear.load_state_dict(best_state)
    linear.eval()
    with torch.no_grad():
        best_f1 = clip_f1(_clip_probabilities(linear, val_x, head), val_labels)
    summary = {
        "head": head,
        "clip_pooling": clip_pooling if head == "clip" else None,
        "best_epoch": best_epoch,
        "best_val_loss": best_loss,
        "epochs_run": len(rows),
        "stopped_early": len(rows) < epochs,
        "val_clip_f1": best_f1,
        "settings": {
            "epochs": epochs,
            "patience": patience,
            "batch_size": batch_size,
            "lr": lr,
            "seed": seed,
        },
        "n_train": int(n_train),
        "n_val": int(val_x.shape[0]),
    }
    # The head file records only what the inputs determine, so two identical runs give the
    # same bytes; the wall time goes to the job log and the returned summary.
    save_head(module, Path(out_weights), head=head, backbone_sha256=sha256, training=summary)
    with atomic_path(out_log) as tmp:
        pd.DataFrame(rows, columns=list(LOG_COLUMNS)).to_csv(
            tmp, sep="\t", index=False, float_format="%.6f"
        )
    seconds = round(time.monotonic() - started, 2)
    logger.info(
        "head %s: best epoch %d, val loss %.4f, val clip F1 %s, %.2f s -> %s",
        head,
        best_epoch,
        best_loss,
        best_f1,
        seconds,
        out_weights,
    )
    return {**summary, "seconds": seconds}
