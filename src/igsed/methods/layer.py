"""Grad-CAM of the clip classifier at a conv block of CNN14.

For class c and the block's output A (channels x time x frequency): the channel weights are
the mean of dF_c/dA over time and frequency, the map is ReLU(sum over channels of weight x
A) (Captum `LayerGradCam` with `relu_attributions=True`), and the frame score is its mean
over frequency: one value per block frame, which `block_frame_seconds` gives the length of.
One forward serves all attributed classes, one backward each.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from igsed.core.constants import SAMPLE_RATE, STFT_HOP
from igsed.models.classifier import LAYERS, Classifier

GRADCAM_LAYERS: tuple[str, ...] = tuple(f"conv_block{i}" for i in range(1, 7))


def block_frame_seconds(layer: str) -> float:
    """Seconds per time step of a conv block's output: blocks 1-5 halve the time axis."""
    if layer not in GRADCAM_LAYERS:
        raise ValueError(f"Grad-CAM layer {layer!r} is not one of {GRADCAM_LAYERS}")
    index = int(layer.removeprefix("conv_block"))
    return STFT_HOP / SAMPLE_RATE * 2 ** min(index, 5)


def gradcam_maps(
    model: Classifier, waveform: np.ndarray | torch.Tensor, targets: Sequence[int], layer: str
) -> np.ndarray:
    """(k, T_layer, F_layer) ReLU'd Grad-CAM maps of `layer`, one of the model's named layers
    (capability LAYERS) whose output is (B, channels, time, frequency)."""
    if layer not in GRADCAM_LAYERS:
        raise ValueError(f"Grad-CAM layer {layer!r} is not one of {GRADCAM_LAYERS}")
    model.require([LAYERS], "Grad-CAM")
    block = model.layers()[layer]
    parameter = next(model.parameters())
    x = torch.as_tensor(waveform).to(device=parameter.device, dtype=parameter.dtype)
    captured: list[torch.Tensor] = []
    handle = block.register_forward_hook(lambda _module, _inputs, output: captured.append(output))
    try:
        with torch.enable_grad():
            scores = model(x.reshape(1, -1).requires_grad_(True))
    finally:
        handle.remove()
    (activation,) = captured
    maps = []
    targets = [int(t) for t in targets]
    for row, target in enumerate(targets):
        (grad,) = torch.autograd.grad(
            scores[0, target], activation, retain_graph=row < len(targets) - 1
        )
        weights = grad.mean(dim=(2, 3), keepdim=True)
        maps.append(torch.relu((weights * activation).sum(dim=1))[0])
    if not maps:
        return np.zeros((0, 0, 0))
    return torch.stack(maps).detach().cpu().numpy()


def gradcam(
    model: Classifier, waveform: np.ndarray | torch.Tensor, targets: Sequence[int], layer: str
) -> np.ndarray:
    """(k, T_layer) Grad-CAM per block frame: the map's mean over frequency."""
    maps = gradcam_maps(model, waveform, targets, layer)
    return maps.mean(axis=2) if maps.size else np.zeros((0, 0))
