"""Log-mel IG and saliency: against Captum in float64 on CNN14 and the CRNN, the frame
scores by hand, and a model without a log-mel input refused by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, Saliency
from support.explained import (
    EQUIVALENCE_TARGETS,
    NARROW,
    assert_close,
    burst_clip,
    random_explained,
)

from igsed.core.constants import CLIP_SAMPLES
from igsed.methods.registry import ClipInput, implementation, method_settings
from igsed.methods.spectrogram import (
    LogmelIGSettings,
    logmel_frame_scores,
    logmel_ig,
    logmel_saliency,
)
from igsed.models.classifier import Classifier, ClassifierError
from igsed.models.crnn import Crnn, CrnnShape
from igsed.models.freeze import freeze

SAMPLES = CLIP_SAMPLES // 4  # 2.5 s keep the float64 references quick


def _models() -> dict[str, Classifier]:
    torch.manual_seed(5)
    crnn = freeze(Crnn(CrnnShape(channels=(4, 8, 8), gru_hidden=8))).double()
    return {"cnn14": random_explained(NARROW, seed=4, dtype=torch.float64), "crnn": crnn}


MODELS = _models()


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return burst_clip(SAMPLES, seed=6)


def _captum_inputs(model: Classifier, clip: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(clip).double()[None]
    with torch.no_grad():
        return model.logmel_input(x), model.logmel_input(torch.zeros_like(x))


@pytest.mark.parametrize("name", list(MODELS))
def test_logmel_ig_is_captums(name: str, clip: np.ndarray) -> None:
    model = MODELS[name]
    logmel, baseline = _captum_inputs(model, clip)
    settings = LogmelIGSettings(n_steps=6, internal_batch_size=4)
    ours = logmel_ig(model, clip, EQUIVALENCE_TARGETS, settings)
    ig = IntegratedGradients(model.from_logmel)
    for row, target in enumerate(EQUIVALENCE_TARGETS):
        reference = ig.attribute(
            logmel, baselines=baseline, target=target, n_steps=6, method="gausslegendre"
        )
        assert_close(reference[0, 0], ours[row])
    assert ours.shape == (len(EQUIVALENCE_TARGETS), SAMPLES // 320 + 1, 64)


@pytest.mark.parametrize("name", list(MODELS))
def test_logmel_saliency_is_captums(name: str, clip: np.ndarray) -> None:
    model = MODELS[name]
    logmel, _ = _captum_inputs(model, clip)
    ours = logmel_saliency(model, clip, EQUIVALENCE_TARGETS)
    for row, target in enumerate(EQUIVALENCE_TARGETS):
        reference = Saliency(model.from_logmel).attribute(logmel, target=target, abs=True)
        assert_close(reference[0, 0], ours[row])


def test_frame_scores_sum_bands_and_the_frames_of_each_100_ms_by_hand() -> None:
    t = np.arange(1001, dtype=np.float64)
    attribution = np.stack([t, -2 * t], axis=1)[None]  # (1, 1001, 2): |a| summed is 3t
    scores = logmel_frame_scores(attribution, 0.01)
    # Frame j holds the centres 10j .. 10j + 9 (x 10 ms); the last frame (t = 1000, centred
    # on the clip's end) is left out.
    expected = np.array([3 * sum(range(10 * j, 10 * j + 10)) for j in range(100)])
    np.testing.assert_allclose(scores[0], expected, rtol=1e-6)


def test_the_registry_scores_clips_on_the_100_ms_grid() -> None:
    model = random_explained(NARROW, seed=4)
    waveform = burst_clip(CLIP_SAMPLES, seed=6).astype(np.float32)
    clip = ClipInput("c", waveform, (1, 2))
    for name, params in (("logmel_ig", {"n_steps": 2}), ("logmel_saliency", {})):
        result = implementation(name).compute(model, clip, method_settings(name, params))
        # IG is exactly 0 on the clip's digitally silent stretch, where L is the baseline.
        assert result.scores.shape == (2, 100) and (result.scores >= 0).all()
        assert (result.scores.max(axis=1) > 0).all()
    empty = implementation("logmel_saliency").compute(
        model, ClipInput("c", waveform, ()), method_settings("logmel_saliency", {})
    )
    assert empty.scores.shape == (0, 100)


class _NoLogmel(Classifier):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(1, 10)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.linear(waveform.mean(dim=1, keepdim=True)))


def test_a_model_without_a_log_mel_input_is_refused_by_name() -> None:
    with pytest.raises(ClassifierError, match=r"needs capabilities \['logmel_split'\]"):
        logmel_saliency(_NoLogmel(), np.zeros(3200, np.float32), [0])
    with pytest.raises(ValueError, match="log-mel IG method 'simpson'"):
        LogmelIGSettings(method="simpson")
