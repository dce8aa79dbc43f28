"""Every attribution method by name: its settings and how it scores one clip.

A plain lookup, `implementation(name)`: `IMPLEMENTATIONS[name]` for a built-in method (keyed
like `igsed.core.methods.METHOD_NAMES`), or a registered plug-in's (igsed.methods.plugins);
`igsed.core.methods.METHOD_INFO` holds what the other stages know about each method. Each
entry parses the method's `attribution.methods.<name>` config section into a settings object
and maps (model, clip, target classes) to frame scores on the 100 ms grid (`MethodResult`).
Waveform attributions become mean |a| per frame (`frame_magnitude`), as the paper does for IG.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from igsed.core.constants import CLASSES, N_CLASSES, N_EVAL_FRAMES
from igsed.core.methods import METHOD_INFO, METHOD_NAMES, is_plugin
from igsed.methods.baselines import clip_seed_sequence, energy_scores, random_scores
from igsed.methods.deeplift import logmel_deeplift
from igsed.methods.engines import attribute_clip
from igsed.methods.fills import check_fill, fill_waveform
from igsed.methods.frames import EVAL_FRAME_SAMPLES, frame_magnitude, fw_to_eval_grid
from igsed.methods.gradients import (
    NoiseSettings,
    gradient_shap,
    input_x_gradient,
    saliency,
    smoothgrad,
)
from igsed.methods.ig import IGSettings
from igsed.methods.layer import gradcam, gradcam_layer
from igsed.methods.perturbation import occlusion
from igsed.methods.plugins import PluginSettings, plugin_rows, plugin_settings
from igsed.methods.rise import RiseSettings, rise
from igsed.methods.spectrogram import (
    LogmelIGSettings,
    logmel_frame_scores,
    logmel_ig,
    logmel_saliency,
)
from igsed.methods.surrogate import SurrogateSettings, surrogate
from igsed.models.classifier import FRAME_OUTPUT, Classifier


@dataclass(frozen=True)
class ClipInput:
    """One clip to attribute: its waveform and the classes (indices) to score."""

    clip_id: str
    waveform: np.ndarray  # (N,) float32
    targets: tuple[int, ...]


@dataclass
class MethodResult:
    """One method's output for one clip; rows follow ClipInput.targets."""

    scores: np.ndarray  # (k, 100)
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (k,)
    waveform_attribution: np.ndarray | None = None  # (k, N) per-sample, signed where defined
    clip_probabilities: np.ndarray | None = None  # (10,) the method's own detections


def check_result(result: MethodResult, clip: ClipInput, method: str) -> None:
    """Refuse a result that is not one finite row of frame scores per target class."""
    k = len(clip.targets)
    if np.shape(result.scores) != (k, N_EVAL_FRAMES):
        raise ValueError(
            f"{method} returned scores of shape {np.shape(result.scores)} for clip "
            f"{clip.clip_id}; expected ({k}, {N_EVAL_FRAMES})"
        )
    bad = ~np.isfinite(result.scores)
    if bad.any():
        row, frame = np.argwhere(bad)[0]
        raise ValueError(
            f"{method}: non-finite frame score for clip {clip.clip_id}, class "
            f"{CLASSES[clip.targets[row]]}, frame {frame}"
        )


