"""Fused Integrated Gradients: the integral Captum computes, with less work per clip.

Captum's IntegratedGradients evaluates one class at a time and pushes every interpolation
step through the whole model, STFT front-end included. Two exact identities remove most of
that work when the model exposes the split `forward(x) == from_power(power_spectrogram(x))`
(igsed.models.explained.ExplainedModel) and the baseline is the zero waveform:

1. The path points alpha * x do not depend on the class, so one forward pass per step
   serves every attributed class of the clip; each class then needs only its own backward.
2. The STFT power P is quadratic in the waveform (a linear map, reflect padding and a
   windowed DFT, followed by |.|^2), so P(alpha x) = alpha^2 P(x) and its Jacobian is
   J_P(alpha x) = alpha J_P(x). With G = from_power, the gradient Captum takes at step k is

       d F(z) / dz |_{z = alpha_k x} = alpha_k J_P(x)^T grad G(alpha_k^2 P(x)),

   hence

       IG(x) = x * sum_k w_k alpha_k J_P(x)^T grad G(alpha_k^2 P)
             = x * J_P(x)^T [ sum_k w_k alpha_k grad G(alpha_k^2 P) ].

   The front-end runs forward once per clip, the step gradients are accumulated at the
   spectrogram, and the front-end's backward (a vector-Jacobian product at x) runs once
   per class instead of once per step.

The quadrature nodes alpha_k and weights w_k are Captum's (`quadrature`, checked bit for bit
against `approximation_parameters`), so both engines evaluate the same sum; the convergence delta
is Captum's: sum(attribution) - (F(x) - F(0)). Steps are batched so that the activations
kept for the backward passes fit a memory budget (`FusedOptions.memory_budget_mb`).
"""

from __future__ import annotations

import contextlib
import logging
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, cast

import numpy as np
import torch
from torch import nn
from torch.fx.experimental.optimization import fuse as fuse_conv_bn

from igsed.core.logs import Progress
from igsed.methods.ig import (
    DEFAULT_MEMORY_BUDGET_MB,
    IG_METHODS,
    IGResult,
    IGSettings,
    model_device,
    model_dtype,
)
from igsed.models.classifier import POWER_SPLIT, declares
from igsed.models.freeze import freeze

logger = logging.getLogger(__name__)

# DEFAULT_MEMORY_BUDGET_MB (igsed.methods.ig) keeps a full-width job, weights and
# interpreter included, within 8 GB of RAM; narrow models are capped by max_batch_steps.
# The backward of a batch needs working memory beyond the saved activations: the gradient
# of the widest activation and its neighbour in flight, plus the allocator's slack.
BACKWARD_OVERHEAD = 1.5
PROGRESS_SECONDS = 10.0
# oneDNN's CPU convolutions run CNN14's narrow layers (8-256 channels) 1.3-3x faster, forward
# and input-gradient, in channels-last layout, but its 1024- and 2048-channel layers on small
# maps slower (measured with torch 2.11 on this project's Xeon): channels-last is used when no
# convolution is wider than this, i.e. up to CNN14 width 0.125.
CHANNELS_LAST_MAX_CHANNELS = 256


