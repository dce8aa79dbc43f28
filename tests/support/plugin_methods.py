"""Plug-in methods as a user would write them outside igsed (config `attribution.plugins`):
plain functions of (model, waveform, targets, **options)."""

from __future__ import annotations

import numpy as np
import torch


def squared_gradient(
    model: torch.nn.Module, waveform: np.ndarray, targets: tuple[int, ...], *, scale: float = 1.0
) -> np.ndarray:
    """scale × (d p_c / d x)² per sample, one row per target class: (k, N)."""
    parameter = next(model.parameters())
    x = torch.from_numpy(waveform).to(parameter.device, parameter.dtype)[None]
    x.requires_grad_(True)
    probabilities = model(x)
    rows = []
    for target in targets:
        (gradient,) = torch.autograd.grad(probabilities[0, target], x, retain_graph=True)
        rows.append(scale * gradient[0].double().cpu().numpy() ** 2)
    return np.stack(rows) if rows else np.zeros((0, waveform.shape[0]))


def noisy_frames(
    model: torch.nn.Module,
    waveform: np.ndarray,
    targets: tuple[int, ...],
    *,
    generator: np.random.Generator,
) -> np.ndarray:
    """Uniform noise on the 100 ms grid, from the generator igsed seeds per clip: (k, 100)."""
    return generator.random((len(targets), 100))


def wrong_shape(model: torch.nn.Module, waveform: np.ndarray, targets: tuple[int, ...]) -> list:
    return [[0.0] * 99 for _ in targets]