@dataclass(frozen=True)
class NoParameters:
    """Settings of a method without parameters."""

    def as_dict(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class SamplingSettings:
    """A method that averages over noisy draws (SmoothGrad), seeded per clip."""

    n_samples: int = 8
    noise_fraction: float = 0.1
    batch_size: int = 8
    seed: int = 13

    def __post_init__(self) -> None:
        self.noise()  # validates

    def noise(self) -> NoiseSettings:
        return NoiseSettings(self.n_samples, self.noise_fraction, self.batch_size)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GradientShapSettings(SamplingSettings):
    """GradientSHAP's draws, from the zero waveform and this many noise waveforms."""

    n_noise_baselines: int = 4

    def __post_init__(self) -> None:
        if self.n_noise_baselines < 0:
            raise ValueError(f"n_noise_baselines must be >= 0, got {self.n_noise_baselines}")
        super().__post_init__()


@dataclass(frozen=True)
class GradCamSettings:
    # `auto`: the explained model's own (Classifier.gradcam_layer: CNN14's conv_block6)
    layer: str = "auto"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"auto|[A-Za-z_][A-Za-z0-9_.]*", self.layer):
            raise ValueError(
                f"Grad-CAM layer {self.layer!r}: allowed `auto` (the model's own) or a layer "
                "name such as conv_block6"
            )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OcclusionSettings:
    batch_size: int = 16  # occluded copies per forward
    fill: str = "zero"  # what an occluded frame holds (igsed.methods.fills)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"occlusion batch_size must be >= 1, got {self.batch_size}")
        check_fill(self.fill, "occlusion")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SeededSettings:
    """A method whose only parameter is its seed (the random baseline)."""

    seed: int = 13

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SeededSurrogate:
    surrogate: SurrogateSettings
    seed: int = 13

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self.surrogate), "seed": self.seed}


def _ig_settings(params: Mapping[str, Any]) -> IGSettings:
    return IGSettings(**params)


def _surrogate_settings(params: Mapping[str, Any]) -> SeededSurrogate:
    values = dict(params)
    seed = values.pop("seed", None)
    surrogate = SurrogateSettings(**values)
    return SeededSurrogate(surrogate) if seed is None else SeededSurrogate(surrogate, int(seed))


def _torch_generator(clip_id: str, seed: int) -> torch.Generator:
    state = clip_seed_sequence(clip_id, seed).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def _from_waveform(attribution: np.ndarray, **extra: Any) -> MethodResult:
    attribution = np.asarray(attribution, dtype=np.float32)
    scores = np.zeros((attribution.shape[0], N_EVAL_FRAMES), dtype=np.float32)
    for row, values in enumerate(attribution):
        scores[row] = frame_magnitude(values)
    return MethodResult(scores=scores, waveform_attribution=attribution, **extra)


def _ig(model: nn.Module, clip: ClipInput, settings: IGSettings) -> MethodResult:
    results = attribute_clip(model, clip.waveform, clip.targets, settings)
    signed = np.zeros((len(results), clip.waveform.shape[0]), dtype=np.float32)
    for row, result in enumerate(results):
        signed[row] = result.attribution
    diagnostics = {
        "convergence_delta": np.array([r.convergence_delta for r in results]),
        "f_input": np.array([r.f_input for r in results]),
        "f_baseline": np.array([r.f_baseline for r in results]),
    }
    return _from_waveform(signed, diagnostics=diagnostics)


def _saliency(model: nn.Module, clip: ClipInput, _settings: NoParameters) -> MethodResult:
    return _from_waveform(saliency(model, clip.waveform, clip.targets))


def _input_x_gradient(model: nn.Module, clip: ClipInput, _settings: NoParameters) -> MethodResult:
    return _from_waveform(input_x_gradient(model, clip.waveform, clip.targets))


def _smoothgrad(model: nn.Module, clip: ClipInput, settings: SamplingSettings) -> MethodResult:
    generator = _torch_generator(clip.clip_id, settings.seed)
    return _from_waveform(
        smoothgrad(model, clip.waveform, clip.targets, settings.noise(), generator)
    )


def _gradient_shap(
    model: nn.Module, clip: ClipInput, settings: GradientShapSettings
) -> MethodResult:
    generator = _torch_generator(clip.clip_id, settings.seed)
    attribution = gradient_shap(
        model, clip.waveform, clip.targets, settings.noise(), generator, settings.n_noise_baselines
    )
    return _from_waveform(attribution)


