"""RISE (Petsiuk et al., BMVC 2018) on 100 ms segments: the classifier's probability on
randomly masked copies, averaged over the masks that keep each segment.

Each of `n_masks` binary masks keeps every 100 ms segment independently with probability
`keep_probability` (p) and zero-fills the others; segment i's score for class c is

    S_c(i) = 1 / (N p) * sum_j F_c(x masked by M_j) M_j(i),

the Monte-Carlo estimate of E[F_c(x masked by M) | M(i) = 1], up to the factor P(M(i) = 1).
Masks are binary on the evaluation grid (no smoothing or random shifts, which image RISE
uses to soften mask edges: here a segment is the unit that is scored). One batch of masked
copies serves all target classes. Draws come from a generator the caller seeds (the pipeline
seeds it per clip); `_rise` takes the masks, so a test can recompute the sum independently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from igsed.core.constants import N_CLASSES
from igsed.methods.fills import check_fill
from igsed.methods.surrogate import masked_probabilities, segment_masks, whole_segments


@dataclass(frozen=True)
class RiseSettings:
    """How many masks, how dense, how many masked copies per forward, and the seed."""

    n_masks: int = 256
    keep_probability: float = 0.5
    batch_size: int = 16
    seed: int = 13
    fill: str = "zero"  # what a dropped segment holds (igsed.methods.fills)

    def __post_init__(self) -> None:
        if not (isinstance(self.n_masks, int) and self.n_masks >= 1):
            raise ValueError(f"rise n_masks must be an integer >= 1, got {self.n_masks!r}")
        if not 0.0 < float(self.keep_probability) < 1.0:
            raise ValueError(
                f"rise keep_probability must be in (0, 1), got {self.keep_probability}"
            )
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ValueError(f"rise batch_size must be an integer >= 1, got {self.batch_size!r}")
        check_fill(self.fill, "rise")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rise(
    model: nn.Module,
    waveform: np.ndarray | torch.Tensor,
    targets: Sequence[int],
    settings: RiseSettings,
    generator: np.random.Generator,
    segment_samples: int = 3200,
    fill: np.ndarray | torch.Tensor | None = None,
) -> np.ndarray:
    """(k, n_segments) RISE score of every segment for each target class (dropped segments
    zeroed, or taken from `fill`)."""
    n_segments = whole_segments(int(np.asarray(waveform).reshape(-1).shape[0]), segment_samples)
    masks = segment_masks(settings.n_masks, n_segments, settings.keep_probability, generator)
    return _rise(model, waveform, targets, masks, settings, segment_samples, fill)


def _rise(
    model: nn.Module,
    waveform: np.ndarray | torch.Tensor,
    targets: Sequence[int],
    masks: np.ndarray,
    settings: RiseSettings,
    segment_samples: int = 3200,
    fill: np.ndarray | torch.Tensor | None = None,
) -> np.ndarray:
    """`rise` on the given (n_masks, n_segments) masks."""
    targets = [int(t) for t in targets]
    if any(not 0 <= t < N_CLASSES for t in targets):
        raise ValueError(f"targets must be class indices in [0, {N_CLASSES}), got {targets}")
    masks = np.asarray(masks, dtype=bool)
    if not targets:
        return np.zeros((0, masks.shape[1]))
    probabilities = masked_probabilities(
        model, waveform, masks, segment_samples, settings.batch_size, fill
    )
    scores = probabilities.detach().cpu().double().numpy()[:, targets]  # (n_masks, k)
    return scores.T @ masks.astype(np.float64) / (masks.shape[0] * settings.keep_probability)
