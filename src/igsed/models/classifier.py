"""The classifier contract: all that an attribution method may assume of a model.

A classifier maps a waveform (B, N) at its own sample rate to clip probabilities (B, C), one
column per name in `classes`. Everything else is an optional capability that the model
declares in `capabilities`; a method never guesses one from the attributes it happens to
find (a user's module may have a `backbone` that means something else):

- `FRAME_OUTPUT`: `frame_probabilities(waveform)` -> (B, T, C) frame probabilities, each
  frame `frame_seconds` long (a SED model's own output; a model-intrinsic method).
- `LAYERS`: `layers()` -> {name: module} in forward order (Grad-CAM attributes at one of
  them; the sanity cascade re-initialises them from the top down, with the copies of a
  layer that `layer_copies()` names).
- `POWER_SPLIT`: CNN14's exact shortcuts, `forward(x) == from_power(power_spectrogram(x))`,
  with `occluded_power` and `masked_power` recomputing only the STFT windows a zeroed span
  reaches (the fused IG engine and the fast occlusion, faithfulness and gradient paths).
- `LOGMEL_SPLIT`: `forward(x) == from_logmel(logmel_input(x))`, the log-mel input (B, 1, T,
  bands) in dB on frames of `logmel_frame_seconds` (the spectrogram-domain methods).
- `MODULE_FORM`: `module_form(n_frames)` -> a module equal to `from_logmel` on log-mels of
  `n_frames` frames whose every non-linearity is an `nn.ReLU`, `nn.Sigmoid` or
  `nn.MaxPool1d` used once (DeepLift's rules attach to them; with LOGMEL_SPLIT).

`check_probabilities` is the check every caller of a model it did not build makes on the
first output: probabilities in [0, 1] of the declared shape, or an error naming the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from igsed.core.methods import (
    CAPABILITIES,
    FRAME_OUTPUT,
    LAYERS,
    LOGMEL_SPLIT,
    MODULE_FORM,
    POWER_SPLIT,
)

__all__ = [
    "CAPABILITIES",
    "FRAME_OUTPUT",
    "LAYERS",
    "LOGMEL_SPLIT",
    "MODULE_FORM",
    "POWER_SPLIT",
    "Classifier",
    "ClassifierError",
    "check_probabilities",
    "declares",
    "missing_capabilities",
]


class ClassifierError(ValueError):
    """A model that breaks the contract: the message names the model and what was wrong."""


def capability_error(
    user: str, missing: Sequence[str], model_name: str, declared: str
) -> ClassifierError:
    """What `user` (a method) says of a model lacking the capabilities `missing`."""
    return ClassifierError(
        f"{user} needs capabilities {list(missing)} that model {model_name!r} does not "
        f"declare ({declared})"
    )


class Classifier(nn.Module):
    """Base of every model a method explains: waveform (B, N) -> clip probabilities (B, C).

    Subclasses set `classes`, `sample_rate` and the capabilities they implement, and
    override `forward` (and the methods of each declared capability).
    """

    classes: tuple[str, ...] = ()
    sample_rate: int = 0
    capabilities: frozenset[str] = frozenset()
    frame_seconds: float | None = None  # with FRAME_OUTPUT: the length of one output frame
    logmel_frame_seconds: float | None = None  # with LOGMEL_SPLIT: the log-mel hop
    model_name: str = "model"  # for messages: the config's model name where there is one

    def has(self, capability: str) -> bool:
        if capability not in CAPABILITIES:
            raise ValueError(f"unknown capability {capability!r}; known: {CAPABILITIES}")
        return capability in self.capabilities

    def require(self, capabilities: Iterable[str], user: str) -> None:
        """A ClassifierError naming the model, the user (a method) and what it lacks."""
        missing = [c for c in capabilities if not self.has(c)]
        if missing:
            declared = f"it declares {sorted(self.capabilities) or 'none'}"
            raise capability_error(user, missing, self.model_name, declared)

    # With LAYERS: the layer Grad-CAM explains when its setting is `auto` (the last conv
    # block before the time pooling or recurrence).
    gradcam_layer: str = ""

    def layers(self) -> dict[str, nn.Module]:
        """{name: module} in forward order (capability LAYERS)."""
        self.require([LAYERS], "layers()")
        raise NotImplementedError

    def layer_copies(self) -> dict[str, list[nn.Module]]:
        """{layer name: modules outside `layers()` that hold a copy of that layer's weights
        and must stay equal to it} (with LAYERS; the sanity cascade re-initialises a copy
        with its layer). Layers sharing one Parameter need no entry."""
        return {}

    def layer_frame_seconds(self, layer: str, n_frames: int, n_samples: int) -> float:
        """Seconds per time step of a layer's output of `n_frames` steps for a waveform of
        `n_samples`: the clip's length shared out (a model with exact strides overrides)."""
        return n_samples / self.sample_rate / n_frames

    def frame_probabilities(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, T, C) frame probabilities (capability FRAME_OUTPUT)."""
        self.require([FRAME_OUTPUT], "frame_probabilities()")
        raise NotImplementedError

    def logmel_input(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, 1, T, bands) the log-mel the network reads (LOGMEL_SPLIT)."""
        self.require([LOGMEL_SPLIT], "logmel_input()")
        raise NotImplementedError

    def from_logmel(self, logmel: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, bands) log-mel -> (B, C) clip probabilities (LOGMEL_SPLIT)."""
        self.require([LOGMEL_SPLIT], "from_logmel()")
        raise NotImplementedError

    def module_form(self, n_frames: int) -> nn.Module:
        """`from_logmel` for log-mels of `n_frames` frames with module non-linearities
        (MODULE_FORM)."""
        self.require([MODULE_FORM], "module_form()")
        raise NotImplementedError


def missing_capabilities(model: object, needs: Iterable[str]) -> list[str]:
    """The capabilities of `needs` that `model` does not declare (all of them for a module
    that is no Classifier)."""
    declared = model.capabilities if isinstance(model, Classifier) else frozenset()
    return [need for need in needs if need not in declared]


def declares(model: object, capability: str) -> bool:
    """True when `model` is a Classifier declaring `capability`."""
    return not missing_capabilities(model, [capability])


def check_probabilities(
    probabilities: torch.Tensor, n_classes: int, batch: int, name: str, what: str = "clip"
) -> None:
    """Refuse outputs that are not (batch, ..., n_classes) probabilities in [0, 1].

    The message names the model and says what was wrong (logits instead of probabilities,
    a shape that does not match its declared classes, non-finite values).
    """
    shape = tuple(probabilities.shape)
    if len(shape) < 2 or shape[0] != batch or shape[-1] != n_classes:
        raise ClassifierError(
            f"model {name!r} returned {what} outputs of shape {shape} for {batch} waveform(s); "
            f"expected ({batch}, ..., {n_classes}): one column per declared class"
        )
    values = probabilities.detach()
    if not bool(torch.isfinite(values).all()):
        raise ClassifierError(f"model {name!r} returned non-finite {what} outputs")
    low, high = float(values.min()), float(values.max())
    if low < 0.0 or high > 1.0:
        raise ClassifierError(
            f"model {name!r} returned {what} outputs in [{low:.3g}, {high:.3g}], not "
            f"probabilities in [0, 1]: does it return logits? Apply a sigmoid in the model"
        )
