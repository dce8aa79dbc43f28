"""The classifier contract: declared capabilities, CNN14 behind it, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.explained import random_explained
from torch import nn

from igsed.core.constants import CLASSES, CLIP_SAMPLES, SAMPLE_RATE
from igsed.methods.engines import attribute_clip
from igsed.methods.ig import IGSettings
from igsed.methods.layer import gradcam
from igsed.models.classifier import (
    FRAME_OUTPUT,
    LAYERS,
    LOGMEL_SPLIT,
    MODULE_FORM,
    POWER_SPLIT,
    Classifier,
    ClassifierError,
    check_probabilities,
    declares,
    missing_capabilities,
)


class ClipOnly(Classifier):
    """The least a model can be: clip probabilities and nothing else declared."""

    classes = CLASSES
    sample_rate = SAMPLE_RATE
    model_name = "clip_only"

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, len(CLASSES))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.linear(waveform.abs().mean(dim=1, keepdim=True)))


def test_cnn14_declares_its_layers_and_power_split_in_forward_order() -> None:
    model = random_explained(0.125, seed=0)
    assert model.capabilities == {LAYERS, POWER_SPLIT, LOGMEL_SPLIT, MODULE_FORM}
    assert (model.classes, model.sample_rate) == (CLASSES, SAMPLE_RATE)
    layers = model.layers()
    assert list(layers) == [*(f"conv_block{i}" for i in range(1, 7)), "fc1", "clip_head"]
    assert layers["conv_block6"] is model.backbone.conv_block6
    assert layers["clip_head"] is model.head.linear


def test_a_model_declares_capabilities_and_is_never_guessed() -> None:
    model = ClipOnly()
    model.backbone = nn.Identity()  # an attribute named like CNN14's is no capability
    assert missing_capabilities(model, [LAYERS, FRAME_OUTPUT]) == [LAYERS, FRAME_OUTPUT]
    assert not declares(model, POWER_SPLIT)
    assert missing_capabilities(nn.Linear(1, 1), [LAYERS]) == [LAYERS]  # not a Classifier
    with pytest.raises(ClassifierError, match=r"Grad-CAM needs capabilities \['layers'\].*"):
        gradcam(model, np.zeros(CLIP_SAMPLES, np.float32), [0], "conv_block6")
    with pytest.raises(ClassifierError, match="'clip_only' does not declare"):
        model.frame_probabilities(torch.zeros(1, CLIP_SAMPLES))
    with pytest.raises(ValueError, match="unknown capability 'gpu'"):
        model.has("gpu")


def test_the_fused_engine_takes_the_autograd_path_without_the_power_split() -> None:
    model = ClipOnly()
    waveform = np.random.default_rng(0).standard_normal(CLIP_SAMPLES)
    fused = attribute_clip(model, waveform, [0, 3], IGSettings(engine="fused", n_steps=4))
    captum = attribute_clip(model, waveform, [0, 3], IGSettings(engine="captum", n_steps=4))
    for ours, reference in zip(fused, captum, strict=True):
        np.testing.assert_allclose(ours.attribution, reference.attribution, rtol=1e-4, atol=1e-9)
        assert ours.f_input == pytest.approx(reference.f_input)


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (torch.full((2, 10), 3.0), r"in \[3, 3\], not probabilities in \[0, 1\]: .*logits"),
        (torch.full((2, 10), -0.5), r"not probabilities"),
        (torch.full((2, 9), 0.5), r"shape \(2, 9\) for 2 waveform\(s\); expected \(2, ..., 10\)"),
        (torch.full((1, 10), 0.5), r"shape \(1, 10\) for 2 waveform"),
        (torch.full((2, 10), float("nan")), "non-finite"),
    ],
)
def test_outputs_that_are_no_probabilities_name_the_model(
    outputs: torch.Tensor, message: str
) -> None:
    with pytest.raises(ClassifierError, match=f"model 'mine' .*{message}"):
        check_probabilities(outputs, n_classes=10, batch=2, name="mine")


def test_probabilities_and_frame_probabilities_pass() -> None:
    check_probabilities(torch.rand(2, 10), n_classes=10, batch=2, name="mine")
    check_probabilities(torch.rand(2, 31, 10), n_classes=10, batch=2, name="mine", what="frame")
