"""Random-weight CNN14 clip classifiers and test clips for the attribution tests.

The models have non-trivial BatchNorm statistics and, optionally, a head calibrated to
detect half the classes on a given clip, so that attributions are not vanishingly small.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn

from igsed.core.constants import SAMPLE_RATE
from igsed.models.cnn14 import Cnn14, pool_time
from igsed.models.explained import ExplainedModel
from igsed.models.heads import make_head

NARROW = 0.125  # the default backbone width


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """One torch thread for the importing test module, restored afterwards.

    On this shared 2-core machine a second OpenMP thread mostly spin-waits.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def random_explained(
    width: float,
    seed: int,
    dtype: torch.dtype = torch.float32,
    calibrate_on: np.ndarray | None = None,
) -> ExplainedModel:
    """A random-weight CNN14 + clip head with non-trivial BatchNorm statistics, frozen.

    A random CNN14 scores every input about the same, so F(x) - F(0) would be ~1e-3 and the
    attributions tiny. With `calibrate_on`, each class's head row keeps its random direction
    but is scaled and offset so that the class logit is +1 on that clip and -1 on silence
    (even classes) or the reverse (odd classes), like a trained classifier's detections.
    """
    torch.manual_seed(seed)
    backbone = Cnn14(width=width)
    model = ExplainedModel(backbone, make_head("clip", backbone, "max"))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(0.2 * torch.randn(n, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
                module.weight.copy_(0.8 + 0.4 * torch.rand(n, generator=generator))
                module.bias.copy_(0.1 * torch.randn(n, generator=generator))
        # bn0 normalises dB values around the log floor (-100 dB) and speech-like levels.
        model.backbone.bn0.running_mean.fill_(-60.0)
        model.backbone.bn0.running_var.fill_(400.0)
    model = model.to(dtype).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    if calibrate_on is not None:
        _calibrate_head(model, torch.as_tensor(calibrate_on, dtype=dtype))
    return model


def _calibrate_head(model: ExplainedModel, waveform: torch.Tensor) -> None:
    with torch.no_grad():
        frames = model.backbone.frame_features(torch.stack([waveform, torch.zeros_like(waveform)]))
        clip, silence = model.head.embedding(pool_time(frames, model.head.pooling))
        linear = model.head.linear
        separation = linear.weight @ (clip - silence)
        signs = torch.tensor([1.0, -1.0], dtype=separation.dtype).repeat(5)
        linear.weight.mul_((2.0 * signs / separation)[:, None])
        linear.bias.copy_(-linear.weight @ (clip + silence) / 2)


def burst_clip(n_samples: int, seed: int) -> np.ndarray:
    """A quiet noise bed, three louder bursts (tone + noise) and a stretch of digital silence."""
    rng = np.random.default_rng(seed)
    clip = 0.003 * rng.standard_normal(n_samples)
    t = np.arange(n_samples) / SAMPLE_RATE
    for _ in range(3):
        start = int(rng.integers(0, n_samples * 3 // 4))
        length = int(rng.integers(n_samples // 20, n_samples // 5))
        window = slice(start, min(n_samples, start + length))
        tone = np.sin(2 * np.pi * rng.uniform(200, 4000) * t[window])
        clip[window] += 0.3 * tone + 0.05 * rng.standard_normal(tone.shape[0])
    clip[n_samples // 10 : n_samples // 10 + n_samples // 20] = 0.0
    return clip.astype(np.float32)


# --- The float64 equivalence checks against Captum (test_methods, test_surrogate) ----------

EQUIVALENCE_SAMPLES = 32_000  # 1 s: ten 100 ms frames; the definitions do not depend on it
EQUIVALENCE_TARGETS = (0, 3)
EQUIVALENCE_TOLERANCE = 1e-6  # relative L2, the bound


@pytest.fixture(scope="session")
def clip() -> np.ndarray:
    """The 1 s float64 burst clip every equivalence check attributes."""
    return burst_clip(EQUIVALENCE_SAMPLES, seed=3).astype(np.float64)


@pytest.fixture(
    scope="session",
    params=[
        pytest.param(NARROW, id="default width"),
        pytest.param(1.0, id="full width", marks=pytest.mark.full_width),
    ],
)
def model(request: pytest.FixtureRequest, clip: np.ndarray) -> ExplainedModel:
    """A float64 clip classifier calibrated on `clip`, at the default and at full width
    (built once per session: the full-width one takes seconds; its tests are marked
    `full_width`, which CI runs and `-m "not full_width"` skips)."""
    return random_explained(request.param, seed=1, dtype=torch.float64, calibrate_on=clip)


@pytest.fixture(scope="session")
def narrow(clip: np.ndarray) -> ExplainedModel:
    """A second default-width float64 classifier, for checks that need only one width."""
    return random_explained(NARROW, seed=2, dtype=torch.float64, calibrate_on=clip)


def assert_close(reference: torch.Tensor | np.ndarray, ours: np.ndarray) -> None:
    """`ours` within EQUIVALENCE_TOLERANCE of `reference` in relative L2."""
    reference = np.asarray(torch.as_tensor(reference).detach().reshape(ours.shape))
    error = np.linalg.norm(ours - reference) / np.linalg.norm(reference)
    assert error < EQUIVALENCE_TOLERANCE, f"relative L2 {error:.2e}"
