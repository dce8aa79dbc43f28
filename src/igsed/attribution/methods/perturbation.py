"""Perturbation attributions: what the classifier loses when a part of the clip is silenced.

`occlusion`: F_c(x) - F_c(x with one 100 ms frame set to zero), per frame and class (Captum
`Occlusion` with a 100 ms window and stride and a zero baseline gives this value on every
sample of the frame). One batch of the occluded copies serves all ten classes, where Captum
runs every copy once per class.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from igsed.core.constants import N_CLASSES


def occluded_copies(x: torch.Tensor, frame_samples: int) -> torch.Tensor:
    """(F, N) copies of the (1, N) waveform, copy i with frame i zeroed (F = N // frame)."""
    n_samples = x.shape[1]
    if n_samples % frame_samples:
        raise ValueError(
            f"{n_samples} samples are not a whole number of {frame_samples}-sample frames"
        )
    n_frames = n_samples // frame_samples
    copies = x.repeat(n_frames, 1)
    view = copies.view(n_frames, n_frames, frame_samples)
    view[torch.arange(n_frames), torch.arange(n_frames)] = 0
    return copies


def occlusion(
    model: nn.Module,
    waveform: np.ndarray | torch.Tensor,
    frame_samples: int,
    batch_size: int = 16,
) -> np.ndarray:
    """(10, F) F_c(x) - F_c(x with frame i zeroed) for every class c and frame i."""
    parameter = next(model.parameters())
    x = torch.as_tensor(waveform).to(device=parameter.device, dtype=parameter.dtype)
    x = x.reshape(1, -1)
    copies = occluded_copies(x, frame_samples)
    with torch.no_grad():
        reference = model(x)[0]
        starts = range(0, len(copies), batch_size)
        scores = torch.cat([model(copies[start : start + batch_size]) for start in starts])
    if scores.shape[1] != N_CLASSES:
        raise ValueError(f"model returned {scores.shape[1]} scores per copy; expected {N_CLASSES}")
    return (reference[None, :] - scores).T.detach().cpu().numpy()