def _gradcam(model: nn.Module, clip: ClipInput, settings: GradCamSettings) -> MethodResult:
    if not clip.targets:
        return MethodResult(scores=np.zeros((0, N_EVAL_FRAMES), dtype=np.float32))
    layer = gradcam_layer(model, settings.layer)
    block_frames = gradcam(model, clip.waveform, clip.targets, layer)  # (k, T_layer)
    seconds = model.layer_frame_seconds(layer, block_frames.shape[1], len(clip.waveform))
    return MethodResult(scores=fw_to_eval_grid(block_frames.T, seconds).T.copy())


def _logmel_scores(model: Classifier, attribution: np.ndarray) -> MethodResult:
    seconds = float(model.logmel_frame_seconds or 0.0)
    return MethodResult(scores=logmel_frame_scores(attribution, seconds))


# No targets: class_gradients returns no rows, so both give (0, 100) scores.
def _logmel_ig(model: Classifier, clip: ClipInput, settings: LogmelIGSettings) -> MethodResult:
    return _logmel_scores(model, logmel_ig(model, clip.waveform, clip.targets, settings))


def _logmel_saliency(model: Classifier, clip: ClipInput, _settings: NoParameters) -> MethodResult:
    return _logmel_scores(model, logmel_saliency(model, clip.waveform, clip.targets))


def _logmel_deeplift(model: Classifier, clip: ClipInput, _settings: NoParameters) -> MethodResult:
    return _logmel_scores(model, logmel_deeplift(model, clip.waveform, clip.targets))


def _occlusion(model: nn.Module, clip: ClipInput, settings: OcclusionSettings) -> MethodResult:
    if not clip.targets:
        return MethodResult(scores=np.zeros((0, N_EVAL_FRAMES), dtype=np.float32))
    fill = fill_waveform(clip.waveform, clip.clip_id, settings.fill)
    drops = occlusion(model, clip.waveform, EVAL_FRAME_SAMPLES, settings.batch_size, fill)
    return MethodResult(scores=drops[list(clip.targets)].astype(np.float32))


def _surrogate(model: nn.Module, clip: ClipInput, settings: SeededSurrogate) -> MethodResult:
    generator = np.random.default_rng(clip_seed_sequence(clip.clip_id, settings.seed))
    fill = fill_waveform(clip.waveform, clip.clip_id, settings.surrogate.fill)
    scores = surrogate(
        model,
        clip.waveform,
        clip.targets,
        settings.surrogate,
        generator,
        EVAL_FRAME_SAMPLES,
        fill,
    )
    return MethodResult(scores=np.asarray(scores, dtype=np.float32).reshape(-1, N_EVAL_FRAMES))


def _rise(model: nn.Module, clip: ClipInput, settings: RiseSettings) -> MethodResult:
    generator = np.random.default_rng(clip_seed_sequence(clip.clip_id, settings.seed))
    fill = fill_waveform(clip.waveform, clip.clip_id, settings.fill)
    scores = rise(model, clip.waveform, clip.targets, settings, generator, EVAL_FRAME_SAMPLES, fill)
    return MethodResult(scores=np.asarray(scores, dtype=np.float32).reshape(-1, N_EVAL_FRAMES))


def _framewise(model: Classifier, clip: ClipInput, _settings: NoParameters) -> MethodResult:
    model.require([FRAME_OUTPUT], "a model-intrinsic method")
    parameter = next(model.parameters())
    waveform = torch.from_numpy(clip.waveform).to(parameter.device)[None, :]
    with torch.no_grad():
        frames = model.frame_probabilities(waveform).detach().to("cpu", torch.float32).numpy()
    if frames.ndim != 3 or frames.shape[0] != 1 or frames.shape[2] != N_CLASSES:
        raise ValueError(
            f"framewise model returned shape {frames.shape} for clip {clip.clip_id}; "
            f"expected (1, frames, {N_CLASSES})"
        )
    return MethodResult(
        scores=fw_to_eval_grid(frames[0], model.frame_seconds).T.copy(),
        clip_probabilities=frames[0].max(axis=0),
    )


