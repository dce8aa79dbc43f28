"""Grad-CAM of the clip classifier at one of its named layers (a conv block of CNN14).

For class c and the block's output A (channels x time x frequency): the channel weights are
the mean of dF_c/dA over time and frequency, the map is ReLU(sum over channels of weight x
A) (Captum `LayerGradCam` with `relu_attributions=True`), and the frame score is its mean
over frequency: one value per layer frame, whose length the model gives
(`Classifier.layer_frame_seconds`; CNN14's exact strides: `block_frame_seconds`).
One forward serves all attributed classes, one backward each.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from igsed.models.classifier import LAYERS, Classifier, capability_error
from igsed.models.explained import GRADCAM_LAYERS, block_frame_seconds

__all__ = ["GRADCAM_LAYERS", "block_frame_seconds", "gradcam", "gradcam_maps", "gradcam_layer"]


def gradcam_maps(
    model: Classifier, waveform: np.ndarray | torch.Tensor, targets: Sequence[int], layer: str
) -> np.ndarray:
    """(k, T_layer, F_layer) ReLU'd Grad-CAM maps of `layer`, one of the model's named layers
    (capability LAYERS) whose output is (B, channels, time, frequency)."""
    if not isinstance(model, Classifier):
        raise capability_error("Grad-CAM", [LAYERS], type(model).__name__, "it is no Classifier")
    model.require([LAYERS], "Grad-CAM")
    named = model.layers()
    if layer not in named:
        raise ValueError(
            f"Grad-CAM layer {layer!r} is not a layer of model {model.model_name!r} "
            f"(its layers: {', '.join(named)}); `auto` takes its own ({model.gradcam_layer})"
        )
    block = named[layer]
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
    if activation.ndim != 4:
        raise ValueError(
            f"Grad-CAM layer {layer!r} of model {model.model_name!r} gives an output of shape "
            f"{tuple(activation.shape)}, not (batch, channels, time, frequency): choose a conv "
            f"layer (`auto`: {model.gradcam_layer})"
        )
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


def gradcam_layer(model: Classifier, setting: str) -> str:
    """The layer Grad-CAM explains: the setting's, or the model's own for `auto`."""
    return model.gradcam_layer if setting == "auto" else setting


def gradcam(
    model: Classifier, waveform: np.ndarray | torch.Tensor, targets: Sequence[int], layer: str
) -> np.ndarray:
    """(k, T_layer) Grad-CAM per block frame: the map's mean over frequency."""
    maps = gradcam_maps(model, waveform, targets, layer)
    return maps.mean(axis=2) if maps.size else np.zeros((0, 0))
