"""Pretraining a CNN14 of any width on the `pretrain` pool (backbone.pretrained: pipeline).

It trains from scratch with clip labels. Its `fc_audioset` layer is the 10-class pretraining
output (AudioSet's 527 classes do not exist here); like PANNs' own output layer it is not used
downstream: the heads keep `fc1` and put their own 10-class layer on top. The front-end has
no trainable parameters, so the log-mel of every clip is computed once and training runs from
it (SpecAugment and dropout still act on every step). Training on random crops of the clips
(`crop_seconds`, with targets from the events heard in the crop) makes a step cheaper and
every epoch different, which is what lets a 2-core machine train a usable model in minutes.

The zero-waveform IG baseline is a log-mel at the -100 dB floor everywhere, unlike any
soundscape; a model that never saw it predicts something arbitrary for it (docs/results.md).
So each epoch mixes in event-free negatives with empty labels: all-floor inputs (digital
silence) and background-only inputs (the event-free STFT frames of training clips, tiled to
clip length) at random gains down to `negative_min_gain_db`. The summary records F(0), the
pretraining output's probabilities for a 10 s all-zero waveform.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from igsed.core.annotations import Event, clip_labels
from igsed.core.audio import load_clip
from igsed.core.classification import clip_f1
from igsed.core.constants import (
    CLASS_INDEX,
    CLASSES,
    CLIP_SAMPLES,
    N_CLASSES,
    SAMPLE_RATE,
    STFT_HOP,
)
from igsed.core.logs import Progress
from igsed.formats.manifest import read_chunk_events
from igsed.models.cnn14 import LOG_FLOOR, N_FFT, TIME_POOLINGS, Cnn14

logger = logging.getLogger(__name__)

FLOOR_DB = 10.0 * math.log10(LOG_FLOOR)  # -100 dB: what an all-zero waveform gives


@dataclass(frozen=True)
class PretrainSettings:
    """Backbone pretraining (config `backbone.pretrain`); only the first four keys are required.

    epochs, batch_size, lr, seed: Adam on BCE, seeded.
    warmup_epochs: linear learning-rate warm-up, then cosine decay to `final_lr_fraction` * lr.
    pooling: time pooling before fc1 during pretraining (PANNs: max_mean).
    negative_fraction: event-free negatives added per epoch, as a fraction of the clips.
    silence_share: share of those negatives that are digital silence (the rest: background).
    negative_min_gain_db: background negatives get a gain drawn from U(min, 0) dB.
    holdout_fraction: clips held out (seeded) to report generalisation; 0 trains on all.
    spec_augment: PANNs' SpecAugment (time and frequency stripes) on every training step.
    conv_dropout: dropout after each conv block (PANNs: 0.2; 0.5 before fc1 is fixed). At
        width 0.125 on ~600 clips, 0.2 underfits: test macro F1 of the clip head 0.80 vs 0.86
        without it (measured on the default synthetic data).
    crop_seconds: train on random crops of this length (0: whole clips). A class is a
        target of a crop if one of its events overlaps the crop by at least
        min(min_overlap_seconds, half the event); a smaller overlap is left out of the loss.
    """

    epochs: int
    batch_size: int
    lr: float
    seed: int
    warmup_epochs: int = 1
    final_lr_fraction: float = 0.05
    pooling: str = "max_mean"
    negative_fraction: float = 0.1
    silence_share: float = 0.3
    negative_min_gain_db: float = -40.0
    holdout_fraction: float = 0.1
    crop_seconds: float = 4.0
    min_overlap_seconds: float = 0.5
    spec_augment: bool = True
    conv_dropout: float = 0.0

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> PretrainSettings:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(section) - known)
        if unknown:
            raise ValueError(
                f"backbone.pretrain: unknown keys {unknown}; known keys {sorted(known)}"
            )
        missing = [k for k in ("epochs", "batch_size", "lr", "seed") if k not in section]
        if missing:
            raise ValueError(f"backbone.pretrain: missing keys {missing}")
        settings = cls(**dict(section))
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise ValueError(
                "backbone.pretrain: epochs and batch_size must be >= 1 and lr > 0, got "
                f"epochs={self.epochs}, batch_size={self.batch_size}, lr={self.lr}"
            )
        if self.pooling not in TIME_POOLINGS:
            raise ValueError(
                f"backbone.pretrain.pooling = {self.pooling!r}; expected one of {TIME_POOLINGS}"
            )
        for name in ("negative_fraction", "silence_share", "holdout_fraction", "conv_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"backbone.pretrain.{name} must be in [0, 1], got {value}")
        if self.crop_seconds < 0 or self.min_overlap_seconds < 0:
            raise ValueError(
                "backbone.pretrain.crop_seconds and min_overlap_seconds must be >= 0, got "
                f"{self.crop_seconds}, {self.min_overlap_seconds}"
            )
        if self.holdout_fraction >= 1.0:
            raise ValueError("backbone.pretrain.holdout_fraction must be < 1")


@dataclass
class PretrainClip:
    clip_id: str
    audio_path: Path
    events: list[Event]


def read_pretrain_clips(chunk_dirs: list[Path]) -> list[PretrainClip]:
    """Every clip of the synthesis chunks, sorted by clip id, with its events."""
    clips: dict[str, PretrainClip] = {}
    for chunk_dir in chunk_dirs:
        chunk_dir = Path(chunk_dir)
        frame = read_chunk_events(chunk_dir)
        events: dict[str, list[Event]] = {}
        for row in frame.itertuples(index=False):
            events.setdefault(str(row.clip_id), []).append(
                Event(float(row.onset), float(row.offset), str(row.event_label))
            )
        wavs = sorted(chunk_dir.glob("*.wav"))
        unknown = sorted(set(events) - {w.stem for w in wavs})
        if unknown:
            raise ValueError(f"{chunk_dir}: events.tsv names clips without a wav: {unknown[:5]}")
        for wav in wavs:
            if wav.stem in clips:
                raise ValueError(f"clip id {wav.stem} appears in two chunks ({chunk_dir})")
            clips[wav.stem] = PretrainClip(wav.stem, wav, events.get(wav.stem, []))
    if not clips:
        raise ValueError(f"no pretraining clips (*.wav) in {[str(d) for d in chunk_dirs]}")
    return [clips[k] for k in sorted(clips)]


def _background_frames(events: list[Event], n_frames: int, margin_s: float = 0.05) -> np.ndarray:
    """STFT frames whose whole window lies outside every event (plus a margin)."""
    centres = np.arange(n_frames) * STFT_HOP / SAMPLE_RATE
    half = N_FFT / 2 / SAMPLE_RATE + margin_s
    free = np.ones(n_frames, dtype=bool)
    for event in events:
        free &= (centres + half <= event.onset) | (centres - half >= event.offset)
    return np.flatnonzero(free)


def compute_logmels(
    model: Cnn14,
    clips: list[PretrainClip],
    device: torch.device,
    batch_size: int = 16,
    clip_samples: int = CLIP_SAMPLES,
) -> torch.Tensor:
    """(N, 1, T, 64) log-mel of every clip (the frozen front-end, computed once)."""
    outputs = []
    progress = Progress(logger, "log-mel", len(clips))
    with torch.no_grad():
        for start in range(0, len(clips), batch_size):
            batch = np.stack(
                [load_clip(c.audio_path, clip_samples) for c in clips[start : start + batch_size]]
            )
            power = model.power_spectrogram(torch.from_numpy(batch).to(device))
            outputs.append(model.logmel(power).cpu())
            progress.update(start + len(batch))
    return torch.cat(outputs)


class _NegativeMaker:
    """Event-free log-mel inputs: digital silence, or tiled background frames at a random gain."""

    def __init__(
        self,
        logmels: torch.Tensor,
        clips: list[PretrainClip],
        settings: PretrainSettings,
        rng: np.random.Generator,
    ) -> None:
        self.logmels = logmels
        self.settings = settings
        self.rng = rng
        n_frames = logmels.shape[2]
        self.n_frames = n_frames
        self.background = {}
        for index, clip in enumerate(clips):
            frames = _background_frames(clip.events, n_frames)
            if frames.size >= 32:  # ~0.3 s: shorter leftovers tile into a buzz
                self.background[index] = frames
        self.background_keys = sorted(self.background)

    def make(self, count: int) -> torch.Tensor:
        out = torch.full((count, 1, self.n_frames, self.logmels.shape[3]), FLOOR_DB)
        for k in range(count):
            silent = self.rng.random() < self.settings.silence_share
            if silent or not self.background_keys:
                continue
            clip = self.background_keys[self.rng.integers(len(self.background_keys))]
            frames = self.background[clip]
            start = int(self.rng.integers(frames.size))
            order = frames[(start + np.arange(self.n_frames)) % frames.size]
            gain_db = float(self.rng.uniform(self.settings.negative_min_gain_db, 0.0))
            # Scaling a waveform by g adds 20 log10 g dB to every bin, down to the floor.
            out[k, 0] = torch.clamp(self.logmels[clip, 0, order] + gain_db, min=FLOOR_DB)
        return out


def crop_targets(
    events: list[Event], start_s: float, stop_s: float, min_overlap_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """(targets, loss weights), each (10,), of the crop [start_s, stop_s) of a clip."""
    targets = np.zeros(N_CLASSES, dtype=np.float32)
    ambiguous = np.zeros(N_CLASSES, dtype=bool)
    for event in events:
        overlap = min(event.offset, stop_s) - max(event.onset, start_s)
        if overlap <= 0:
            continue
        needed = min(min_overlap_s, 0.5 * (event.offset - event.onset))
        if overlap >= needed:
            targets[CLASS_INDEX[event.label]] = 1.0
        else:
            ambiguous[CLASS_INDEX[event.label]] = True
    weights = np.where(ambiguous & (targets == 0), 0.0, 1.0).astype(np.float32)
    return targets, weights


def _training_batch(
    inputs: torch.Tensor,
    events: list[list[Event]],
    index: np.ndarray,
    crop_frames: int,
    settings: PretrainSettings,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Log-mel crops (or whole clips) of `inputs[index]` with their targets and loss weights."""
    n_frames = inputs.shape[2]
    crops, targets, weights = [], [], []
    frame_s = STFT_HOP / SAMPLE_RATE
    for row, clip_events in zip(index, events, strict=True):
        start = int(rng.integers(0, n_frames - crop_frames + 1))
        crops.append(inputs[row, :, start : start + crop_frames])
        if crop_frames == n_frames:
            target, weight = clip_labels(clip_events).astype(np.float32), np.ones(N_CLASSES)
        else:
            # STFT frame t is centred on t * hop: the crop hears [start, start + crop) frames.
            target, weight = crop_targets(
                clip_events,
                start * frame_s,
                (start + crop_frames) * frame_s,
                settings.min_overlap_seconds,
            )
        targets.append(target)
        weights.append(weight)
    return (
        torch.stack(crops),
        torch.from_numpy(np.stack(targets).astype(np.float32)),
        torch.from_numpy(np.stack(weights).astype(np.float32)),
    )


