"""User models behind the contract: TorchScript files and Python entry points.

The equivalence check exports the default CNN14 clip classifier with torch.jit and runs it
as a `torchscript` model: every method both can run gives the native path's frame scores
(the fused IG engine on CNN14's power split against the autograd path on the export).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from support.explained import NARROW, burst_clip, random_explained
from support.user_models import TINY_SED_LABELS, TINY_SED_MAP, TINY_SED_RATE, tiny_sed

from igsed.core.checksums import file_digest
from igsed.core.constants import CLASS_INDEX, CLASSES, CLIP_SAMPLES, SAMPLE_RATE
from igsed.methods.frames import EVAL_FRAME_SAMPLES
from igsed.methods.perturbation import occlusion
from igsed.methods.registry import IMPLEMENTATIONS, ClipInput, method_settings
from igsed.models.classifier import FRAME_OUTPUT, LAYERS, POWER_SPLIT, ClassifierError
from igsed.models.explained import ExplainedModel
from igsed.models.user import UserModelSpec, load_user_model, user_model_digest

IDENTITY = {name: name for name in CLASSES}
TARGETS = (0, 3)
# Relative L2 per instance between the native and the exported model's frame scores.
TOLERANCE = 1e-5
# Every method that runs on both (Grad-CAM needs named layers, which an export does not keep).
SHARED_METHODS = {
    "ig": {"n_steps": 8, "internal_batch_size": 8},
    "saliency": {},
    "input_x_gradient": {},
    "smoothgrad": {"n_samples": 4, "batch_size": 4},
    "gradient_shap": {"n_samples": 4, "batch_size": 4},
}
# Occlusion runs 100 full forwards on an export (CNN14 recomputes only the STFT windows a
# frame reaches): it is checked on 2 s, the same definition at a fifth of the cost.
OCCLUSION_SAMPLES = 2 * SAMPLE_RATE


@pytest.fixture(scope="module")
def ten_seconds() -> np.ndarray:
    return burst_clip(CLIP_SAMPLES, seed=5).astype(np.float64)


@pytest.fixture(scope="module")
def native(ten_seconds: np.ndarray) -> ExplainedModel:
    return random_explained(NARROW, seed=4, dtype=torch.float64, calibrate_on=ten_seconds)


@pytest.fixture(scope="module")
def exported(
    native: ExplainedModel, ten_seconds: np.ndarray, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("torchscript") / "cnn14.pt"
    traced = torch.jit.trace(native, torch.from_numpy(ten_seconds)[None], check_trace=False)
    torch.jit.save(traced, str(path))
    return path


def _torchscript(path: Path, **fields: object) -> UserModelSpec:
    values = {"classes": CLASSES, "sample_rate": SAMPLE_RATE, "class_map": IDENTITY, **fields}
    return UserModelSpec(name="cnn14_ts", kind="torchscript", source=str(path), **values)


@pytest.mark.parametrize("method", sorted(SHARED_METHODS))
def test_exported_cnn14_gives_the_native_frame_scores(
    method: str, native: ExplainedModel, exported: Path, ten_seconds: np.ndarray
) -> None:
    user = load_user_model(_torchscript(exported))
    assert user.capabilities == frozenset() and native.has(POWER_SPLIT)
    clip = ClipInput("test_00001", ten_seconds, TARGETS)
    settings = method_settings(method, SHARED_METHODS[method])
    compute = IMPLEMENTATIONS[method].compute
    ours, theirs = compute(user, clip, settings).scores, compute(native, clip, settings).scores
    assert ours.shape == (len(TARGETS), 100)
    for row in range(len(TARGETS)):
        error = np.linalg.norm(ours[row] - theirs[row]) / np.linalg.norm(theirs[row])
        assert error <= TOLERANCE, f"{method} class {TARGETS[row]}: relative L2 {error:.2e}"


def test_exported_cnn14_gives_the_native_occlusion(
    native: ExplainedModel, exported: Path, ten_seconds: np.ndarray
) -> None:
    user = load_user_model(_torchscript(exported))
    waveform = ten_seconds[:OCCLUSION_SAMPLES]
    ours = occlusion(user, waveform, EVAL_FRAME_SAMPLES, batch_size=10)[list(TARGETS)]
    theirs = occlusion(native, waveform, EVAL_FRAME_SAMPLES, batch_size=10)[list(TARGETS)]
    for row in range(len(TARGETS)):
        error = np.linalg.norm(ours[row] - theirs[row]) / np.linalg.norm(theirs[row])
        assert error <= TOLERANCE, f"occlusion class {TARGETS[row]}: relative L2 {error:.2e}"


def test_an_export_without_layers_gives_grad_cam_up(exported: Path, ten_seconds: np.ndarray):
    user = load_user_model(_torchscript(exported))
    clip = ClipInput("test_00001", ten_seconds, TARGETS)
    with pytest.raises(ClassifierError, match="Grad-CAM needs capabilities \\['layers'\\]"):
        IMPLEMENTATIONS["gradcam"].compute(user, clip, method_settings("gradcam", {}))


def _python(**fields: object) -> UserModelSpec:
    values = {"class_map": TINY_SED_MAP, **fields}
    return UserModelSpec(
        name="tiny", kind="python", source="support.user_models:tiny_sed", **values
    )


def test_a_python_model_is_resampled_and_mapped_many_to_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="igsed.models.user"):
        model = load_user_model(_python())
    assert "1 labels not mapped, ignored: ['Music']" in caplog.text
    assert "no label maps to ['Alarm_bell_ringing', 'Blender'," in caplog.text
    assert model.capabilities == {FRAME_OUTPUT, LAYERS} and model.frame_seconds == 0.1
    waveform = torch.from_numpy(burst_clip(CLIP_SAMPLES, seed=6))[None]
    import torchaudio.functional as audio_functional

    own = tiny_sed()(audio_functional.resample(waveform, SAMPLE_RATE, TINY_SED_RATE))[0]
    clip = model(waveform)[0]
    label = {name: own[i] for i, name in enumerate(TINY_SED_LABELS)}
    assert clip[CLASS_INDEX["Dog"]] == torch.maximum(label["Bark"], label["Growling"])
    assert clip[CLASS_INDEX["Speech"]] == torch.maximum(label["Speech"], label["Conversation"])
    assert clip[CLASS_INDEX["Cat"]] == label["Meow"]
    assert clip[CLASS_INDEX["Blender"]] == 0.0
    assert tuple(model.frame_probabilities(waveform).shape) == (1, 100, 10)


def test_a_frame_output_is_the_model_intrinsic_method() -> None:
    model = load_user_model(_python())
    clip = ClipInput("test_00001", burst_clip(CLIP_SAMPLES, seed=6), tuple(range(10)))
    result = IMPLEMENTATIONS["fw_weak"].compute(model, clip, method_settings("fw_weak", {}))
    with torch.no_grad():
        frames = model.frame_probabilities(torch.from_numpy(clip.waveform)[None])[0]
    np.testing.assert_allclose(result.scores, frames.numpy().T, rtol=1e-6)
    np.testing.assert_allclose(result.clip_probabilities, frames.amax(dim=0).numpy(), rtol=1e-6)


def test_a_model_returning_logits_fails_naming_the_model() -> None:
    spec = UserModelSpec(
        name="mine",
        kind="python",
        source="support.user_models:logits_model",
        classes=("a", "b", "c"),
        sample_rate=SAMPLE_RATE,
        class_map={"a": "Dog"},
    )
    model = load_user_model(spec)
    with pytest.raises(ClassifierError, match="model 'mine' returned clip outputs in .*logits"):
        model(torch.ones(1, CLIP_SAMPLES))


def test_bad_specs_are_refused(tmp_path: Path, exported: Path) -> None:
    cases = [
        (lambda: _python(class_map={"Bark": "Wolf"}), r"sends labels to \['Wolf'\], which are"),
        (lambda: _python(class_map={"Howl": "Dog"}), r"names labels \['Howl'\] that the model"),
        (
            lambda: UserModelSpec("x", "python", "support.user_models:nothing", {}),
            "cannot import 'support.user_models:nothing'",
        ),
        (
            lambda: UserModelSpec("x", "python", "support.user_models", {}),
            "is not 'package.module:function'",
        ),
        (lambda: UserModelSpec("x", "onnx", "m.onnx", {}), "kind 'onnx' is not a user kind"),
        (lambda: _torchscript(tmp_path / "none.pt"), "TorchScript file not found"),
        (lambda: _torchscript(exported, classes=(), sample_rate=0), "give its `classes`"),
    ]
    cut = tmp_path / "cut.pt"
    cut.write_bytes(exported.read_bytes()[: exported.stat().st_size // 2])
    cases.append((lambda: _torchscript(cut), f"{cut} is not a TorchScript file"))
    for make, message in cases:
        with pytest.raises(ClassifierError, match=message):
            load_user_model(make())


def test_a_user_models_checksum_covers_its_file_or_its_source(exported: Path) -> None:
    assert user_model_digest(_torchscript(exported)) == file_digest(exported)
    source = Path(__file__).parents[1] / "support" / "user_models.py"
    assert user_model_digest(_python()) == file_digest(source)