def _model_frames(model: Classifier, clip: ClipInput, settings: NoParameters) -> MethodResult:
    """The model's own frame probabilities of the instances' classes."""
    if not clip.targets:
        return MethodResult(scores=np.zeros((0, N_EVAL_FRAMES), dtype=np.float32))
    frames = _framewise(model, clip, settings).scores
    return MethodResult(scores=frames[list(clip.targets)].copy())


def _energy(_model: None, clip: ClipInput, _settings: NoParameters) -> MethodResult:
    return MethodResult(scores=np.tile(energy_scores(clip.waveform), (N_CLASSES, 1)))


def _random(_model: None, clip: ClipInput, settings: SeededSettings) -> MethodResult:
    return MethodResult(scores=random_scores(clip.clip_id, settings.seed).T.copy())


def _plugin(model: nn.Module, clip: ClipInput, settings: PluginSettings) -> MethodResult:
    rows = plugin_rows(settings, model, clip.clip_id, clip.waveform, clip.targets)
    if settings.output == "waveform":
        return _from_waveform(rows)
    return MethodResult(scores=rows)


@dataclass(frozen=True)
class Implementation:
    """How one method reads its config section and scores one clip."""

    settings: Callable[[Mapping[str, Any]], Any]
    compute: Callable[[Any, ClipInput, Any], MethodResult]


def _no_parameters(params: Mapping[str, Any]) -> NoParameters:
    if params:
        raise ValueError(f"this method has no parameters, got {sorted(params)}")
    return NoParameters()


IMPLEMENTATIONS: dict[str, Implementation] = {
    "ig": Implementation(_ig_settings, _ig),
    "saliency": Implementation(_no_parameters, _saliency),
    "input_x_gradient": Implementation(_no_parameters, _input_x_gradient),
    "smoothgrad": Implementation(lambda p: SamplingSettings(**p), _smoothgrad),
    "gradient_shap": Implementation(lambda p: GradientShapSettings(**p), _gradient_shap),
    "gradcam": Implementation(lambda p: GradCamSettings(**p), _gradcam),
    "logmel_ig": Implementation(lambda p: LogmelIGSettings(**p), _logmel_ig),
    "logmel_saliency": Implementation(_no_parameters, _logmel_saliency),
    "logmel_deeplift": Implementation(_no_parameters, _logmel_deeplift),
    "occlusion": Implementation(lambda p: OcclusionSettings(**p), _occlusion),
    "surrogate": Implementation(_surrogate_settings, _surrogate),
    "rise": Implementation(lambda p: RiseSettings(**p), _rise),
    "fw_weak": Implementation(_no_parameters, _framewise),
    "fw_strong": Implementation(_no_parameters, _framewise),
    "model_frames": Implementation(_no_parameters, _model_frames),
    "energy": Implementation(_no_parameters, _energy),
    "random": Implementation(lambda p: SeededSettings(**p), _random),
}
assert tuple(IMPLEMENTATIONS) == METHOD_NAMES, "registry and catalogue disagree"


def implementation(name: str) -> Implementation:
    """Method `name`'s implementation: a built-in one, or a registered plug-in's."""
    if is_plugin(name):
        return Implementation(lambda params: plugin_settings(name, params), _plugin)
    if name not in IMPLEMENTATIONS:
        raise KeyError(f"unknown attribution method {name!r}; known: {', '.join(METHOD_INFO)}")
    return IMPLEMENTATIONS[name]


def method_settings(name: str, params: Mapping[str, Any]) -> Any:
    """The settings object of method `name` from its config section (ValueError if invalid)."""
    try:
        return implementation(name).settings(params)
    except TypeError as error:  # an unknown keyword
        raise ValueError(f"attribution.methods.{name}: {error}") from error
