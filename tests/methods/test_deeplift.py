"""Log-mel DeepLift: CNN14's module form equals its functional form, DeepLift equals
Captum's in float64 for each time pooling, sums to the output difference, runs through the
registry; a model without a module form is refused by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import DeepLift
from support.explained import (
    EQUIVALENCE_TARGETS,
    NARROW,
    assert_close,
    burst_clip,
    random_explained,
)

from igsed.core.constants import CLIP_SAMPLES
from igsed.methods.deeplift import logmel_deeplift
from igsed.methods.registry import ClipInput, implementation, method_settings
from igsed.models.classifier import ClassifierError
from igsed.models.crnn import Crnn, CrnnShape
from igsed.models.freeze import freeze
from igsed.models.modular import ModularClassifier

SAMPLES = CLIP_SAMPLES // 4  # 2.5 s keep the float64 references quick
MODEL = random_explained(NARROW, seed=4, dtype=torch.float64)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return burst_clip(SAMPLES, seed=6)


def _logmels(clip: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(clip).double()[None]
    with torch.no_grad():
        return MODEL.logmel_input(x), MODEL.logmel_input(torch.zeros_like(x))


def test_the_module_form_is_the_functional_form_on_the_same_weights(clip: np.ndarray) -> None:
    logmel, reference = _logmels(clip)
    form = MODEL.module_form(logmel.shape[2])
    with torch.no_grad():
        both = torch.cat([logmel, reference])
        assert torch.allclose(form(both), MODEL.from_logmel(both), rtol=0, atol=1e-12)
    float32 = random_explained(NARROW, seed=4)
    with torch.no_grad():
        single = logmel.float()
        difference = float32.module_form(logmel.shape[2])(single) - float32.from_logmel(single)
    assert difference.abs().max() < 1e-6
    # The backbone's parameter names and tensors, not copies of them (fc1 is the clip
    # head's frozen copy of the backbone's, equal to it).
    backbone = dict(MODEL.backbone.named_parameters())
    head = {f"clip_head.{k}": v for k, v in MODEL.head.linear.named_parameters()}
    for name, parameter in form.named_parameters():
        if name in head:
            assert parameter is head[name]
        elif name.startswith("fc1."):
            assert torch.equal(parameter, backbone[name])
        else:
            assert parameter is backbone[name]
    assert sum(isinstance(m, torch.nn.ReLU) for m in form.modules()) == 13


# max (the paper's clip head) and mean against Captum; max_mean (PANNs) by its sums alone:
# there Captum's attributions miss F_c(L) - F_c(L0) (by 47 % for class 1 of this clip, where
# the max and the mean read one tensor), while igsed's sum to it as DeepLift's must.
@pytest.mark.parametrize("pooling", ["max", "mean", "max_mean"])
def test_logmel_deeplift_is_captums(pooling: str, clip: np.ndarray) -> None:
    MODEL.head.pooling = pooling
    try:
        logmel, reference = _logmels(clip)
        ours = logmel_deeplift(MODEL, clip, EQUIVALENCE_TARGETS)
        for row, target in enumerate(EQUIVALENCE_TARGETS):
            if pooling != "max_mean":
                form = ModularClassifier(MODEL.backbone, MODEL.head, logmel.shape[2])
                captum = DeepLift(form).attribute(logmel, baselines=reference, target=target)
                assert_close(captum[0, 0], ours[row])
            # Summation to delta: the attributions add up to F_c(L) - F_c(L0).
            with torch.no_grad():
                delta = (
                    MODEL.from_logmel(logmel)[0, target] - MODEL.from_logmel(reference)[0, target]
                )
            assert ours[row].sum() == pytest.approx(float(delta), rel=1e-9, abs=1e-12)
    finally:
        MODEL.head.pooling = "max"
    assert ours.shape == (len(EQUIVALENCE_TARGETS), SAMPLES // 320 + 1, 64)


def test_through_the_registry_and_refused_without_a_module_form(clip: np.ndarray) -> None:
    method = implementation("logmel_deeplift")
    result = method.compute(
        MODEL, ClipInput("c", clip, (1, 4)), method_settings("logmel_deeplift", {})
    )
    assert result.scores.shape == (2, 100) and (result.scores >= 0).all()
    assert result.scores.sum() > 0
    torch.manual_seed(5)
    crnn = freeze(Crnn(CrnnShape(channels=(4, 8, 8), gru_hidden=8)))
    with pytest.raises(
        ClassifierError, match=r"log-mel DeepLift needs capabilities \['module_form'\]"
    ):
        logmel_deeplift(crnn, clip.astype(np.float32), [0])
