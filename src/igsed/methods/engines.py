"""The IG engines by name, and IG of several classes of one clip with the configured engine."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from igsed.methods.fused import fused_engine
from igsed.methods.ig import ENGINE_NAMES, Engine, IGResult, IGSettings, captum_engine

# A plain lookup: IGSettings.engine names one of these (ENGINE_NAMES, checked by a test).
ENGINES: dict[str, Engine] = {"fused": fused_engine, "captum": captum_engine}
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
