"""Perturbation attributions: what the classifier loses when a part of the clip is silenced.

`occlusion`: F_c(x) - F_c(x with one 100 ms frame set to zero), per frame and class (Captum
`Occlusion` with a 100 ms window and stride and a zero baseline gives this value on every
sample of the frame). One batch of the occluded copies serves all ten classes, where Captum
runs every copy once per class; and a copy differs from the clip in the 14 STFT frames its
zeroed 100 ms reach, so only those are recomputed (`Cnn14.occluded_power`). With a fill
(igsed.methods.fills) the frame takes the fill's samples instead (Captum's baseline), and
every copy is computed whole.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from igsed.core.constants import N_CLASSES
from igsed.methods.fused import inference_network
from igsed.models.classifier import POWER_SPLIT, declares


def occluded_copies(
    x: torch.Tensor, frame_samples: int, fill: torch.Tensor | None = None
) -> torch.Tensor:
    """(F, N) copies of the (1, N) waveform, copy i with frame i zeroed, or set to the (1, N)
    fill's frame i (F = N // frame)."""
    n_samples = x.shape[1]
    if n_samples % frame_samples:
        raise ValueError(
            f"{n_samples} samples are not a whole number of {frame_samples}-sample frames"
        )
    n_frames = n_samples // frame_samples
    copies = x.repeat(n_frames, 1)
    view = copies.view(n_frames, n_frames, frame_samples)
    diagonal = torch.arange(n_frames)
    if fill is None:
        view[diagonal, diagonal] = 0
    else:
        view[diagonal, diagonal] = fill.reshape(n_frames, frame_samples)
    return copies


def _scores_and_occluded(
    model: nn.Module,
    x: torch.Tensor,
    frame_samples: int,
    batch_size: int,
    fill: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """F(x) (10,) and (F, 10) F(x with frame i zeroed or filled). Where the model splits at
    the STFT power, the rest of the network is the fused IG engine's optimised copy for both
    terms alike, and with zeros only the STFT frames a zeroed frame reaches are recomputed
    (`occluded_power`)."""
    n_frames = x.shape[1] // frame_samples
    starts = range(0, n_frames, batch_size)
    if declares(model, POWER_SPLIT):
        network = inference_network(model)
        spans = [(i * frame_samples, (i + 1) * frame_samples) for i in range(n_frames)]
        if fill is None:
            powers = (model.occluded_power(x, spans[s : s + batch_size]) for s in starts)
        else:
            copies = occluded_copies(x, frame_samples, fill)
            powers = (model.power_spectrogram(copies[s : s + batch_size]) for s in starts)
        occluded = [network(power) for power in powers]
        return network(model.power_spectrogram(x))[0], torch.cat(occluded)
    copies = occluded_copies(x, frame_samples, fill)
    return model(x)[0], torch.cat([model(copies[s : s + batch_size]) for s in starts])


def occlusion(
    model: nn.Module,
    waveform: np.ndarray | torch.Tensor,
    frame_samples: int,
    batch_size: int = 16,
    fill: np.ndarray | torch.Tensor | None = None,
) -> np.ndarray:
    """(10, F) F_c(x) - F_c(x with frame i zeroed, or set to `fill`'s frame i) for every
    class c and frame i."""
    parameter = next(model.parameters())
    x = torch.as_tensor(waveform).to(device=parameter.device, dtype=parameter.dtype)
    x = x.reshape(1, -1)
    if fill is not None:
        fill = torch.as_tensor(fill).to(device=parameter.device, dtype=parameter.dtype)
        fill = fill.reshape(1, -1)
    if x.shape[1] % frame_samples:
        raise ValueError(
            f"{x.shape[1]} samples are not a whole number of {frame_samples}-sample frames"
        )
    with torch.no_grad():
        reference, scores = _scores_and_occluded(model, x, frame_samples, batch_size, fill)
    if scores.shape[1] != N_CLASSES:
        raise ValueError(f"model returned {scores.shape[1]} scores per copy; expected {N_CLASSES}")
    return (reference[None, :] - scores).T.detach().cpu().numpy()
