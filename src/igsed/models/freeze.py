"""Frozen modules: eval mode and no parameter that requires a gradient."""

from __future__ import annotations

import torch
from torch import nn


def freeze(module: nn.Module, device: torch.device | str | None = None) -> nn.Module:
    """Put `module` in eval mode with every parameter frozen (and on `device`); return it.

    Inference and attribution need input gradients only: no dropout, no SpecAugment, no
    gradients for weights.
    """
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    if device is not None:
        module.to(torch.device(device) if isinstance(device, str) else device)
    return module
