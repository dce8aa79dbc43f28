"""Captum's IG of one class, as the tests call it (igsed runs it through its engines)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from igsed.methods.engines import attribute_clip
from igsed.methods.ig import IGSettings


def captum_ig(
    model: nn.Module,
    waveform: torch.Tensor | np.ndarray,
    target: int,
    *,
    n_steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int = 10,
) -> tuple[np.ndarray, float, float, float]:
    """(attribution, convergence delta, F(x), F(0)) of class `target`, Captum engine."""
    settings = IGSettings(
        n_steps=n_steps, method=method, internal_batch_size=internal_batch_size, engine="captum"
    )
    (result,) = attribute_clip(model, waveform, [target], settings)
    return result.attribution, result.convergence_delta, result.f_input, result.f_baseline
