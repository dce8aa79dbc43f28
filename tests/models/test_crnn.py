"""The CRNN: the contract it declares, its frame and clip outputs, its front end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from igsed.core.constants import CLASSES, CLIP_SAMPLES, SAMPLE_RATE
from igsed.methods.registry import IMPLEMENTATIONS, ClipInput, method_settings
from igsed.models.classifier import FRAME_OUTPUT, LAYERS, LOGMEL_SPLIT, check_probabilities
from igsed.models.cnn14 import Cnn14
from igsed.models.crnn import Crnn, CrnnShape
from igsed.models.freeze import freeze


@pytest.fixture(scope="module")
def crnn() -> Crnn:
    torch.manual_seed(0)
    model = Crnn()
    freeze(model)
    return model


def test_the_crnn_declares_frames_and_layers(crnn: Crnn) -> None:
    assert crnn.capabilities == {FRAME_OUTPUT, LAYERS, LOGMEL_SPLIT}
    assert (crnn.classes, crnn.sample_rate, crnn.frame_seconds) == (CLASSES, SAMPLE_RATE, 0.08)
    assert list(crnn.layers()) == [
        "conv_block1",
        "conv_block2",
        "conv_block3",
        "gru",
        "frame_linear",
        "attention_linear",
    ]


def test_attention_pools_the_frame_probabilities_to_the_clip(crnn: Crnn) -> None:
    waveform = 0.1 * torch.randn(2, CLIP_SAMPLES, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        frames = crnn.frame_probabilities(waveform)
        clip = crnn(waveform)
        weights = torch.softmax(
            crnn.attention_linear(crnn._frame_states(crnn.logmel(waveform))), dim=1
        )
    assert frames.shape == (2, 125, 10)
    check_probabilities(clip, 10, 2, "crnn")
    torch.testing.assert_close(clip, (frames * weights).sum(dim=1))
    assert bool(((clip >= frames.amin(dim=1)) & (clip <= frames.amax(dim=1))).all())
    max_pooled = freeze(Crnn(CrnnShape(pooling="max")))
    max_pooled.load_state_dict(crnn.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(max_pooled(waveform), frames.amax(dim=1))


def test_the_fft_front_end_equals_cnn14s_conv_front_end() -> None:
    waveform = torch.randn(1, SAMPLE_RATE, dtype=torch.float64)
    crnn, cnn14 = Crnn().double(), Cnn14(width=0.125).double()
    ours = crnn.logmel(waveform)
    theirs = cnn14.logmel(cnn14.power_spectrogram(waveform))
    # CNN14's DFT kernels are stored in float32 (PANNs' state dict): ~1e-7 relative apart.
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)  # dB


def test_frame_output_and_gradient_methods_run_on_the_crnn(crnn: Crnn) -> None:
    waveform = (0.1 * np.random.default_rng(2).standard_normal(CLIP_SAMPLES)).astype(np.float32)
    clip = ClipInput("test_00001", waveform, (1, 4))
    framewise = IMPLEMENTATIONS["fw_weak"].compute(
        crnn, ClipInput("c", waveform, tuple(range(10))), None
    )
    assert framewise.scores.shape == (10, 100)
    for method in ("ig", "saliency"):
        params = {"n_steps": 4} if method == "ig" else {}
        result = IMPLEMENTATIONS[method].compute(crnn, clip, method_settings(method, params))
        assert result.scores.shape == (2, 100) and np.isfinite(result.scores).all()
        assert result.scores.max() > 0


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="one entry per conv block"):
        CrnnShape(channels=(8, 16), time_pools=(2,), freq_pools=(2, 2))
    with pytest.raises(ValueError, match="pooling 'mean'; allowed: attention, max"):
        CrnnShape(pooling="mean")
