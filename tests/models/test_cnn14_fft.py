"""CNN14's FFT front end equals PANNs' conv1d DFT (support.dft_reference) it replaced.

Values and waveform gradients of power_spectrogram, occluded_power and masked_power agree
within 1e-10 of the reference's largest magnitude in float64, on white noise and on a
synthetic soundscape with digital silence; and a state dict with other DFT kernels than
PANNs' is refused, since the FFT never reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from support.dft_reference import ConvDftCnn14, panns_dft_kernels

from igsed.core.constants import SAMPLE_RATE
from igsed.models.cnn14 import Cnn14, load_backbone, save_backbone
from igsed.soundbank.synthetic import generate_background, generate_event

torch.set_num_threads(1)

SECONDS = 2
N_SAMPLES = SECONDS * SAMPLE_RATE
FLOAT64_TOLERANCE = 1e-10
SPANS = [(0, 3200), (100, 101), (30_000, 36_400), (N_SAMPLES - 3200, N_SAMPLES)]


def _noise() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return 0.1 * torch.randn(1, N_SAMPLES, generator=generator, dtype=torch.float64)


def _soundscape() -> torch.Tensor:
    """Room background, a speech and a dog event, and 0.3 s of digital silence."""
    rng = np.random.default_rng(3)
    audio = generate_background(rng, SECONDS, SAMPLE_RATE).astype(np.float64)
    for label, at in (("Speech", 4_000), ("Dog", 35_000)):
        event = generate_event(label, rng, SAMPLE_RATE)[: N_SAMPLES - at]
        audio[at : at + event.size] += event
    audio[20_000:29_600] = 0.0
    return torch.from_numpy(audio)[None]


WAVEFORMS = {"noise": _noise, "soundscape": _soundscape}


def _models() -> tuple[Cnn14, ConvDftCnn14]:
    fft = Cnn14(width=1 / 16, n_classes=10).double().eval()
    reference = ConvDftCnn14(width=1 / 16, n_classes=10).double().eval()
    reference.load_state_dict(fft.state_dict())
    return fft, reference.exact_kernels()


def _keep() -> torch.Tensor:
    keep = torch.from_numpy(np.random.default_rng(1).random((5, 20)) < 0.5)
    keep[0], keep[1] = True, False
    keep[2, 0], keep[3, -1] = False, False  # the reflect padding at both ends
    return keep


PowerOf = Callable[[Cnn14, torch.Tensor], torch.Tensor]
POWERS: dict[str, PowerOf] = {
    "power_spectrogram": lambda model, x: model.power_spectrogram(x.repeat(2, 1)),
    "occluded_power": lambda model, x: model.occluded_power(x, SPANS),
    "masked_power": lambda model, x: model.masked_power(x, _keep()),
}


def _relative(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return float((ours - reference).abs().max() / reference.abs().max())


@pytest.mark.parametrize("power", POWERS, ids=list(POWERS))
@pytest.mark.parametrize("waveform", WAVEFORMS, ids=list(WAVEFORMS))
def test_fft_power_and_its_gradient_equal_the_conv1d_dft(power: str, waveform: str) -> None:
    fft, reference = _models()
    x = WAVEFORMS[waveform]()
    results = []
    for model in (fft, reference):
        leaf = x.clone().requires_grad_(True)
        out = POWERS[power](model, leaf)
        # A fixed random cotangent: the gradient of <power, weights> w.r.t. the waveform.
        weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(2)).double()
        (gradient,) = torch.autograd.grad((out * weights).sum(), leaf)
        results.append((out.detach(), gradient))
    (ours, our_gradient), (expected, expected_gradient) = results
    assert ours.shape == expected.shape and ours.dtype == torch.float64
    assert _relative(ours, expected) <= FLOAT64_TOLERANCE
    assert _relative(our_gradient, expected_gradient) <= FLOAT64_TOLERANCE
    assert expected_gradient.abs().max() > 0 and expected.abs().max() > 0


def test_fft_power_in_float32_stays_near_the_float64_dft() -> None:
    """float32 rounding only: about 2e-7 of the largest power (the conv1d DFT's float32
    error was about 2e-6, its sums running over 1024 taps)."""
    x = _soundscape()
    _, reference = _models()
    with torch.no_grad():
        exact = reference.power_spectrogram(x)
        ours = Cnn14(width=1 / 16, n_classes=10).eval().power_spectrogram(x.float())
    assert ours.dtype == torch.float32
    assert _relative(ours.double(), exact) < 1e-6


def test_power_gradient_passes_finite_differences() -> None:
    """The hand-written backward (one irfft) against central differences, in float64."""
    model = Cnn14(width=1 / 16, n_classes=10).double().eval()
    x = torch.randn(2, 1_600, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    assert torch.autograd.gradcheck(
        model.power_spectrogram, (x.requires_grad_(True),), fast_mode=True
    )


def test_second_derivatives_equal_the_conv1d_dft() -> None:
    """A Hessian-vector product through the power (create_graph), against the reference."""
    generator = torch.Generator().manual_seed(6)
    x = torch.randn(1, 3_200, generator=generator, dtype=torch.float64)
    weights = torch.randn(1, 1, 11, 513, generator=generator, dtype=torch.float64)
    direction = torch.randn(1, 3_200, generator=generator, dtype=torch.float64)
    products = []
    for model in _models():
        leaf = x.clone().requires_grad_(True)
        power = model.power_spectrogram(leaf)
        (gradient,) = torch.autograd.grad((power * weights).sum(), leaf, create_graph=True)
        products.append(torch.autograd.grad((gradient * direction).sum(), leaf)[0])
    assert products[1].abs().max() > 0
    assert _relative(products[0], products[1]) <= FLOAT64_TOLERANCE


class _Power(torch.nn.Module):
    def __init__(self, model: Cnn14) -> None:
        super().__init__()
        self.model = model

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.model.power_spectrogram(waveform)


def test_a_traced_export_records_the_same_power_and_gradient() -> None:
    """torch.jit.trace cannot record the hand-written backward: a trace takes torch ops."""
    fft, reference = _models()
    x = _soundscape()
    traced = torch.jit.trace(_Power(fft), x, check_trace=False)
    results = []
    for power in (traced, reference.power_spectrogram):
        leaf = x.clone().requires_grad_(True)
        out = power(leaf)
        weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(2)).double()
        results.append((out.detach(), torch.autograd.grad((out * weights).sum(), leaf)[0]))
    assert _relative(results[0][0], results[1][0]) <= FLOAT64_TOLERANCE
    assert _relative(results[0][1], results[1][1]) <= FLOAT64_TOLERANCE
    assert "_PowerSpectrum" not in str(traced.graph) and "fft_rfft" in str(traced.graph)


def test_power_is_differentiable_after_an_inference_mode_call() -> None:
    """The cached Hann window must not be an inference tensor in autograd."""
    model = Cnn14(width=1 / 16, n_classes=10).eval()
    with torch.inference_mode():
        model.power_spectrogram(torch.ones(1, 4_000))
    x = torch.linspace(-1, 1, 4_000)[None].requires_grad_(True)
    (gradient,) = torch.autograd.grad(model.power_spectrogram(x).sum(), x)
    assert torch.isfinite(gradient).all() and gradient.abs().max() > 0


def test_panns_kernels_load_and_other_kernels_are_refused(tmp_path: Path) -> None:
    model = Cnn14(width=1 / 16, n_classes=10)
    state = model.state_dict()
    (
        state["spectrogram_extractor.stft.conv_real.weight"],
        state["spectrogram_extractor.stft.conv_imag.weight"],
    ) = panns_dft_kernels()
    model.load_state_dict(state, strict=True)

    state["spectrogram_extractor.stft.conv_imag.weight"] = -state[
        "spectrogram_extractor.stft.conv_imag.weight"
    ]
    with pytest.raises(RuntimeError, match="conv_imag.weight is not the Hann-windowed DFT"):
        model.load_state_dict(state, strict=True)

    model = Cnn14(width=1 / 16, n_classes=10)
    path = tmp_path / "backbone.pt"
    save_backbone(model, path, source="test", config={})
    with torch.no_grad():
        model.spectrogram_extractor.stft.conv_real.weight[3, 0, 7] += 1e-3
    save_backbone(model, tmp_path / "edited.pt", source="test", config={})
    assert isinstance(load_backbone(path), Cnn14)
    with pytest.raises(ValueError, match="conv_real.weight is not the Hann-windowed DFT"):
        load_backbone(tmp_path / "edited.pt")
