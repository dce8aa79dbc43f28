"""Fills of the perturbation methods: the noise floor by hand, the noise seeded per clip,
occlusion with a fill against Captum's baseline in float64 (CNN14 and a model without its
shortcuts), RISE and the surrogate against independent code on filled copies."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import Occlusion
from support.explained import EQUIVALENCE_TARGETS, assert_close

from igsed.methods.fills import fill_waveform, noise_floor
from igsed.methods.perturbation import occlusion
from igsed.methods.registry import ClipInput, implementation, method_settings
from igsed.methods.rise import RiseSettings, _rise
from igsed.methods.surrogate import (
    SurrogateSettings,
    _kernel_shap_fit,
    _surrogate,
    log_odds,
    segment_masks,
    shapley_masks,
)
from igsed.models.classifier import Classifier
from igsed.models.explained import ExplainedModel

FRAME = 3_200


def test_the_noise_floor_by_hand() -> None:
    # Ten frames of constant amplitude 1..10 (RMS 1..10, in shuffled order): numpy's 10th
    # percentile of 1..10 interpolates to 1.9.
    amplitudes = np.array([7, 1, 4, 10, 2, 9, 3, 8, 6, 5], dtype=np.float64)
    clip = np.repeat(amplitudes, FRAME) * np.tile([1.0, -1.0], 5 * FRAME)
    assert noise_floor(clip, FRAME) == pytest.approx(1.9)
    with pytest.raises(ValueError, match="no 3200-sample frame"):
        noise_floor(np.zeros(100), FRAME)


def test_the_noise_fill_is_seeded_by_the_clip_alone() -> None:
    clip = np.random.default_rng(0).standard_normal(10 * FRAME).astype(np.float32)
    assert fill_waveform(clip, "a", "zero") is None
    noise = fill_waveform(clip, "a", "noise")
    assert noise is not None and noise.dtype == np.float32 and noise.shape == clip.shape
    np.testing.assert_array_equal(noise, fill_waveform(clip, "a", "noise"))
    assert not np.array_equal(noise, fill_waveform(clip, "b", "noise"))
    assert noise.std() == pytest.approx(noise_floor(clip), rel=0.02)
    with pytest.raises(ValueError, match="fill 'pink'; allowed: zero, noise"):
        fill_waveform(clip, "a", "pink")
    with pytest.raises(ValueError, match="occlusion fill 'pink'"):
        method_settings("occlusion", {"batch_size": 4, "fill": "pink"})


class _Functional(Classifier):
    """The same CNN14 without its declared shortcuts: every copy goes through forward."""

    def __init__(self, model: ExplainedModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.model(waveform)


@pytest.mark.parametrize("shortcuts", [True, False], ids=["cnn14", "no shortcuts"])
def test_occlusion_with_a_fill_is_captums_with_that_baseline(
    narrow: ExplainedModel, clip: np.ndarray, shortcuts: bool
) -> None:
    model = narrow if shortcuts else _Functional(narrow)
    fill = 0.01 * np.random.default_rng(5).standard_normal(clip.shape)
    ours = occlusion(model, clip, FRAME, batch_size=4, fill=fill)
    for target in EQUIVALENCE_TARGETS:
        reference = Occlusion(narrow).attribute(
            torch.from_numpy(clip)[None],
            sliding_window_shapes=(FRAME,),
            strides=(FRAME,),
            baselines=torch.from_numpy(fill)[None],
            target=target,
        )
        assert_close(reference.reshape(-1)[::FRAME], ours[target])


def _filled(clip: np.ndarray, fill: np.ndarray, mask: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.where(np.repeat(mask, FRAME), clip, fill))[None]


def test_rise_and_the_surrogate_put_the_fill_where_they_drop(
    narrow: ExplainedModel, clip: np.ndarray
) -> None:
    fill = 0.01 * np.random.default_rng(6).standard_normal(clip.shape)
    n_segments = clip.shape[0] // FRAME
    masks = segment_masks(8, n_segments, 0.5, np.random.default_rng(2))
    with torch.no_grad():
        probabilities = np.stack([narrow(_filled(clip, fill, m))[0].numpy() for m in masks])
    targets = list(EQUIVALENCE_TARGETS)
    expected = probabilities[:, targets].T @ masks / (len(masks) * 0.5)
    ours = _rise(narrow, clip, targets, masks, RiseSettings(n_masks=8, batch_size=3), FRAME, fill)
    assert_close(expected, ours)
    masks = shapley_masks(10, n_segments, np.random.default_rng(3))
    with torch.no_grad():
        odds = np.stack([log_odds(narrow(_filled(clip, fill, m))[0]).numpy() for m in masks])
    settings = SurrogateSettings(n_masks=10, batch_size=4)
    ours = _surrogate(narrow, clip, targets, masks, settings, FRAME, 0, fill)
    assert_close(_kernel_shap_fit(masks, odds[:, targets]), ours)


def test_the_registry_fills_with_the_clips_noise(narrow: ExplainedModel, clip: np.ndarray) -> None:
    """Through the registry, fill noise gives other scores than zero (a 1 s clip: 10 frames)."""
    method = implementation("occlusion")
    item = ClipInput("c", clip, (0,))
    zero = method.compute(narrow, item, method_settings("occlusion", {"batch_size": 5}))
    noisy = method.compute(
        narrow, item, method_settings("occlusion", {"batch_size": 5, "fill": "noise"})
    )
    expected = occlusion(narrow, clip, FRAME, 5, fill_waveform(clip, "c", "noise"))[0]
    np.testing.assert_allclose(noisy.scores[0, :10], expected.astype(np.float32))
    assert not np.allclose(zero.scores, noisy.scores)
