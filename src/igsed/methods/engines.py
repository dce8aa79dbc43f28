"""The IG engines by name, and IG of several classes of one clip with the configured engine.

`fused` uses CNN14's power-spectrogram split where the model declares it (the front end
once per clip) and the autograd path on any other classifier; `captum` is the reference.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from igsed.methods.autograd_ig import autograd_attributions
from igsed.methods.fused import fused_engine
from igsed.methods.ig import ENGINE_NAMES, Engine, IGResult, IGSettings, captum_engine
from igsed.models.classifier import POWER_SPLIT, declares


def _fused_or_autograd(
    model: nn.Module, waveform: torch.Tensor, targets: Sequence[int], settings: IGSettings
) -> list[IGResult]:
    if declares(model, POWER_SPLIT):
        return fused_engine(model, waveform, targets, settings)
    return autograd_attributions(model, waveform, targets, settings)


# A plain lookup: IGSettings.engine names one of these (ENGINE_NAMES, checked by a test).
ENGINES: dict[str, Engine] = {"fused": _fused_or_autograd, "captum": captum_engine}
assert tuple(ENGINES) == ENGINE_NAMES


def attribute_clip(
    model: nn.Module,
    waveform: torch.Tensor | np.ndarray,
    targets: Sequence[int],
    settings: IGSettings,
) -> list[IGResult]:
    """IG of every class in `targets` on one (N,) waveform, with the configured engine."""
    if not targets:
        return []
    tensor = torch.as_tensor(waveform, dtype=torch.float32)
    return ENGINES[settings.engine](model, tensor, list(targets), settings)
