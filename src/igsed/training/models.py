"""Rules `train_crnn`, `register_model`, `classify_audio` and `table1_audio`: the models of
every kind but cnn14 (config `models:`), which classify clips from their audio.

A CNN14 classifies from its cached frame features (igsed.training.classify); any other model
is a waveform classifier behind the contract (igsed.models.classifier), run clip by clip in
small batches. Table I and the probabilities files are the same formats for every kind.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from igsed.core.annotations import clip_labels
from igsed.core.atomic import write_text
from igsed.core.audio import load_clip
from igsed.core.constants import CLASSES, CLIP_SAMPLES
from igsed.core.device import pick_device
from igsed.core.logs import Progress
from igsed.formats.manifest import events_by_clip, read_events, read_manifest
from igsed.formats.probabilities import write_probabilities
from igsed.formats.tables import write_csv
from igsed.methods.loading import load_clip_classifier
from igsed.models.classifier import Classifier, check_probabilities
from igsed.models.crnn import CrnnShape
from igsed.models.stored import register_user_model, save_crnn
from igsed.training.classify import classification_table, table1_markdown
from igsed.training.crnn import CrnnTraining, LabelledClips, best_epoch, train_crnn

logger = logging.getLogger(__name__)

BATCH_SIZE = 4  # clips per forward: bounded memory for a user's large model


def labelled_clips(manifest: Path, events: Path, split: str) -> tuple[list[str], LabelledClips]:
    """A split's clip ids, waveforms and clip labels (a class is present if it has an event)."""
    table = read_manifest(manifest)
    rows = table[table["split"] == split]
    by_clip = events_by_clip(read_events(events))
    ids = list(rows["clip_id"])
    waveforms = np.stack(
        [load_clip(Path(path), n_samples=CLIP_SAMPLES) for path in rows["audio_path"]]
    )
    labels = np.stack([clip_labels(by_clip.get(clip_id, [])) for clip_id in ids])
    return ids, LabelledClips(waveforms.astype(np.float32), labels.astype(np.float32))


def train_crnn_model(
    manifest: Path,
    events: Path,
    weights_out: Path,
    log_table_out: Path,
    *,
    shape: Mapping[str, Any],
    training: Mapping[str, Any],
) -> dict[str, Any]:
    """Train a CRNN on the train split's clip labels, early-stopped on val; write its file
    and its per-epoch losses."""
    crnn_shape = CrnnShape.from_mapping(shape)
    settings = CrnnTraining(**training)
    _, train = labelled_clips(manifest, events, "train")
    _, val = labelled_clips(manifest, events, "val")
    logger.info(
        "crnn: %d train and %d val clips, %s, %s",
        len(train.labels),
        len(val.labels),
        crnn_shape,
        settings,
    )
    model, history = train_crnn(train, val, crnn_shape, settings)
    chosen = best_epoch(history)
    record = {"settings": settings.as_dict(), "best_epoch": chosen, "epochs_run": len(history)}
    save_crnn(model, weights_out, record)
    write_csv(pd.DataFrame(history, columns=["epoch", "train_loss", "val_loss"]), log_table_out)
    logger.info("crnn: best epoch %d of %d -> %s", chosen, len(history), weights_out)
    return record


def register_model(name: str, spec: Mapping[str, Any], out: Path) -> str:
    """A user's model (torchscript, python) checked on one clip of silence and recorded."""
    digest = register_user_model(name, spec, out)
    model = load_clip_classifier({"classifier": out}, torch.device("cpu"))
    with torch.no_grad():
        check_probabilities(model(torch.zeros(1, CLIP_SAMPLES)), len(CLASSES), 1, name)
    logger.info("model %s (%s): sha256 %s -> %s", name, spec["kind"], digest, out)
    return digest


def audio_probabilities(
    model: Classifier, waveforms: np.ndarray, device: torch.device
) -> np.ndarray:
    """(n, 10) clip probabilities, BATCH_SIZE clips per forward, each batch checked."""
    parts = []
    progress = Progress(logger, "classify", len(waveforms), every_s=30)
    with torch.no_grad():
        for start in range(0, len(waveforms), BATCH_SIZE):
            batch = torch.from_numpy(waveforms[start : start + BATCH_SIZE]).to(device)
            probabilities = model(batch)
            check_probabilities(probabilities, len(CLASSES), len(batch), model.model_name)
            parts.append(probabilities.to("cpu", torch.float64).numpy())
            progress.update(start + len(batch))
    return np.concatenate(parts) if parts else np.zeros((0, len(CLASSES)))


def classify_audio(
    manifest: Path,
    events: Path,
    models: Mapping[str, Path],
    out_probabilities: Mapping[str, Path],
    device: str = "auto",
) -> None:
    """Write the clip probabilities of each split (no threshold: see igsed.training.classify)."""
    chosen = pick_device(device)
    model = load_clip_classifier(models, chosen)
    for split, out_path in out_probabilities.items():
        ids, clips = labelled_clips(manifest, events, split)
        write_probabilities(
            Path(out_path), ids, audio_probabilities(model, clips.waveforms, chosen)
        )
        logger.info("%s: probabilities of %d clips -> %s", split, len(ids), out_path)


def table1_audio(
    manifest: Path,
    events: Path,
    models: Mapping[str, Path],
    table_csv: Path,
    table_md: Path,
    *,
    threshold: float = 0.5,
    split: str = "test",
) -> None:
    """Table I of a waveform classifier on `split` at `threshold` (recomputed, as rule
    table1 does for CNN14, so it never waits on rule classify_audio)."""
    model = load_clip_classifier(models, torch.device("cpu"))
    _, clips = labelled_clips(manifest, events, split)
    probabilities = audio_probabilities(model, clips.waveforms, torch.device("cpu"))
    table = classification_table(probabilities, clips.labels, threshold)
    write_csv(table, table_csv, digits=4)
    caption = (
        f"Table I: multi-label classification on {split} "
        f"({len(clips.labels)} clips, threshold {threshold}, model {model.model_name})."
    )
    write_text(table_md, table1_markdown(table, caption))
