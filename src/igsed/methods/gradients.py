"""Gradient attributions of the clip classifier on the waveform: saliency and its relatives.

Every method here needs only gradients of F_c (class c's sigmoid probability) with respect
to the input at some points. One forward of a batch of points serves all attributed classes
of a clip, with one backward per class (`class_gradients`); Captum's methods instead run a
forward and a backward per class. The definitions are Captum's, checked against it in
float64 (tests/methods/test_methods.py):

- `saliency`:         |dF_c/dx|                                    (Captum `Saliency`)
- `input_x_gradient`: x * dF_c/dx                                   (Captum `InputXGradient`)
- `smoothgrad`:       mean over noisy copies x + e of |dF_c/dx|(x + e) (Captum
                      `NoiseTunnel(Saliency)`, smoothgrad), e ~ N(0, (s * max|x|)^2)
- `gradient_shap`:    mean over draws (b, a) of (x - b) * dF_c/dx at b + a (x - b), b drawn
                      from the zero waveform and low-level noise waveforms, a ~ U(0, 1)
                      (Captum `GradientShap`)

Public functions draw their random numbers from a generator seeded by the caller (the
pipeline seeds it per clip); the private `_smoothgrad` and `_gradient_shap` take the draws,
so a test can hand them exactly the draws Captum made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from igsed.methods.fused import inference_network
from igsed.models.classifier import POWER_SPLIT, declares


def _as_batch(waveform: np.ndarray | torch.Tensor, model: nn.Module) -> torch.Tensor:
    parameter = next(model.parameters())
    tensor = torch.as_tensor(waveform).to(device=parameter.device, dtype=parameter.dtype)
    return tensor.reshape(1, -1)


def _scores(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """F(batch). A model split at the STFT power (ExplainedModel) runs the rest of its network
    as the fused IG engine does: Conv2d and BatchNorm folded, channels-last on narrow CPU
    models (`inference_network`); the same function, computed faster."""
    if declares(model, POWER_SPLIT):
        return inference_network(model)(model.power_spectrogram(batch))
    return model(batch)


def class_gradients(
    model: nn.Module, points: torch.Tensor, targets: Sequence[int], batch_size: int = 8
) -> torch.Tensor:
    """(k, P, N) gradients of F_c at each of the (P, N) points, for each target class c.

    Points go through the model `batch_size` at a time; each batch has one forward and one
    backward per target (the graph is kept between the backwards).
    """
    targets = [int(t) for t in targets]
    grads = torch.zeros((len(targets), *points.shape), dtype=points.dtype, device=points.device)
    if not targets:
        return grads
    for start in range(0, points.shape[0], batch_size):
        batch = points[start : start + batch_size].detach().requires_grad_(True)
        with torch.enable_grad():
            scores = _scores(model, batch)
            for row, target in enumerate(targets):
                last = row == len(targets) - 1
                (grad,) = torch.autograd.grad(scores[:, target].sum(), batch, retain_graph=not last)
                grads[row, start : start + batch.shape[0]] = grad
    return grads


def saliency(
    model: nn.Module, waveform: np.ndarray | torch.Tensor, targets: Sequence[int]
) -> np.ndarray:
    """(k, N) |dF_c/dx| for each target class."""
    x = _as_batch(waveform, model)
    return class_gradients(model, x, targets)[:, 0].abs().detach().cpu().numpy()


def input_x_gradient(
    model: nn.Module, waveform: np.ndarray | torch.Tensor, targets: Sequence[int]
) -> np.ndarray:
    """(k, N) x * dF_c/dx for each target class (signed)."""
    x = _as_batch(waveform, model)
    grads = class_gradients(model, x, targets)[:, 0]
    return (x[0] * grads).detach().cpu().numpy()


@dataclass(frozen=True)
class NoiseSettings:
    """Draws of a sampling method: how many, and how loud relative to the clip's peak."""

    n_samples: int = 16
    noise_fraction: float = 0.1
    batch_size: int = 8

    def __post_init__(self) -> None:
        if self.n_samples < 1 or self.batch_size < 1:
            raise ValueError(
                f"n_samples and batch_size must be >= 1, got {self.n_samples}, {self.batch_size}"
            )
        if self.noise_fraction < 0:
            raise ValueError(f"noise_fraction must be >= 0, got {self.noise_fraction}")


def _noise_std(x: torch.Tensor, fraction: float) -> float:
    return float(fraction) * float(x.abs().max())


def smoothgrad(
    model: nn.Module,
    waveform: np.ndarray | torch.Tensor,
    targets: Sequence[int],
    settings: NoiseSettings,
    generator: torch.Generator,
) -> np.ndarray:
    """(k, N) mean |dF_c/dx| over `settings.n_samples` noisy copies of the waveform."""
    x = _as_batch(waveform, model)
    std = _noise_std(x, settings.noise_fraction)
    noise = torch.randn(
        (settings.n_samples, x.shape[1]), generator=generator, dtype=x.dtype, device="cpu"
    ).to(x.device)
    return _smoothgrad(model, x, targets, std * noise, settings.batch_size)


def _smoothgrad(
    model: nn.Module,
    x: torch.Tensor,
    targets: Sequence[int],
    noise: torch.Tensor,
    batch_size: int = 8,
) -> np.ndarray:
    grads = class_gradients(model, x + noise.to(x), targets, batch_size)
    return grads.abs().mean(dim=1).detach().cpu().numpy()


def gradient_shap(
    model: nn.Module,
    waveform: np.ndarray | torch.Tensor,
    targets: Sequence[int],
    settings: NoiseSettings,
    generator: torch.Generator,
    n_noise_baselines: int = 4,
) -> np.ndarray:
    """(k, N) GradientShap with the zero waveform and low-level noise as the baselines.

    The baseline distribution is the zero waveform and `n_noise_baselines` Gaussian noise
    waveforms of standard deviation `noise_fraction` x the clip's peak; each of the
    `n_samples` draws picks one of them uniformly and a point a ~ U(0, 1) on the way to x.
    """
    x = _as_batch(waveform, model)
    std = _noise_std(x, settings.noise_fraction)
    noise = torch.randn((n_noise_baselines, x.shape[1]), generator=generator, dtype=x.dtype)
    baselines = torch.cat([torch.zeros_like(x.cpu()), std * noise]).to(x.device)
    choice = torch.randint(
        0, baselines.shape[0], (settings.n_samples,), generator=generator, device="cpu"
    )
    alphas = torch.rand((settings.n_samples,), generator=generator, dtype=x.dtype)
    return _gradient_shap(
        model, x, targets, baselines[choice.to(x.device)], alphas.to(x.device), settings.batch_size
    )


def _gradient_shap(
    model: nn.Module,
    x: torch.Tensor,
    targets: Sequence[int],
    baselines: torch.Tensor,
    alphas: torch.Tensor,
    batch_size: int = 8,
) -> np.ndarray:
    """(k, N) mean over draws of (x - b) * dF_c/dx at b + a (x - b), for drawn (b, a)."""
    baselines = baselines.to(x)
    alphas = alphas.to(x).reshape(-1, 1)
    differences = x - baselines
    points = baselines + alphas * differences
    grads = class_gradients(model, points, targets, batch_size)
    return (grads * differences).mean(dim=1).detach().cpu().numpy()
