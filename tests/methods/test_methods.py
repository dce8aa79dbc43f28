"""The attribution methods beyond IG against their Captum counterparts, in float64.

Each method computes all attributed classes from shared forwards; Captum runs one target per
call. Where Captum draws random numbers, the test replays Captum's draws (same seeds, same
calls in the same order) and hands them to the method's private function.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import (
    GradientShap,
    InputXGradient,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from support.explained import (  # one_torch_thread: an autouse fixture
    EQUIVALENCE_SAMPLES,
    EQUIVALENCE_TARGETS,
    assert_close,
    one_torch_thread,  # noqa: F401
)

from igsed.methods.gradients import (
    NoiseSettings,
    _gradient_shap,
    _smoothgrad,
    class_gradients,
    gradient_shap,
    input_x_gradient,
    saliency,
    smoothgrad,
)
from igsed.methods.layer import block_frame_seconds, gradcam, gradcam_maps
from igsed.methods.perturbation import occluded_copies, occlusion
from igsed.models.explained import ExplainedModel

N_SAMPLES = EQUIVALENCE_SAMPLES
FRAME = 3_200
TARGETS = EQUIVALENCE_TARGETS


def _batch(clip: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(clip).reshape(1, -1)


def test_saliency_is_captums(model: ExplainedModel, clip: np.ndarray) -> None:
    ours = saliency(model, clip, TARGETS)
    for row, target in enumerate(TARGETS):
        assert_close(Saliency(model).attribute(_batch(clip), target=target), ours[row])


def test_input_x_gradient_is_captums(model: ExplainedModel, clip: np.ndarray) -> None:
    ours = input_x_gradient(model, clip, TARGETS)
    for row, target in enumerate(TARGETS):
        assert_close(InputXGradient(model).attribute(_batch(clip), target=target), ours[row])


def test_smoothgrad_with_captums_draws_is_captums(model: ExplainedModel, clip: np.ndarray) -> None:
    n_samples, std = 4, 0.05
    torch.manual_seed(11)
    # NoiseTunnel's one draw for a batch of one input: torch.normal over (n_samples, N).
    noise = torch.normal(0, torch.tensor(std).repeat((n_samples, N_SAMPLES)))
    ours = _smoothgrad(model, _batch(clip), TARGETS, noise, batch_size=3)
    for row, target in enumerate(TARGETS):
        torch.manual_seed(11)
        reference = NoiseTunnel(Saliency(model)).attribute(
            _batch(clip), nt_type="smoothgrad", nt_samples=n_samples, stdevs=std, target=target
        )
        assert_close(reference, ours[row])


def test_gradient_shap_with_captums_draws_is_captums(
    model: ExplainedModel, clip: np.ndarray
) -> None:
    n_samples = 5
    generator = torch.Generator().manual_seed(4)
    baselines = torch.cat(
        [
            torch.zeros(1, N_SAMPLES, dtype=torch.float64),
            0.01 * torch.randn(3, N_SAMPLES, generator=generator, dtype=torch.float64),
        ]
    )
    # GradientShap's draws: numpy picks the baselines, then numpy draws the path points.
    np.random.seed(8)
    chosen = baselines[np.random.choice(len(baselines), n_samples).tolist()]
    alphas = torch.from_numpy(np.random.uniform(0.0, 1.0, n_samples))
    ours = _gradient_shap(model, _batch(clip), TARGETS, chosen, alphas, batch_size=2)
    for row, target in enumerate(TARGETS):
        np.random.seed(8)
        torch.manual_seed(8)
        reference = GradientShap(model).attribute(
            _batch(clip), baselines=baselines, n_samples=n_samples, stdevs=0.0, target=target
        )
        assert_close(reference, ours[row])


def test_occlusion_is_captums(model: ExplainedModel, clip: np.ndarray) -> None:
    ours = occlusion(model, clip, FRAME, batch_size=4)
    assert ours.shape == (10, N_SAMPLES // FRAME)
    for target in TARGETS:
        reference = Occlusion(model).attribute(
            _batch(clip),
            sliding_window_shapes=(FRAME,),
            strides=(FRAME,),
            baselines=0.0,
            target=target,
        )
        # Captum spreads each window's score over its samples; one sample per frame suffices.
        assert_close(reference.reshape(-1)[::FRAME], ours[target])


@pytest.mark.parametrize("layer", ["conv_block6", "conv_block4"])
def test_gradcam_is_captums(model: ExplainedModel, clip: np.ndarray, layer: str) -> None:
    maps = gradcam_maps(model, clip, TARGETS, layer)
    for row, target in enumerate(TARGETS):
        reference = LayerGradCam(model, getattr(model.backbone, layer)).attribute(
            _batch(clip), target=target, relu_attributions=True
        )
        assert_close(reference, maps[row])
    np.testing.assert_allclose(gradcam(model, clip, TARGETS, layer), maps.mean(axis=2))


def test_block_frame_seconds() -> None:
    assert block_frame_seconds("conv_block6") == pytest.approx(0.32)
    assert block_frame_seconds("conv_block4") == pytest.approx(0.16)
    with pytest.raises(ValueError, match="conv_block7"):
        block_frame_seconds("conv_block7")


def test_one_forward_serves_every_class(narrow: ExplainedModel, clip: np.ndarray) -> None:
    calls = []
    front_end = narrow.power_spectrogram
    narrow.power_spectrogram = lambda x: calls.append(x.shape) or front_end(x)  # type: ignore[method-assign]
    try:
        points = _batch(clip).repeat(3, 1)
        grads = class_gradients(narrow, points, [0, 3, 7], batch_size=3)
    finally:
        del narrow.power_spectrogram
    assert calls == [(3, N_SAMPLES)] and grads.shape == (3, 3, N_SAMPLES)


def test_occluded_copies_zero_one_frame_each() -> None:
    x = torch.arange(1, 13, dtype=torch.float64).reshape(1, -1)
    copies = occluded_copies(x, 4)
    assert copies.tolist() == [
        [0, 0, 0, 0, 5, 6, 7, 8, 9, 10, 11, 12],
        [1, 2, 3, 4, 0, 0, 0, 0, 9, 10, 11, 12],
        [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0],
    ]
    with pytest.raises(ValueError, match="whole number"):
        occluded_copies(x, 5)


def test_seeded_sampling_methods_repeat_and_differ_by_seed(
    narrow: ExplainedModel, clip: np.ndarray
) -> None:
    settings = NoiseSettings(n_samples=2, noise_fraction=0.1, batch_size=2)
    for method in (smoothgrad, gradient_shap):
        first = method(narrow, clip, TARGETS, settings, torch.Generator().manual_seed(1))
        again = method(narrow, clip, TARGETS, settings, torch.Generator().manual_seed(1))
        other = method(narrow, clip, TARGETS, settings, torch.Generator().manual_seed(2))
        np.testing.assert_array_equal(first, again)
        assert not np.array_equal(first, other)
        assert first.shape == (len(TARGETS), N_SAMPLES)
