"""Integrated Gradients on the waveform: completeness, class separation, settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.ig import captum_ig
from torch import nn

from igsed.methods.engines import attribute_clip
from igsed.methods.frames import frame_magnitude
from igsed.methods.ig import (
    IG_METHODS,
    IGSettings,
)
from igsed.models.cnn14 import Cnn14
from igsed.models.explained import ExplainedModel
from igsed.models.heads import make_head

torch.set_num_threads(2)


class TinyClassifier(nn.Module):
    """Strided conv, squared activations averaged over time (an energy-like feature), sigmoid."""

    def __init__(self, n_classes: int = 10, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.conv = nn.Conv1d(1, 8, kernel_size=64, stride=32)
        self.head = nn.Linear(8, n_classes)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=generator) * 0.1)
            self.conv.bias.zero_()
            self.head.weight.copy_(torch.randn(self.head.weight.shape, generator=generator) * 3)
            self.head.bias.copy_(torch.randn(self.head.bias.shape, generator=generator) * 0.1)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        features = torch.tanh(self.conv(waveform[:, None, :])).square().mean(dim=-1)
        return torch.sigmoid(self.head(features))


def _waveform(n_samples: int, seed: int = 1, scale: float = 1.0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy((rng.standard_normal(n_samples) * scale).astype(np.float32))


@pytest.fixture(scope="module")
def tiny_model() -> TinyClassifier:
    return TinyClassifier().eval()


def test_completeness_on_smooth_model(tiny_model: TinyClassifier) -> None:
    waveform = _waveform(3200)
    for target in (0, 3, 7):
        attribution, delta, f_input, f_baseline = captum_ig(
            tiny_model, waveform, target, n_steps=50
        )
        assert attribution.shape == (3200,) and attribution.dtype == np.float32
        with torch.no_grad():
            expected = tiny_model(torch.stack([waveform, torch.zeros(3200)]))[:, target]
        assert f_input == pytest.approx(float(expected[0]), abs=1e-6)
        assert f_baseline == pytest.approx(float(expected[1]), abs=1e-6)
        # The path has to move the score, or completeness would hold trivially.
        assert abs(f_input - f_baseline) > 0.05
        gap = float(attribution.sum(dtype=np.float64)) - (f_input - f_baseline)
        assert gap == pytest.approx(delta, abs=1e-5)
        assert abs(gap) < 1e-3 * abs(f_input - f_baseline)


@pytest.mark.parametrize("method", IG_METHODS)
def test_every_captum_method_converges(tiny_model: TinyClassifier, method: str) -> None:
    waveform = _waveform(3200, seed=2)
    attribution, delta, f_input, f_baseline = captum_ig(
        tiny_model, waveform, 1, n_steps=40, method=method, internal_batch_size=7
    )
    # Captum's riemann_trapezoid weights sum to (n - 1) / n, so it carries a -1/n bias.
    tolerance = 1e-3 if method in ("gausslegendre", "riemann_middle") else 1.2 / 40
    assert abs(delta) < tolerance * abs(f_input - f_baseline)
    assert float(attribution.sum()) - (f_input - f_baseline) == pytest.approx(delta, abs=1e-5)


def test_internal_batch_size_does_not_change_attributions(tiny_model: TinyClassifier) -> None:
    waveform = _waveform(3200, seed=3)
    whole, *_ = captum_ig(tiny_model, waveform, 2, n_steps=20, internal_batch_size=20)
    split, *_ = captum_ig(tiny_model, waveform, 2, n_steps=20, internal_batch_size=3)
    np.testing.assert_allclose(split, whole, rtol=1e-4, atol=1e-9)


def _explained_cnn14(width: float) -> ExplainedModel:
    torch.manual_seed(0)
    backbone = Cnn14(width=width)
    return ExplainedModel(backbone, make_head("clip", backbone, "max")).eval()


def test_completeness_delta_on_cnn14() -> None:
    model = _explained_cnn14(1 / 16)
    waveform = _waveform(32_000, seed=4, scale=0.1)
    attribution, delta, f_input, f_baseline = captum_ig(
        model, waveform, 5, n_steps=50, internal_batch_size=25
    )
    assert attribution.shape == (32_000,)
    assert np.all(np.isfinite(attribution))
    assert np.any(attribution != 0)
    gap = float(attribution.sum(dtype=np.float64)) - (f_input - f_baseline)
    assert gap == pytest.approx(delta, abs=1e-5)
    with torch.no_grad():
        assert f_input == pytest.approx(float(model(waveform[None])[0, 5]), abs=1e-6)


def test_cnn14_attributions_ignore_other_output_rows() -> None:
    model = _explained_cnn14(1 / 16)
    waveform = _waveform(16_000, seed=7, scale=0.1)
    reference, *_ = captum_ig(model, waveform, 2, n_steps=6, internal_batch_size=6)
    with torch.no_grad():
        model.head.linear.weight[[0, 9]] *= 5.0
    altered, *_ = captum_ig(model, waveform, 2, n_steps=6, internal_batch_size=6)
    np.testing.assert_allclose(altered, reference, rtol=1e-6, atol=1e-12)


def test_attributions_depend_only_on_the_explained_class(tiny_model: TinyClassifier) -> None:
    waveform = _waveform(3200, seed=5)
    reference, *_ = captum_ig(tiny_model, waveform, 4, n_steps=20)
    altered = TinyClassifier().eval()
    with torch.no_grad():
        altered.head.weight[[0, 6, 9]] *= -3.0
        altered.head.bias[[0, 6, 9]] += 1.0
    other_rows_changed, *_ = captum_ig(altered, waveform, 4, n_steps=20)
    np.testing.assert_allclose(other_rows_changed, reference, rtol=1e-6, atol=0)
    with torch.no_grad():
        altered.head.weight[4] *= -1.0
    target_row_changed, *_ = captum_ig(altered, waveform, 4, n_steps=20)
    assert not np.allclose(target_row_changed, reference, rtol=1e-3, atol=0)


def test_attribute_clip_matches_single_target_calls(tiny_model: TinyClassifier) -> None:
    waveform = _waveform(3200, seed=6)
    settings = IGSettings(
        n_steps=16, method="riemann_middle", internal_batch_size=8, engine="captum"
    )
    results = attribute_clip(tiny_model, waveform, [8, 2], settings)
    assert [r.attribution.shape for r in results] == [(3200,), (3200,)]
    for result, target in zip(results, [8, 2], strict=True):
        attribution, delta, f_input, f_baseline = captum_ig(
            tiny_model, waveform, target, n_steps=16, method="riemann_middle", internal_batch_size=8
        )
        np.testing.assert_allclose(result.attribution, attribution, rtol=1e-6, atol=1e-12)
        assert result.convergence_delta == pytest.approx(delta, abs=1e-7)
        assert (result.f_input, result.f_baseline) == pytest.approx((f_input, f_baseline))
    assert attribute_clip(tiny_model, waveform, [], settings) == []


def test_invalid_settings_name_the_allowed_values(tiny_model: TinyClassifier) -> None:
    waveform = _waveform(3200)
    with pytest.raises(ValueError, match="riemann_trapezoid") as excinfo:
        captum_ig(tiny_model, waveform, 0, method="simpson")
    assert "simpson" in str(excinfo.value)
    with pytest.raises(ValueError, match="captum"):
        attribute_clip(tiny_model, waveform, [0], IGSettings(engine="turbo"))
    with pytest.raises(ValueError, match="n_steps"):
        captum_ig(tiny_model, waveform, 0, n_steps=1, method="riemann_left")
    with pytest.raises(ValueError, match="internal_batch_size"):
        captum_ig(tiny_model, waveform, 0, internal_batch_size=0)
    with pytest.raises(ValueError, match="1-D"):
        captum_ig(tiny_model, waveform[None, :], 0)


def test_frame_magnitude_averages_absolute_values_per_frame() -> None:
    signal = np.concatenate([np.full(4, -2.0), np.array([1.0, -1.0, 3.0, -3.0]), np.zeros(4)])
    np.testing.assert_allclose(frame_magnitude(signal, frame_samples=4, n_frames=3), [2, 2, 0])
    default = frame_magnitude(np.ones(320_000, dtype=np.float32))
    assert default.shape == (100,) and default.dtype == np.float32
    with pytest.raises(ValueError, match="320000"):
        frame_magnitude(np.ones(319_999))
