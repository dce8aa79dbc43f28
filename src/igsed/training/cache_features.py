"""Rule `cache_features`: the frozen backbone's frame features of every clip of one split."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from igsed.core.annotations import clip_labels, frame_labels
from igsed.core.audio import load_clip
from igsed.core.checksums import file_digest
from igsed.core.constants import (
    CLIP_SAMPLES,
    EVAL_FRAME_SECONDS,
    MODEL_FRAME_SECONDS,
    N_EVAL_FRAMES,
    N_MODEL_FRAMES,
)
from igsed.core.device import pick_device
from igsed.core.logs import Progress
from igsed.formats.features import FeatureBatch, FeatureCacheWriter
from igsed.formats.manifest import events_by_clip, read_events, read_manifest
from igsed.formats.weights import read_backbone_file
from igsed.models.cnn14 import load_backbone

logger = logging.getLogger(__name__)


def cache_features(
    manifest_path: Path,
    events_path: Path,
    split: str,
    backbone_path: Path,
    out_path: Path,
    *,
    batch_size: int = 8,
    device: str = "auto",
) -> None:
    """Write `out_path` (igsed.formats.features) for the clips of `split` in manifest order."""
    manifest = read_manifest(manifest_path, split=split)
    if manifest.empty:
        raise ValueError(f"{manifest_path}: no clips of split {split!r}")
    events = events_by_clip(read_events(events_path))
    torch_device = pick_device(device)
    model = load_backbone(backbone_path, torch_device)
    payload = read_backbone_file(backbone_path)
    sha256 = file_digest(backbone_path)
    config = {
        "split": split,
        "n_clips": len(manifest),
        "clip_samples": CLIP_SAMPLES,
        "backbone_source": payload["source"],
        "backbone_width": float(payload["width"]),
        "embedding_dim": model.embedding_dim,
        "feature": "CNN14 conv block 6 output averaged over frequency, before time pooling",
        "model_frame_seconds": MODEL_FRAME_SECONDS,
        "eval_frame_seconds": EVAL_FRAME_SECONDS,
    }
    n_clips = len(manifest)
    ids = [str(c) for c in manifest["clip_id"]]
    paths = [Path(p) for p in manifest["audio_path"]]
    logger.info(
        "caching %s features of %d clips (width %g, D=%d) on %s",
        split,
        n_clips,
        model.width,
        model.embedding_dim,
        torch_device,
    )
    progress = Progress(logger, split, n_clips)
    with FeatureCacheWriter(
        out_path,
        n_clips,
        N_MODEL_FRAMES,
        model.embedding_dim,
        split=split,
        backbone_sha256=sha256,
        config=config,
    ) as writer:
        for start in range(0, n_clips, batch_size):
            batch_ids = ids[start : start + batch_size]
            audio = np.stack(
                [load_clip(p, CLIP_SAMPLES) for p in paths[start : start + batch_size]]
            )
            with torch.no_grad():
                frames = model.frame_features(torch.from_numpy(audio).to(torch_device))
            frames_np = frames.cpu().numpy().astype(np.float32)
            if frames_np.shape[1] != N_MODEL_FRAMES:
                raise ValueError(
                    f"backbone gave {frames_np.shape[1]} frames for {CLIP_SAMPLES} samples, "
                    f"expected {N_MODEL_FRAMES}"
                )
            clip_events = [events.get(c, []) for c in batch_ids]
            writer.write(
                FeatureBatch(
                    clip_ids=batch_ids,
                    features=frames_np,
                    clip_labels=np.stack([clip_labels(e) for e in clip_events]),
                    frame_labels=np.stack(
                        [frame_labels(e, MODEL_FRAME_SECONDS, N_MODEL_FRAMES) for e in clip_events]
                    ),
                    frame_labels_100ms=np.stack(
                        [frame_labels(e, EVAL_FRAME_SECONDS, N_EVAL_FRAMES) for e in clip_events]
                    ),
                )
            )
            progress.update(start + len(batch_ids))
