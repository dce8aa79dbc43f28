"""Attributions at the model's log-mel input (capability LOGMEL_SPLIT), where most audio XAI
work computes them: the network after its fixed front end, `from_logmel`, is the function
explained, and the input is the (1, T, bands) log-mel in dB.

- `logmel_saliency`: |dF_c/dL| (Captum `Saliency` on `from_logmel`);
- `logmel_ig`: Integrated Gradients from the log-mel of the zero waveform (every band at the
  front end's floor, the spectrogram-domain counterpart of the zero waveform), with Captum's
  integral, nodes and weights (Captum `IntegratedGradients` on `from_logmel`).

A frame's score is the sum of |a| over the mel bands and over the log-mel frames whose
centres fall in that 100 ms frame (`logmel_frame_scores`). Both are checked against Captum in
float64 (tests/methods/test_spectrogram.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from igsed.core.constants import EVAL_FRAME_SECONDS, N_EVAL_FRAMES
from igsed.methods.fused import quadrature
from igsed.methods.gradients import class_gradients
from igsed.methods.ig import IG_METHODS
from igsed.models.classifier import LOGMEL_SPLIT, Classifier


@dataclass(frozen=True)
class LogmelIGSettings:
    n_steps: int = 50
    method: str = "gausslegendre"
    internal_batch_size: int = 10  # path points per forward/backward batch

    def __post_init__(self) -> None:
        if self.method not in IG_METHODS:
            raise ValueError(f"log-mel IG method {self.method!r}; allowed: {', '.join(IG_METHODS)}")
        if int(self.n_steps) < 1 or int(self.internal_batch_size) < 1:
            raise ValueError("log-mel IG n_steps and internal_batch_size must be >= 1")
        quadrature(self.method, self.n_steps)  # a Riemann rule with one step is refused

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _FromLogmel(nn.Module):
    """The classifier after its front end, as a module of the log-mel (for class_gradients)."""

    def __init__(self, model: Classifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        return self.model.from_logmel(logmel)


def logmel_of(model: Classifier, waveform: np.ndarray | torch.Tensor) -> torch.Tensor:
    """The (1, 1, T, bands) log-mel of one waveform, in the model's dtype and device."""
    model.require([LOGMEL_SPLIT], "a log-mel method")
    parameter = next(model.parameters())
    x = torch.as_tensor(waveform).to(parameter.device, parameter.dtype).reshape(1, -1)
    with torch.no_grad():
        return model.logmel_input(x)


def logmel_saliency(
    model: Classifier, waveform: np.ndarray | torch.Tensor, targets: Sequence[int]
) -> np.ndarray:
    """(k, T, bands) |dF_c/dL| at the clip's log-mel L, for each target class."""
    logmel = logmel_of(model, waveform)
    gradients = class_gradients(_FromLogmel(model), logmel, targets)  # (k, 1, 1, T, bands)
    return gradients[:, 0, 0].abs().detach().cpu().numpy()


def logmel_ig(
    model: Classifier,
    waveform: np.ndarray | torch.Tensor,
    targets: Sequence[int],
    settings: LogmelIGSettings,
) -> np.ndarray:
    """(k, T, bands) signed IG at the log-mel, from the log-mel of the zero waveform:
    (L - L0) * sum_k w_k dF_c/dL (L0 + alpha_k (L - L0))."""
    signal = torch.as_tensor(waveform)
    logmel = logmel_of(model, signal)
    baseline = logmel_of(model, torch.zeros_like(signal))
    alphas, weights = quadrature(settings.method, settings.n_steps)
    step = logmel - baseline
    alpha = torch.as_tensor(alphas, dtype=logmel.dtype, device=logmel.device)
    points = baseline + alpha.view(-1, 1, 1, 1) * step  # (P, 1, T, bands)
    gradients = class_gradients(
        _FromLogmel(model), points, targets, int(settings.internal_batch_size)
    )  # (k, P, 1, T, bands)
    weight = torch.as_tensor(weights, dtype=logmel.dtype, device=logmel.device)
    integrated = (weight.view(1, -1, 1, 1, 1) * gradients).sum(dim=1)  # (k, 1, T, bands)
    return (integrated[:, 0] * step[0, 0]).detach().cpu().numpy()


def logmel_frame_scores(attribution: np.ndarray, frame_seconds: float) -> np.ndarray:
    """(k, T, bands) log-mel attributions -> (k, 100) float32: the sum of |a| over the bands
    and over the log-mel frames whose centres (t * frame_seconds, centred STFT frames) fall in
    each 100 ms frame; a centre at or past the clip's end (the last, padded frame) is left
    out."""
    magnitude = np.abs(np.asarray(attribution, dtype=np.float64)).sum(axis=2)  # (k, T)
    # The centre of frame t over the 100 ms frame length, exact for the 10 ms hop (t / 10).
    ratio = frame_seconds / EVAL_FRAME_SECONDS
    index = np.array([math.floor(t * ratio + 1e-9) for t in range(magnitude.shape[1])])
    scores = np.zeros((magnitude.shape[0], N_EVAL_FRAMES))
    keep = index < N_EVAL_FRAMES
    for row in range(magnitude.shape[0]):
        np.add.at(scores[row], index[keep], magnitude[row, keep])
    return scores.astype(np.float32)
