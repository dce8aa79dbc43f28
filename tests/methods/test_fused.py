"""The fused IG engine computes Captum's integral: same nodes, weights, attributions, delta.

The equivalence tests run both engines in float64, where the only difference between them
is rounding (Captum casts its quadrature weights to float32, ~1e-8 relative). In float32 a
second effect appears: a ReLU whose pre-activation lies within rounding of zero at some
step switches on in one engine and off in the other, and moves that step's gradient by up
to ~1e-3 relative. Captum run in float32 against itself in float64 shows the same jumps,
so the float32 test bounds the agreement at that noise level (see docs/performance.md).
The float64 tests are the equivalence tests (1e-6, far inside the required 1e-4).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients
from captum.attr._utils.approximation_methods import approximation_parameters
from support.explained import (  # one_torch_thread: an autouse fixture
    NARROW,
    burst_clip,
    one_torch_thread,  # noqa: F401
    random_explained,
)
from torch import nn

from igsed.core.constants import CLIP_SAMPLES, SAMPLE_RATE
from igsed.methods.engines import ENGINES, attribute_clip
from igsed.methods.fused import (
    FusedOptions,
    batch_steps,
    fused_attributions,
    inference_network,
    quadrature,
    step_memory_bytes,
)
from igsed.methods.ig import ENGINE_NAMES, IG_METHODS, IGSettings
from igsed.models.cnn14 import Cnn14
from igsed.models.explained import ExplainedModel
from igsed.models.heads import make_head

SHORTEST = 10_240  # 0.32 s: 33 STFT frames, the fewest CNN14's five 2x2 poolings accept


def _captum(
    model: nn.Module, waveform: torch.Tensor, target: int, n_steps: int, method: str
) -> tuple[np.ndarray, float]:
    """Captum's IntegratedGradients, called directly (works in the model's dtype)."""
    batch = waveform.reshape(1, -1)
    attribution, delta = IntegratedGradients(model).attribute(
        batch,
        baselines=torch.zeros_like(batch),
        target=target,
        n_steps=n_steps,
        method=method,
        internal_batch_size=n_steps,
        return_convergence_delta=True,
    )
    return attribution.reshape(-1).numpy(), float(delta.reshape(-1)[0])


def _relative_l2(reference: np.ndarray, other: np.ndarray) -> float:
    reference = np.asarray(reference, dtype=np.float64)
    return float(np.linalg.norm(np.asarray(other, np.float64) - reference)) / float(
        np.linalg.norm(reference)
    )


@pytest.mark.parametrize("method", IG_METHODS)
def test_quadrature_is_captums(method: str) -> None:
    # Computed without Captum (its import costs start-up), equal to Captum's bit for bit.
    steps_of, alphas_of = approximation_parameters(method)
    for n_steps in (1, 2, 7, 50, 64, 101) if method == "gausslegendre" else (2, 7, 50, 64, 101):
        alphas, weights = quadrature(method, n_steps)
        assert alphas.tolist() == alphas_of(n_steps)
        assert weights.tolist() == steps_of(n_steps)


def test_power_spectrogram_is_quadratic_in_the_waveform() -> None:
    model = random_explained(NARROW, seed=0, dtype=torch.float64)
    x = torch.from_numpy(burst_clip(SAMPLE_RATE, seed=1)).double()[None]
    power = model.power_spectrogram(x)
    probe = torch.randn(
        power.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2)
    )
    for alpha in (0.01, 0.37, 1.0):
        scaled = (alpha * x).requires_grad_(True)
        power_scaled = model.power_spectrogram(scaled)
        torch.testing.assert_close(power_scaled, alpha**2 * power, rtol=1e-10, atol=1e-18)
        # J_P(alpha x)^T v = alpha J_P(x)^T v: the identity the fused engine relies on.
        (at_scaled,) = torch.autograd.grad(power_scaled, scaled, probe)
        unscaled = x.clone().requires_grad_(True)
        (at_x,) = torch.autograd.grad(model.power_spectrogram(unscaled), unscaled, probe)
        torch.testing.assert_close(at_scaled, alpha * at_x, rtol=1e-10, atol=1e-14)


def _assert_equivalent(
    model: ExplainedModel,
    waveform: torch.Tensor,
    targets: list[int],
    settings: IGSettings,
    variants: list[FusedOptions],
    rtol: float,
) -> None:
    """Every fused variant matches Captum (attributions, delta, F(x), F(0)) on every target."""
    fused = [fused_attributions(model, waveform, targets, settings, o) for o in variants]
    with torch.no_grad():
        ends = model(torch.stack([waveform, torch.zeros_like(waveform)]))
    for index, target in enumerate(targets):
        reference, reference_delta = _captum(
            model, waveform, target, settings.n_steps, settings.method
        )
        gap = float(ends[0, target] - ends[1, target])
        # The path must move the score, or the comparison would be between two zeros.
        assert abs(gap) > 0.2
        for results in fused:
            result = results[index]
            assert result.f_input == pytest.approx(float(ends[0, target]), abs=1e-12)
            assert result.f_baseline == pytest.approx(float(ends[1, target]), abs=1e-12)
            assert _relative_l2(reference, result.attribution) < rtol
            assert result.convergence_delta == pytest.approx(reference_delta, abs=1e-6 * abs(gap))


def test_fused_matches_captum_on_the_default_width_over_ten_seconds() -> None:
    clip = burst_clip(CLIP_SAMPLES, seed=4)
    model = random_explained(NARROW, seed=3, dtype=torch.float64, calibrate_on=clip)
    _assert_equivalent(
        model,
        torch.from_numpy(clip).double(),
        [2, 5],
        IGSettings(n_steps=4, method="gausslegendre", engine="fused"),
        [FusedOptions(max_batch_steps=3), FusedOptions(optimize_network=False)],
        rtol=1e-6,
    )


@pytest.mark.full_width
def test_fused_matches_captum_on_full_width_cnn14() -> None:
    clip = burst_clip(SHORTEST, seed=6)
    model = random_explained(1.0, seed=5, dtype=torch.float64, calibrate_on=clip)
    _assert_equivalent(
        model,
        torch.from_numpy(clip).double(),
        [1, 8],
        IGSettings(n_steps=2, method="riemann_trapezoid", engine="fused"),
        [FusedOptions()],
        rtol=1e-6,
    )


def test_float32_engines_agree_through_attribute_clip() -> None:
    waveform = burst_clip(CLIP_SAMPLES, seed=8)
    model = random_explained(NARROW, seed=7, calibrate_on=waveform)
    targets = [0, 6]
    captum = attribute_clip(model, waveform, targets, IGSettings(n_steps=5, engine="captum"))
    fused = attribute_clip(model, waveform, targets, IGSettings(n_steps=5, engine="fused"))
    for reference, result in zip(captum, fused, strict=True):
        assert result.attribution.dtype == np.float32
        assert result.attribution.shape == (CLIP_SAMPLES,)
        assert result.f_input == reference.f_input
        assert result.f_baseline == reference.f_baseline
        # Float32 rounding noise: over 12 such instances at 5 steps, fused vs Captum differed
        # by 6e-6..1.0e-3 (median 9e-5), Captum vs Captum in float64 by 6e-6..9.9e-4.
        assert _relative_l2(reference.attribution, result.attribution) < 3e-3
        scale = abs(reference.f_input - reference.f_baseline) + abs(reference.convergence_delta)
        assert result.convergence_delta == pytest.approx(
            reference.convergence_delta, abs=1e-3 * scale
        )


def test_step_batches_follow_the_memory_budget() -> None:
    model = random_explained(NARROW, seed=9, dtype=torch.float64)
    waveform = torch.from_numpy(burst_clip(SHORTEST, seed=10)).double()
    settings = IGSettings(n_steps=5, engine="fused")
    network = inference_network(model)
    # BatchNorm after each convolution folded away (bn0 acts on the log-mel, not a conv).
    assert sum(isinstance(m, nn.BatchNorm2d) for m in network.modules()) == 1
    convolutions = [m for m in network.modules() if isinstance(m, nn.Conv2d)]
    assert len(convolutions) == 12
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convolutions)
    power = model.power_spectrogram(waveform[None])
    per_step = step_memory_bytes(network, power)
    assert per_step > power.numel() * power.element_size()
    tiny = FusedOptions(memory_budget_mb=per_step / 2**20)
    assert batch_steps(network, power, 5, 2, tiny) == 1
    assert batch_steps(network, power, 5, 2, FusedOptions()) == 5
    assert batch_steps(network, power, 5, 2, FusedOptions(max_batch_steps=3)) == 3
    one_by_one = fused_attributions(model, waveform, [3, 4], settings, tiny)
    whole = fused_attributions(model, waveform, [3, 4], settings)
    for a, b in zip(one_by_one, whole, strict=True):
        assert _relative_l2(b.attribution, a.attribution) < 1e-10


def test_full_width_ten_second_batches_fit_eight_gigabytes() -> None:
    # Shapes only: the meta device runs the forward without memory or arithmetic.
    with torch.device("meta"):
        backbone = Cnn14(width=1.0)
        model = ExplainedModel(backbone, make_head("clip", backbone, "max")).eval()
        power = torch.empty(1, 1, CLIP_SAMPLES // 320 + 1, 513)
    # Unfolded BatchNorm keeps more activations: an upper bound on the folded network's.
    network = inference_network(model, optimize=False)
    per_step = step_memory_bytes(network, power)
    assert 100 * 2**20 < per_step < 2 * 2**30  # ~0.4 GB of saved activations per step
    options = FusedOptions()
    steps = batch_steps(network, power, 50, 3, options)
    assert steps >= 2
    weights = sum(p.numel() * 4 for p in model.parameters())
    # One batch, two copies of the weights (model + folded copy) and the interpreter's ~1 GB.
    assert steps * per_step * 1.5 + 2 * weights + 2**30 < 8 * 2**30
    assert steps * per_step * 1.5 <= options.memory_budget_mb * 2**20


def test_edited_weights_are_seen_by_the_next_call() -> None:
    clip = burst_clip(SHORTEST, seed=12)
    model = random_explained(NARROW, seed=11, dtype=torch.float64, calibrate_on=clip)
    waveform = torch.from_numpy(clip).double()
    settings = IGSettings(n_steps=2, engine="fused")
    (before,) = fused_attributions(model, waveform, [4], settings)
    with torch.no_grad():
        model.head.linear.weight[4] *= 0.5
        model.head.linear.bias[4] *= 0.5
    (after,) = fused_attributions(model, waveform, [4], settings)
    reference, _ = _captum(model, waveform, 4, 2, "gausslegendre")
    assert _relative_l2(reference, after.attribution) < 1e-6
    assert _relative_l2(before.attribution, after.attribution) > 0.05


class _WaveformOnly(nn.Module):
    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(waveform.mean(dim=1, keepdim=True))


def test_clear_errors() -> None:
    assert tuple(ENGINES) == ENGINE_NAMES and "fused" in ENGINES
    waveform = np.zeros(SHORTEST, dtype=np.float32)
    settings = IGSettings(n_steps=2, engine="fused")
    with pytest.raises(TypeError, match="declaring the 'power_split' capability"):
        fused_attributions(_WaveformOnly(), waveform, [0], settings)
    # Through the engine table, such a model takes the autograd path instead.
    assert len(attribute_clip(_WaveformOnly(), waveform, [0], settings)) == 1
    model = random_explained(1 / 32, seed=13)
    with pytest.raises(ValueError, match="out of range"):
        fused_attributions(model, waveform, [10], settings)
    with pytest.raises(ValueError, match="n_steps"):
        fused_attributions(model, waveform, [0], IGSettings(n_steps=1, method="riemann_left"))
    with pytest.raises(ValueError, match="memory_budget_mb"):
        FusedOptions(memory_budget_mb=0)
    model.train()
    with pytest.raises(ValueError, match="eval mode"):
        fused_attributions(model, waveform, [0], settings)
    assert fused_attributions(model.eval(), waveform, [], settings) == []
    assert math.isfinite(fused_attributions(model, waveform, [0], settings)[0].f_input)


def test_config_memory_budget_reaches_the_fused_engine(caplog: pytest.LogCaptureFixture) -> None:
    model = random_explained(NARROW, seed=14)
    waveform = burst_clip(SHORTEST, seed=15)
    power = model.power_spectrogram(torch.from_numpy(waveform)[None])
    one_step_mb = step_memory_bytes(inference_network(model), power) / 2**20
    settings = IGSettings(n_steps=3, engine="fused", memory_budget_mb=one_step_mb)
    with caplog.at_level("INFO", logger="igsed.methods.fused"):
        attribute_clip(model, waveform, [1], settings)
    assert "(3 steps, gausslegendre, 1 steps per batch)" in caplog.text
    with pytest.raises(ValueError, match="memory_budget_mb must be > 0"):
        attribute_clip(model, waveform, [1], IGSettings(engine="fused", memory_budget_mb=0))
