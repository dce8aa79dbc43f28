"""Integrated Gradients of a clip classifier's sigmoid score on the raw waveform.

The explained function F is the class's sigmoid probability (paper §II-C), the baseline
is the all-zero waveform (silence) and the path integral is approximated with one of
Captum's quadrature rules. Attributions live on the waveform samples; the evaluation
reads them as mean |attribution| per 100 ms frame.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from captum.attr import IntegratedGradients

logger = logging.getLogger(__name__)

# Captum's integration rules (captum.attr._utils.approximation_methods.SUPPORTED_METHODS).
# Measured on a smooth model: gausslegendre and riemann_middle converge fast; Captum 0.9's
# riemann_trapezoid uses step 1/n on n points whose weights sum to (n - 1) / n, so its
# attributions carry a -1/n relative bias (2 % at 50 steps) that the convergence delta shows.
IG_METHODS: tuple[str, ...] = (
    "gausslegendre",
    "riemann_trapezoid",
    "riemann_left",
    "riemann_right",
    "riemann_middle",
)
# The IG engines of igsed.methods.engines.ENGINES.
ENGINE_NAMES: tuple[str, ...] = ("fused", "captum")
# Full-width CNN14 keeps ~380 MiB per step on a 10 s clip: 4 GiB holds 7 steps and their
# backward within the 8 GB the attribute rule requests at full width.
DEFAULT_MEMORY_BUDGET_MB = 4096.0


@dataclass(frozen=True)
class IGSettings:
    """Everything that shapes an IG attribution besides the model and the input."""

    n_steps: int = 50
    method: str = "gausslegendre"
    internal_batch_size: int = 10
    engine: str = "fused"
    memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB  # fused engine: step-batch memory cap

    def __post_init__(self) -> None:
        """Raise ValueError naming the offending value before any expensive work starts."""
        if self.method not in IG_METHODS:
            raise ValueError(
                f"IG method {self.method!r} is not supported; allowed: {', '.join(IG_METHODS)}"
            )
        if self.engine not in ENGINE_NAMES:
            raise ValueError(
                f"IG engine {self.engine!r} is not available; allowed: {', '.join(ENGINE_NAMES)}"
            )
        # Captum's Riemann rules need at least two points; Gauss-Legendre works with one.
        min_steps = 1 if self.method == "gausslegendre" else 2
        if int(self.n_steps) < min_steps:
            raise ValueError(
                f"IG n_steps must be >= {min_steps} for method {self.method!r}, got {self.n_steps}"
            )
        if int(self.internal_batch_size) < 1:
            raise ValueError(f"IG internal_batch_size must be >= 1, got {self.internal_batch_size}")
        if not float(self.memory_budget_mb) > 0:
            raise ValueError(f"IG memory_budget_mb must be > 0, got {self.memory_budget_mb}")

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


@dataclass(frozen=True)
class IGResult:
    """IG of one class on one waveform, with the numbers that check its completeness."""

    attribution: np.ndarray  # (N,) float32, signed
    convergence_delta: float  # sum(attribution) - (F(x) - F(0))
    f_input: float  # F(x)
    f_baseline: float  # F(0)

    @classmethod
    def of_target(
        cls,
        attribution: np.ndarray,
        delta: float,
        scores: tuple[np.ndarray, np.ndarray],
        target: int,
    ) -> IGResult:
        """The result of class `target`, given all classes' (F(x), F(0)) as `scores`."""
        f_input, f_baseline = scores
        return cls(attribution, delta, float(f_input[target]), float(f_baseline[target]))


# An engine computes IG for several target classes of one waveform. Every engine returns
# one IGResult per target, in the order of `targets`, so engines are interchangeable;
# igsed.methods.engines maps these names to them.
Engine = Callable[[nn.Module, torch.Tensor, Sequence[int], "IGSettings"], list[IGResult]]


def _as_batch(waveform: torch.Tensor | np.ndarray, device: torch.device) -> torch.Tensor:
    """(N,) waveform -> (1, N) float32 tensor on `device`."""
    tensor = torch.as_tensor(waveform, dtype=torch.float32)
    if tensor.ndim != 1:
        raise ValueError(f"waveform must be 1-D (N,), got shape {tuple(tensor.shape)}")
    return tensor.reshape(1, -1).to(device)


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a stateless model)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype the model computes in (its first floating parameter or buffer)."""
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def _end_point_scores(model: nn.Module, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """All class scores at the path's ends: F(x) and F(0), as float64 (10,) arrays."""
    with torch.no_grad():
        scores = model(torch.cat([batch, torch.zeros_like(batch)], dim=0))
    scores = scores.detach().to("cpu", torch.float64).numpy()
    return scores[0], scores[1]


def _captum_attribution(
    explainer: IntegratedGradients, batch: torch.Tensor, target: int, settings: IGSettings
) -> tuple[np.ndarray, float]:
    attribution, delta = explainer.attribute(
        batch,
        baselines=torch.zeros_like(batch),
        target=int(target),
        n_steps=int(settings.n_steps),
        method=settings.method,
        internal_batch_size=int(settings.internal_batch_size),
        return_convergence_delta=True,
    )
    values = attribution.detach().reshape(-1).to("cpu", torch.float32).numpy()
    return values, float(delta.reshape(-1)[0])


def captum_engine(
    model: nn.Module, waveform: torch.Tensor, targets: Sequence[int], settings: IGSettings
) -> list[IGResult]:
    """Reference engine: Captum's IntegratedGradients, one target at a time."""
    # Imported here: captum.attr takes half a second to import, which every attribution
    # job paid at start-up although the default engine never calls Captum.
    from captum.attr import IntegratedGradients

    batch = _as_batch(waveform, model_device(model))
    f_input, f_baseline = _end_point_scores(model, batch)
    explainer = IntegratedGradients(model)
    results = []
    for target in targets:
        start = time.perf_counter()
        attribution, delta = _captum_attribution(explainer, batch, target, settings)
        results.append(IGResult.of_target(attribution, delta, (f_input, f_baseline), target))
        logger.info(
            "IG class %d: %.1f s (%d steps, %s), F(x)=%.4f F(0)=%.4f delta=%.3g",
            target,
            time.perf_counter() - start,
            settings.n_steps,
            settings.method,
            f_input[target],
            f_baseline[target],
            delta,
        )
    return results
