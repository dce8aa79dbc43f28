"""RISE: against an independent loop over the masks in float64, and a hand-computed case."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from support.explained import EQUIVALENCE_TARGETS, NARROW, assert_close, random_explained
from torch import nn

from igsed.core.constants import CLIP_SAMPLES, N_CLASSES
from igsed.methods.registry import IMPLEMENTATIONS, ClipInput, method_settings
from igsed.methods.rise import RiseSettings, _rise, rise
from igsed.methods.surrogate import segment_masks
from igsed.models.explained import ExplainedModel

SEGMENT = 3200


def _independent_rise(
    model: nn.Module, clip: np.ndarray, targets: tuple[int, ...], masks: np.ndarray, p: float
) -> np.ndarray:
    """sum_j F_c(x * M_j) M_j / (N p), one masked copy at a time."""
    total = np.zeros((len(targets), masks.shape[1]))
    for mask in masks:
        masked = np.where(np.repeat(mask, SEGMENT), clip, 0.0)
        with torch.no_grad():
            probabilities = model(torch.from_numpy(masked)[None])[0].numpy()
        total += np.outer(probabilities[list(targets)], mask)
    return total / (len(masks) * p)


def test_rise_equals_an_independent_loop_over_its_masks(
    narrow: ExplainedModel, clip: np.ndarray
) -> None:
    settings = RiseSettings(n_masks=12, keep_probability=0.3, batch_size=5)
    masks = segment_masks(12, clip.shape[0] // SEGMENT, 0.3, np.random.default_rng(4))
    ours = _rise(narrow, clip, EQUIVALENCE_TARGETS, masks, settings, SEGMENT)
    assert_close(_independent_rise(narrow, clip, EQUIVALENCE_TARGETS, masks, 0.3), ours)


class _LinearInMasks(nn.Module):
    """F_c(x) = sum_i w_ci * (mean of segment i of x) / n: on x = 1, linear in the mask."""

    def __init__(self, weights: torch.Tensor) -> None:
        super().__init__()
        self.weights = nn.Parameter(weights, requires_grad=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        segments = waveform.reshape(waveform.shape[0], -1, SEGMENT).mean(dim=2)
        return segments @ self.weights.T / segments.shape[1]


def test_every_mask_once_gives_the_expectation_by_hand() -> None:
    """With all 2^n masks at p = 1/2, S_c(i) = (w_ci + p sum_(j != i) w_cj) / n exactly."""
    n = 4
    weights = torch.arange(N_CLASSES * n, dtype=torch.float64).reshape(N_CLASSES, n) / 10
    model = _LinearInMasks(weights)
    masks = np.array(list(itertools.product([False, True], repeat=n)))
    settings = RiseSettings(n_masks=len(masks), keep_probability=0.5, batch_size=3)
    ours = _rise(model, np.ones(n * SEGMENT), (1, 7), masks, settings, SEGMENT)
    w = weights.numpy()[[1, 7]]
    expected = (w + 0.5 * (w.sum(axis=1, keepdims=True) - w)) / n
    np.testing.assert_allclose(ours, expected, rtol=1e-12)


def test_the_pipeline_draws_seeded_masks_per_clip() -> None:
    waveform = (0.1 * np.random.default_rng(0).standard_normal(CLIP_SAMPLES)).astype(np.float32)
    compute = IMPLEMENTATIONS["rise"].compute
    settings = method_settings("rise", {"n_masks": 4, "batch_size": 4})
    model = random_explained(NARROW, seed=6)
    first = compute(model, ClipInput("test_00001", waveform, (0, 3)), settings).scores
    again = compute(model, ClipInput("test_00001", waveform, (0, 3)), settings).scores
    other = compute(model, ClipInput("test_00002", waveform, (0, 3)), settings).scores
    assert first.shape == (2, 100) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_bad_settings_and_targets_are_refused() -> None:
    for bad, message in (
        ({"n_masks": 0}, "n_masks must be an integer >= 1"),
        ({"keep_probability": 1.0}, r"keep_probability must be in \(0, 1\)"),
        ({"keep_probability": float("nan")}, "keep_probability"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ):
        with pytest.raises(ValueError, match=message):
            RiseSettings(**bad)
    with pytest.raises(ValueError, match="targets must be class indices"):
        rise(
            _LinearInMasks(torch.ones(10, 2)),
            np.ones(2 * SEGMENT),
            [10],
            RiseSettings(),
            np.random.default_rng(0),
        )


def test_a_clip_that_is_not_whole_segments_is_refused() -> None:
    waveform = np.zeros(1001, dtype=np.float32)
    with pytest.raises(ValueError, match="1001 samples are not a whole number of 100-sample"):
        rise(None, waveform, (0,), RiseSettings(n_masks=2), np.random.default_rng(0), 100)
