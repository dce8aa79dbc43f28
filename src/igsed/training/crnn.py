"""Training the CRNN on clip labels only, like the clip classifier (paper II-B, III-C).

The log-mel front end has no learned parameters, so each clip's log-mel is computed once
and the network trains from those (the audio is read once, not once per epoch). Adam at
the paper's learning rate, binary cross-entropy on the pooled clip probabilities, early
stopping on the validation loss (the best epoch's weights are kept). Everything random
(initial weights, batch order, dropout) comes from `seed`, so the same clips, settings and
torch thread count give the same weights.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from igsed.core.logs import Progress
from igsed.models.crnn import Crnn, CrnnShape

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrnnTraining:
    """How the CRNN trains (config `models.<name>.training` of kind crnn)."""

    max_epochs: int = 40
    patience: int = 5
    batch_size: int = 16
    learning_rate: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        for key in ("max_epochs", "patience", "batch_size"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"crnn training {key} must be >= 1, got {getattr(self, key)}")
        if not float(self.learning_rate) > 0:
            raise ValueError(f"crnn training learning_rate must be > 0, got {self.learning_rate}")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class LabelledClips:
    """Waveforms (n, N) float32 and their clip labels (n, 10) in {0, 1}."""

    waveforms: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if len(self.waveforms) != len(self.labels) or len(self.labels) == 0:
            raise ValueError(
                f"need one label row per clip and at least one clip, got "
                f"{len(self.waveforms)} clips and {len(self.labels)} label rows"
            )


def _logmels(model: Crnn, waveforms: np.ndarray, batch_size: int) -> torch.Tensor:
    with torch.no_grad():
        parts = [
            model.logmel(torch.from_numpy(np.asarray(waveforms[i : i + batch_size])))
            for i in range(0, len(waveforms), batch_size)
        ]
    return torch.cat(parts)


def _loss(model: Crnn, logmels: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    clip = model.outputs_from_logmel(logmels)[1].clamp(1e-7, 1 - 1e-7)
    return F.binary_cross_entropy(clip, labels)


def _validation_loss(model: Crnn, logmels: torch.Tensor, labels: torch.Tensor, batch: int) -> float:
    model.eval()
    with torch.no_grad():
        total = sum(
            float(_loss(model, logmels[i : i + batch], labels[i : i + batch]))
            * len(labels[i : i + batch])
            for i in range(0, len(labels), batch)
        )
    return total / len(labels)


def _epoch(
    model: Crnn,
    optimiser: torch.optim.Optimizer,
    data: tuple[torch.Tensor, torch.Tensor],
    settings: CrnnTraining,
    generator: torch.Generator,
) -> float:
    logmels, labels = data
    model.train()
    order = torch.randperm(len(labels), generator=generator)
    total = 0.0
    for start in range(0, len(order), settings.batch_size):
        batch = order[start : start + settings.batch_size]
        optimiser.zero_grad()
        loss = _loss(model, logmels[batch], labels[batch])
        loss.backward()
        optimiser.step()
        total += loss.item() * len(batch)
    return total / len(order)


def train_crnn(
    train: LabelledClips,
    val: LabelledClips,
    shape: CrnnShape | None = None,
    settings: CrnnTraining | None = None,
) -> tuple[Crnn, list[dict[str, float]]]:
    """The trained CRNN (eval mode, best validation epoch) and one history row per epoch."""
    settings = settings or CrnnTraining()
    torch.manual_seed(settings.seed)  # initial weights and dropout
    generator = torch.Generator().manual_seed(settings.seed)  # batch order
    model = Crnn(shape)
    data = [
        (
            _logmels(model, clips.waveforms, settings.batch_size),
            torch.from_numpy(clips.labels).float(),
        )
        for clips in (train, val)
    ]
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    best_loss, best_state, waited, history = float("inf"), model.state_dict(), 0, []
    progress = Progress(logger, "crnn: epochs", settings.max_epochs, every_s=30)
    for epoch in range(1, settings.max_epochs + 1):
        train_loss = _epoch(model, optimiser, data[0], settings, generator)
        val_loss = _validation_loss(model, *data[1], settings.batch_size)
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
        logger.info("crnn epoch %d: train loss %.4f, val loss %.4f", epoch, train_loss, val_loss)
        progress.update(epoch)
        if val_loss < best_loss:
            best_loss, waited = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= settings.patience:
                break
    model.load_state_dict(best_state)
    return model.eval(), history


def best_epoch(history: Sequence[dict[str, float]]) -> int:
    """The epoch whose weights `train_crnn` kept: the lowest validation loss, first if tied."""
    return int(min(history, key=lambda row: (row["val_loss"], row["epoch"]))["epoch"])