def _lr_factor(step: int, total_steps: int, warmup_steps: int, final_fraction: float) -> float:
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _predict(model: Cnn14, logmels: torch.Tensor, device: torch.device, batch: int) -> np.ndarray:
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, logmels.shape[0], batch):
            logits = model.logits_from_logmel(logmels[start : start + batch].to(device))
            outputs.append(torch.sigmoid(logits).cpu())
    return torch.cat(outputs).numpy()


def baseline_probabilities(model: Cnn14, device: torch.device) -> np.ndarray:
    """F(0): the pretraining output's probabilities for a 10 s all-zero waveform."""
    model.eval()
    with torch.no_grad():
        logits = model(torch.zeros(1, CLIP_SAMPLES, device=device))
    return torch.sigmoid(logits)[0].cpu().numpy()


def pretrain_backbone(
    clips: list[PretrainClip],
    *,
    width: float,
    settings: PretrainSettings,
    device: torch.device,
    clip_samples: int = CLIP_SAMPLES,
) -> tuple[Cnn14, dict[str, Any]]:
    """Train a CNN14 of `width` on the clips' clip labels; returns the model and a summary.

    Clips are padded or cut to `clip_samples` (10 s in the pipeline).
    """
    started = time.monotonic()
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    model = Cnn14(width=width, n_classes=N_CLASSES, pooling=settings.pooling).to(device)
    model.spec_augment = settings.spec_augment
    model.conv_dropout = settings.conv_dropout
    logmels = compute_logmels(model, clips, device, clip_samples=clip_samples)
    labels = torch.from_numpy(np.stack([clip_labels(c.events) for c in clips])).float()

    order = rng.permutation(len(clips))
    n_holdout = int(round(settings.holdout_fraction * len(clips)))
    if len(clips) - n_holdout < 1:
        n_holdout = 0
    holdout = np.sort(order[:n_holdout])
    train = np.sort(order[n_holdout:])
    negatives = _NegativeMaker(logmels[train], [clips[i] for i in train], settings, rng)
    n_negatives = int(round(settings.negative_fraction * train.size))
    per_epoch = train.size + n_negatives
    steps_per_epoch = math.ceil(per_epoch / settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    warmup_steps = steps_per_epoch * settings.warmup_epochs
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    n_frames = logmels.shape[2]
    crop_frames = n_frames
    if settings.crop_seconds > 0:
        crop_frames = min(n_frames, int(round(settings.crop_seconds * SAMPLE_RATE / STFT_HOP)))
    logger.info(
        "pretraining CNN14 width %g (%d parameters) on %d clips (+%d negatives/epoch, %d held "
        "out) for %d epochs, batch %d, lr %g, crops of %d frames, on %s",
        width,
        sum(p.numel() for p in model.parameters() if p.requires_grad),
        train.size,
        n_negatives,
        n_holdout,
        settings.epochs,
        settings.batch_size,
        settings.lr,
        crop_frames,
        device,
    )
    history = []
    step = 0
    for epoch in range(1, settings.epochs + 1):
        epoch_start, epoch_cpu = time.monotonic(), time.process_time()
        model.train()
        inputs = torch.cat([logmels[train], negatives.make(n_negatives)])
        sample_events = [clips[i].events for i in train] + [[] for _ in range(n_negatives)]
        permutation = rng.permutation(per_epoch)
        total_loss = 0.0
        for start in range(0, per_epoch, settings.batch_size):
            index = permutation[start : start + settings.batch_size]
            for group in optimizer.param_groups:
                group["lr"] = settings.lr * _lr_factor(
                    step, total_steps, warmup_steps, settings.final_lr_fraction
                )
            batch, targets, weights = _training_batch(
                inputs, [sample_events[i] for i in index], index, crop_frames, settings, rng
            )
            logits = model.logits_from_logmel(batch.to(device))
            loss = F.binary_cross_entropy_with_logits(
                logits, targets.to(device), weight=weights.to(device)
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(index)
            step += 1
        record = {
            "epoch": epoch,
            "train_loss": total_loss / per_epoch,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": time.monotonic() - epoch_start,
            # CPU seconds of this process: wall time above that means a busy machine.
            "cpu_seconds": time.process_time() - epoch_cpu,
        }
        if n_holdout and (epoch == settings.epochs or epoch % 5 == 0):
            probabilities = _predict(model, logmels[holdout], device, settings.batch_size)
            record["holdout_loss"] = float(
                F.binary_cross_entropy(torch.from_numpy(probabilities), labels[holdout])
            )
            record.update(clip_f1(probabilities, labels[holdout].numpy()))
        history.append(record)
        logger.info(
            "epoch %d/%d: %s",
            epoch,
            settings.epochs,
            ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k != "epoch"),
        )

    model.eval()
    f_zero = baseline_probabilities(model, device)
    train_probabilities = _predict(model, logmels[train], device, settings.batch_size)
    summary: dict[str, Any] = {
        "settings": asdict(settings),
        "n_clips": len(clips),
        "n_train_clips": int(train.size),
        "n_holdout_clips": int(n_holdout),
        "n_negatives_per_epoch": n_negatives,
        "classes": list(CLASSES),
        "final_train_loss": history[-1]["train_loss"],
        "train_clip_f1": clip_f1(train_probabilities, labels[train].numpy()),
        # No wall time here: backbone.json and the report stay byte-identical between two
        # runs of one config (the time is in this log and in results/benchmarks/).
        # Highest pretraining-output probability for silence: IG's baseline score.
        "zero_input_max_probability": float(f_zero.max()),
        "zero_input_probabilities": {
            c: round(float(p), 5) for c, p in zip(CLASSES, f_zero, strict=True)
        },
    }
    if n_holdout:
        last = history[-1]
        summary["holdout_clip_f1"] = {k: last[k] for k in ("micro_f1", "macro_f1")}
        summary["holdout_loss"] = last["holdout_loss"]
    logger.info(
        "pretraining done in %.0f s; F(0) max %.3f; train clip F1 %s; held-out %s",
        time.monotonic() - started,
        summary["zero_input_max_probability"],
        summary["train_clip_f1"],
        summary.get("holdout_clip_f1"),
    )
    return model, summary