class PowerSplitModel(Protocol):
    """What the fused engine needs of a model: the STFT power and the rest of the network."""

    def power_spectrogram(self, waveform: torch.Tensor) -> torch.Tensor: ...

    def from_power(self, power: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class FusedOptions:
    """Knobs of the fused engine that IGSettings does not carry.

    memory_budget_mb: MiB the step batch may hold for its forward graph and backward
        (activations, step powers and gradients) on the model's device. Steps per batch =
        the most that fit, at least one, at most `max_batch_steps`.
    max_batch_steps: cap on steps per batch; None takes IGSettings.internal_batch_size, the
        batch size Captum uses (bigger CPU batches are no faster per step).
    allow_tf32: on CUDA, let convolutions and matmuls use TF32. Off by default: TF32 keeps
        10 mantissa bits, which moves attributions by ~1e-3 relative, more than the 1e-4 the
        equivalence with Captum (in float32) allows.
    optimize_network: evaluate from_power through an inference copy of the network with
        each frozen BatchNorm folded into the convolution before it and, for narrow networks
        on the CPU, channels-last layout (see `inference_network`). The function is the
        same; only the rounding differs (~1e-6 relative per step).
    """

    memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB
    max_batch_steps: int | None = None
    allow_tf32: bool = False
    optimize_network: bool = True

    def __post_init__(self) -> None:
        if not self.memory_budget_mb > 0:
            raise ValueError(
                f"fused IG memory_budget_mb must be > 0, got {self.memory_budget_mb!r}"
            )
        if self.max_batch_steps is not None and int(self.max_batch_steps) < 1:
            raise ValueError(
                f"fused IG max_batch_steps must be >= 1 or None, got {self.max_batch_steps!r}"
            )


def quadrature(method: str, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Captum's nodes alpha_k in [0, 1] and weights w_k for `method` with `n_steps` points.

    The same numbers as captum.attr._utils.approximation_methods (a test checks them bit for
    bit), computed here because importing anything of captum.attr costs an attribution job
    half a second of start-up. Captum's Riemann nodes come from a float32 torch.linspace.
    """
    n = int(n_steps)
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return 0.5 * (1 + nodes), 0.5 * weights
    if method not in IG_METHODS:
        raise ValueError(f"IG method {method!r} is not supported; allowed: {IG_METHODS}")
    if n < 2:
        raise ValueError(f"{method} needs at least two steps, got {n}")
    start, stop = {
        "riemann_trapezoid": (0.0, 1.0),
        "riemann_left": (0.0, 1 - 1 / n),
        "riemann_middle": (1 / (2 * n), 1 - 1 / (2 * n)),
        "riemann_right": (1 / n, 1.0),
    }[method]
    alphas = torch.linspace(start, stop, n).to(torch.float64).numpy()
    weights = np.full(n, 1 / n)
    if method == "riemann_trapezoid":
        weights[0] /= 2
        weights[-1] /= 2
    return alphas, weights


def _require_power_split(model: nn.Module) -> PowerSplitModel:
    if not declares(model, POWER_SPLIT):
        raise TypeError(
            f"the fused IG engine needs a model declaring the {POWER_SPLIT!r} capability "
            f"(power_spectrogram() and from_power(), igsed.models.classifier); "
            f"{type(model).__name__} does not. Use ig.engine: captum for other models."
        )
    return cast(PowerSplitModel, model)


# Per model and power shape: bytes one step keeps alive between forward and backward.
# Weak keys: the estimate goes away with the model, and a new model is measured again.
_STEP_BYTES: weakref.WeakKeyDictionary[nn.Module, dict[tuple[int, ...], int]] = (
    weakref.WeakKeyDictionary()
)


def step_memory_bytes(network: nn.Module, power: torch.Tensor) -> int:
    """Bytes of the tensors autograd saves for one step's backward through `network`.

    `network` maps (B, 1, T, F) powers to (B, C) scores (`inference_network(model)`).

    Measured once per model and power shape with a one-step forward (saved-tensor hooks
    count each storage once), so the estimate follows the real network, whatever its width.
    """
    shape = tuple(power.shape[1:])
    cache = _STEP_BYTES.setdefault(network, {})
    if shape in cache:
        return cache[shape]
    seen: set[int] = set()
    total = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal total
        storage = tensor.untyped_storage()
        # The StorageImpl address: views share it, and it is unique on the meta device too.
        key = storage._cdata
        if key not in seen:
            seen.add(key)
            total += storage.nbytes()
        return tensor

    probe = power[:1].detach().clone().requires_grad_(True)
    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        network(probe)
    # The step's own power, its gradient and the scaled copy in the batch.
    total += 3 * probe.numel() * probe.element_size()
    cache[shape] = total
    return total


def batch_steps(
    network: nn.Module, power: torch.Tensor, n_steps: int, n_targets: int, options: FusedOptions
) -> int:
    """Steps per batch that keep one batch's forward graph and backward within the budget."""
    per_step = step_memory_bytes(network, power) * BACKWARD_OVERHEAD
    # Outside the batch: one spectrogram accumulator per class.
    fixed = n_targets * power.numel() * power.element_size()
    budget = options.memory_budget_mb * 2**20 - fixed
    steps = max(1, int(budget // per_step))
    if options.max_batch_steps is not None:
        steps = min(steps, int(options.max_batch_steps))
    return min(steps, int(n_steps))


class _FromPower(nn.Module):
    """`from_power` as a module's forward, so torch.fx can trace it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        return cast(PowerSplitModel, self.model).from_power(power)


class _ModelFromPower(nn.Module):
    """`from_power` of a model it does not own: holding the model weakly lets a cache keyed
    by that model (a WeakKeyDictionary) store this wrapper without keeping the model alive."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self._model = weakref.ref(model)

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        model = self._model()
        if model is None:
            raise RuntimeError("the model of this fused-IG network has been deleted")
        return cast(PowerSplitModel, model).from_power(power)


def _fingerprint(model: nn.Module) -> tuple[object, ...]:
    # Storage and in-place version counter of every weight and buffer: any change to the
    # model after the copy was made (a new tensor or an in-place edit) invalidates it.
    tensors = model.state_dict(keep_vars=True).values()
    return (model.training, *((t.data_ptr(), t._version) for t in tensors))


# Per model and `optimize` flag: the fingerprint the network was built from, and the network.
_NETWORKS: weakref.WeakKeyDictionary[
    nn.Module, dict[bool, tuple[tuple[object, ...], nn.Module]]
] = weakref.WeakKeyDictionary()


def _widest_convolution(network: nn.Module) -> int:
    widths = [m.out_channels for m in network.modules() if isinstance(m, nn.Conv2d)]
    return max(widths, default=0)


def _optimised_copy(model: nn.Module) -> nn.Module:
    try:
        network = fuse_conv_bn(_FromPower(model))
    except Exception as error:  # torch.fx cannot trace arbitrary Python control flow
        logger.warning(
            "fused IG: cannot trace %s.from_power (%s); using it unoptimised",
            type(model).__name__,
            error,
        )
        return _ModelFromPower(model)
    device = model_device(model)
    if device.type == "cpu" and _widest_convolution(network) <= CHANNELS_LAST_MAX_CHANNELS:
        network = network.to(memory_format=torch.channels_last)
    return freeze(network)


def inference_network(model: nn.Module, optimize: bool = True) -> nn.Module:
    """A module computing model.from_power(power); with `optimize`, rewritten for speed.

    The optimised network is a copy (the model is untouched): traced with torch.fx, every
    Conv2d -> BatchNorm2d pair folded into one convolution
    (torch.fx.experimental.optimization.fuse, valid because BatchNorm in eval mode is a fixed
    affine map) and, on the CPU for networks no wider than CHANNELS_LAST_MAX_CHANNELS, 4-D
    weights in channels-last layout. Cached per model until one of its tensors changes. A
    model that cannot be traced is used as it is.
    """
    _require_power_split(model)
    if model.training:
        raise ValueError(
            f"the fused IG engine explains a model in eval mode; {type(model).__name__} is in "
            "training mode (call model.eval())"
        )
    fingerprint = _fingerprint(model)
    networks = _NETWORKS.setdefault(model, {})
    cached = networks.get(optimize)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    network = _optimised_copy(model) if optimize else _ModelFromPower(model)
    networks[optimize] = (fingerprint, network)
    return network


@contextlib.contextmanager
def _precision(device: torch.device, allow_tf32: bool) -> Iterator[None]:
    """Pin CUDA's TF32 switches for the duration of one attribution; CPU is unaffected."""
    if device.type != "cuda":
        yield
        return
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = allow_tf32
    torch.backends.cudnn.allow_tf32 = allow_tf32
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def fused_attributions(
    model: nn.Module,
    waveform: torch.Tensor | np.ndarray,
    targets: Sequence[int],
    settings: IGSettings,
    options: FusedOptions | None = None,
) -> list[IGResult]:
    """IG of every class in `targets` on one (N,) waveform, zero baseline, fused.

    Same integral, nodes and weights as igsed.methods.ig.captum_engine; one IGResult per
    target in the order given. `model` must offer power_spectrogram / from_power.
    """
    options = options or FusedOptions()
    split = _require_power_split(model)
    targets = [int(t) for t in targets]
    if not targets:
        return []
    device = model_device(model)
    dtype = model_dtype(model)
    signal = torch.as_tensor(waveform, dtype=dtype)
    if signal.ndim != 1:
        raise ValueError(f"waveform must be 1-D (N,), got shape {tuple(signal.shape)}")
    x = signal.reshape(1, -1).to(device).requires_grad_(True)
    network = inference_network(model, options.optimize_network)
    alphas, weights = quadrature(settings.method, settings.n_steps)
    start = time.perf_counter()
    with _precision(device, options.allow_tf32), torch.enable_grad():
        # The front-end's graph at x is kept for the one vector-Jacobian product per class.
        power_at_x = split.power_spectrogram(x)
        power = power_at_x.detach()
        with torch.no_grad():
            # Captum's delta uses the model itself at both ends; so does ours.
            ends = split.from_power(torch.cat([power, torch.zeros_like(power)], dim=0))
        ends = ends.detach().to("cpu", torch.float64).numpy()
        f_input, f_baseline = ends[0], ends[1]
        out_of_range = [t for t in targets if not 0 <= t < ends.shape[1]]
        if out_of_range:
            raise ValueError(
                f"IG targets {out_of_range} out of range for a model with {ends.shape[1]} outputs"
            )

        if options.max_batch_steps is None:
            options = replace(options, max_batch_steps=int(settings.internal_batch_size))
        steps_per_batch = batch_steps(network, power, len(alphas), len(targets), options)
        accumulated = torch.zeros((len(targets), *power.shape[1:]), dtype=dtype, device=device)
        progress = Progress(logger, "fused IG", None, every_s=PROGRESS_SECONDS)
        for first in range(0, len(alphas), steps_per_batch):
            batch_alphas = alphas[first : first + steps_per_batch]
            batch_weights = weights[first : first + steps_per_batch]
            scale = torch.as_tensor(batch_alphas**2, dtype=dtype, device=device)
            step_powers = (scale.view(-1, 1, 1, 1) * power).requires_grad_(True)
            scores = network(step_powers)
            # sum_k w_k alpha_k grad G(alpha_k^2 P): the factor alpha_k is J_P(alpha_k x)'s.
            coefficients = torch.as_tensor(
                batch_weights * batch_alphas, dtype=dtype, device=device
            ).view(-1, 1, 1, 1)
            for row, target in enumerate(targets):
                (gradient,) = torch.autograd.grad(
                    scores[:, target].sum(),
                    step_powers,
                    retain_graph=row < len(targets) - 1,
                )
                accumulated[row] += (coefficients * gradient).sum(dim=0)
            del scores, step_powers
            done = min(first + steps_per_batch, len(alphas))
            progress.update(done, f"{done}/{len(alphas)} steps")

        results = []
        for row, target in enumerate(targets):
            (input_gradient,) = torch.autograd.grad(
                power_at_x,
                x,
                grad_outputs=accumulated[row : row + 1],
                retain_graph=row < len(targets) - 1,
            )
            attribution = (input_gradient * x.detach()).reshape(-1)
            attribution = attribution.detach().to("cpu").numpy()
            gap = float(f_input[target] - f_baseline[target])
            delta = float(attribution.sum(dtype=np.float64)) - gap
            results.append(IGResult.of_target(attribution, delta, (f_input, f_baseline), target))
    logger.info(
        "fused IG: %d classes %s in %.1f s (%d steps, %s, %d steps per batch)",
        len(targets),
        targets,
        time.perf_counter() - start,
        len(alphas),
        settings.method,
        steps_per_batch,
    )
    return results


def fused_engine(
    model: nn.Module, waveform: torch.Tensor, targets: Sequence[int], settings: IGSettings
) -> list[IGResult]:
    """The `fused` engine of igsed.methods.engines.attribute_clip.

    Its step batches fit IGSettings.memory_budget_mb (config attribution.ig.memory_budget_mb).
    """
    options = FusedOptions(memory_budget_mb=float(settings.memory_budget_mb))
    return fused_attributions(model, waveform, targets, settings, options)


__all__ = [
    "DEFAULT_MEMORY_BUDGET_MB",
    "FusedOptions",
    "batch_steps",
    "fused_attributions",
    "fused_engine",
    "quadrature",
    "step_memory_bytes",
]
