"""Integrated Gradients of any classifier: the fused engine's path for a model without
CNN14's power-spectrogram split (igsed.models.classifier.POWER_SPLIT).

The same integral, nodes and weights as Captum (igsed.methods.fused.quadrature): each batch
of path points alpha_k x goes through the model once, with one backward per attributed class
(`class_gradients`), where Captum runs every point once per class. What it gives up against
CNN14's split is the front end computed once per clip and the folded inference network
(docs/models.md gives the measured cost).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from igsed.methods.fused import quadrature
from igsed.methods.gradients import class_gradients
from igsed.methods.ig import IGResult, IGSettings, model_device, model_dtype

logger = logging.getLogger(__name__)


def autograd_attributions(
    model: nn.Module,
    waveform: torch.Tensor | np.ndarray,
    targets: Sequence[int],
    settings: IGSettings,
) -> list[IGResult]:
    """IG of every class in `targets` on one (N,) waveform from the zero waveform; one
    IGResult per target in the order given. Step batches hold `internal_batch_size` points."""
    targets = [int(t) for t in targets]
    if not targets:
        return []
    dtype = model_dtype(model)
    signal = torch.as_tensor(waveform, dtype=dtype)
    if signal.ndim != 1:
        raise ValueError(f"waveform must be 1-D (N,), got shape {tuple(signal.shape)}")
    x = signal.reshape(1, -1).to(model_device(model))
    start = time.perf_counter()
    with torch.no_grad():
        ends = model(torch.cat([x, torch.zeros_like(x)])).to("cpu", torch.float64).numpy()
    out_of_range = [t for t in targets if not 0 <= t < ends.shape[1]]
    if out_of_range:
        raise ValueError(f"IG targets {out_of_range} out of range for {ends.shape[1]} outputs")
    alphas, weights = quadrature(settings.method, settings.n_steps)
    points = torch.as_tensor(alphas, dtype=dtype, device=x.device).view(-1, 1) * x
    gradients = class_gradients(model, points, targets, int(settings.internal_batch_size))
    coefficients = torch.as_tensor(weights, dtype=dtype, device=x.device).view(1, -1, 1)
    integrated = (coefficients * gradients).sum(dim=1)  # (k, N)
    results = []
    for row, target in enumerate(targets):
        attribution = (integrated[row] * x[0]).detach().to("cpu").numpy()
        gap = float(ends[0, target] - ends[1, target])
        delta = float(attribution.sum(dtype=np.float64)) - gap
        results.append(IGResult.of_target(attribution, delta, (ends[0], ends[1]), target))
    logger.info(
        "autograd IG: %d classes %s in %.1f s (%d steps, %s)",
        len(targets),
        targets,
        time.perf_counter() - start,
        len(alphas),
        settings.method,
    )
    return results
