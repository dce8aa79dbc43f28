"""DeepLift (rescale rule; Shrikumar et al., 2017) at the log-mel input (capability
MODULE_FORM): the spectrogram-domain method that audio XAI work most often reports beside IG.

The network after the front end runs in its module form (igsed.models.modular), on the
clip's log-mel L and the reference L0 (the log-mel of the zero waveform, as for log-mel IG)
in one batch. At each non-linear module, the gradient that passes back is multiplied by
the rescale multiplier instead of the local derivative:

- ReLU and sigmoid, elementwise: (f(x) - f(x0)) / (x - x0), or f'(x) where |x - x0| < eps;
- the global max over time: the output difference y - y0 goes to the arg-max frame of the
  larger of the two maxima (the input's or the reference's), divided by that frame's own
  input difference (f'(x) where it is below eps), nothing to the other frames.

These are Captum's rules (`captum.attr.DeepLift`, its `nonlinear` and `maxpool` handlers,
eps 1e-10), written here as forward hooks that rewire the gradient; every linear map (conv,
batch norm in eval mode, pooling means, linear layers) keeps its own gradient. The
attribution is (L - L0) * the rewired gradient of F_c(L); it sums to F_c(L) - F_c(L0) over
the log-mel (the summation-to-delta property). Checked against Captum in float64
(tests/methods/test_deeplift.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from igsed.methods.spectrogram import logmel_of
from igsed.models.classifier import MODULE_FORM, Classifier

# Below this input difference a unit did not move: its own derivative stands (Captum's eps).
EPS = 1e-10


def _rescaled(share: torch.Tensor, difference: torch.Tensor, local: torch.Tensor) -> torch.Tensor:
    """share / difference where the input moved by EPS or more, else the local derivative."""
    moved = difference.abs() >= EPS
    return torch.where(moved, share / torch.where(moved, difference, 1.0), local)


def _elementwise_multiplier(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x_in, x_ref = x.chunk(2)
    y_in, y_ref = y.chunk(2)
    # The unit's own derivative: ReLU's step, or the sigmoid's y (1 - y).
    local = (x_in > 0).to(x.dtype) if isinstance(module, nn.ReLU) else y_in * (1 - y_in)
    return _rescaled(y_in - y_ref, x_in - x_ref, local)


def _time_max_multiplier(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B, D, T') input, (B, D, 1) output of a max over all T' frames."""
    if int(np.prod(module.kernel_size)) != x.shape[-1]:
        raise ValueError("the DeepLift max rule here is for a max over every frame")
    _, index = F.max_pool1d(x, x.shape[-1], return_indices=True)
    index_in, index_ref = index.chunk(2)
    x_in, x_ref = x.chunk(2)
    y_in, y_ref = y.chunk(2)
    at_in = torch.zeros_like(x_in).scatter_(-1, index_in, 1.0)
    at_ref = torch.zeros_like(x_in).scatter_(-1, index_ref, 1.0)
    # The output difference goes to the arg-max of the larger of the two maxima.
    larger = torch.maximum(y_in, y_ref)
    share = at_in * (larger - y_ref) + at_ref * (y_in - larger)
    return _rescaled(share, x_in - x_ref, at_in)


def _rewire(
    module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor
) -> torch.Tensor:
    """Forward hook: the module's output with the rescale multiplier as its gradient (both
    halves of the batch get the input half's multiplier, as in Captum; only the input half
    reaches the attributed output)."""
    x = inputs[0]
    pooled = isinstance(module, nn.MaxPool1d)
    with torch.no_grad():
        rule = _time_max_multiplier if pooled else _elementwise_multiplier
        multiplier = rule(module, x, output)
        multiplier = torch.cat([multiplier, multiplier])
    # Value: the output itself (x - x.detach() is 0); gradient: the multiplier.
    rewired = multiplier * (x - x.detach())
    return output.detach() + (rewired.sum(-1, keepdim=True) if pooled else rewired)


RULE_MODULES: tuple[type[nn.Module], ...] = (nn.ReLU, nn.Sigmoid, nn.MaxPool1d)


def deeplift(
    form: nn.Module, inputs: torch.Tensor, reference: torch.Tensor, targets: Sequence[int]
) -> torch.Tensor:
    """(k, *inputs.shape[1:]) DeepLift of a one-item batch `inputs` against `reference`
    for each target class of `form`'s (1, C) output."""
    handles = [
        m.register_forward_hook(_rewire) for m in form.modules() if isinstance(m, RULE_MODULES)
    ]
    try:
        x = inputs.detach().clone().requires_grad_(True)
        output = form(torch.cat([x, reference.detach()]))
        rows = []
        for number, target in enumerate(targets):
            (gradient,) = torch.autograd.grad(
                output[0, target], x, retain_graph=number < len(targets) - 1
            )
            rows.append((gradient * (x - reference)).detach()[0])
    finally:
        for handle in handles:
            handle.remove()
    if not rows:
        return inputs.new_zeros((0, *inputs.shape[1:]))
    return torch.stack(rows)


def logmel_deeplift(
    model: Classifier, waveform: np.ndarray | torch.Tensor, targets: Sequence[int]
) -> np.ndarray:
    """(k, T, bands) DeepLift at the clip's log-mel, from the log-mel of the zero waveform."""
    model.require([MODULE_FORM], "log-mel DeepLift")
    signal = torch.as_tensor(waveform)
    logmel = logmel_of(model, signal)
    reference = logmel_of(model, torch.zeros_like(signal))
    form = model.module_form(logmel.shape[2])
    return deeplift(form, logmel, reference, targets)[:, 0].cpu().numpy()
