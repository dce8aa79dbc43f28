"""A user's classifier behind the contract: a TorchScript file or a Python entry point.

The spec (config `models.<name>`) gives what a file cannot say about itself:

- `classes`: the model's own output labels, in column order;
- `sample_rate`: the rate its forward expects (clips are resampled to it inside the model,
  with torchaudio, so gradients reach the 32 kHz waveform the methods attribute);
- `class_map`: its labels -> the ten classes, many-to-one (as AudioSet labels map to DESED
  classes); a class's probability is the maximum over its labels; labels left out are
  ignored and listed in the log, a class no label maps to has probability 0;
- `frame_seconds` (optional): the model's module also has `frame_probabilities(waveform)` ->
  (B, T, L) frames of that length (a SED model's own output, a model-intrinsic method).

A `python` entry `package.module:function` returns the module; if it is a Classifier it may
declare its named layers (Grad-CAM, the sanity cascade) and give its classes and rate itself.
The first output of the wrapped model is checked (probabilities in [0, 1], one column per
label), and a model that breaks the contract fails naming itself.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from igsed.core.checksums import file_digest
from igsed.core.constants import CLASSES, SAMPLE_RATE
from igsed.models.classifier import (
    FRAME_OUTPUT,
    LAYERS,
    Classifier,
    ClassifierError,
    check_probabilities,
)
from igsed.models.freeze import freeze

logger = logging.getLogger(__name__)

USER_KINDS: tuple[str, ...] = ("torchscript", "python")


@dataclass(frozen=True)
class UserModelSpec:
    """One `models.<name>` entry of kind torchscript or python."""

    name: str
    kind: str
    source: str  # the TorchScript file, or `package.module:function`
    class_map: Mapping[str, str]
    classes: tuple[str, ...] = ()
    sample_rate: int = 0
    frame_seconds: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in USER_KINDS:
            raise ClassifierError(
                f"model {self.name!r}: kind {self.kind!r} is not a user kind; allowed: "
                f"{', '.join(USER_KINDS)}"
            )
        unknown = sorted(set(self.class_map.values()) - set(CLASSES))
        if unknown:
            raise ClassifierError(
                f"model {self.name!r}: class_map sends labels to {unknown}, which are not among "
                f"the ten classes ({', '.join(CLASSES)})"
            )


def _label_index(name: str, labels: Sequence[str], class_map: Mapping[str, str]) -> list[list[int]]:
    """For each of the ten classes, the columns of the labels that map to it."""
    unknown = sorted(set(class_map) - set(labels))
    if unknown:
        raise ClassifierError(
            f"model {name!r}: class_map names labels {unknown} that the model does not have"
        )
    columns = [[i for i, label in enumerate(labels) if class_map.get(label) == c] for c in CLASSES]
    ignored = [label for label in labels if label not in class_map]
    if ignored:
        logger.info("model %s: %d labels not mapped, ignored: %s", name, len(ignored), ignored)
    absent = [c for c, cols in zip(CLASSES, columns, strict=True) if not cols]
    if absent:
        logger.warning("model %s: no label maps to %s (probability 0)", name, absent)
    return columns


class MappedClassifier(Classifier):
    """A user's module, resampled and mapped onto the ten classes, checked on first use."""

    classes = CLASSES
    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        module: nn.Module,
        name: str,
        labels: Sequence[str],
        model_rate: int,
        class_map: Mapping[str, str],
        frame_seconds: float | None = None,
    ) -> None:
        super().__init__()
        self.module = module
        self.model_name = name
        self.labels = tuple(labels)
        self.model_rate = int(model_rate)
        self.columns = _label_index(name, self.labels, class_map)
        self.frame_seconds = frame_seconds
        declared = {FRAME_OUTPUT} if frame_seconds is not None else set()
        if isinstance(module, Classifier) and module.has(LAYERS):
            declared.add(LAYERS)
        self.capabilities = frozenset(declared)
        self._checked: set[str] = set()

    def _resampled(self, waveform: torch.Tensor) -> torch.Tensor:
        if self.model_rate == SAMPLE_RATE:
            return waveform
        import torchaudio.functional as audio_functional  # only models at another rate need it

        return audio_functional.resample(waveform, SAMPLE_RATE, self.model_rate)

    def _mapped(self, outputs: torch.Tensor, batch: int, what: str) -> torch.Tensor:
        if what not in self._checked:
            check_probabilities(outputs, len(self.labels), batch, self.model_name, what)
            self._checked.add(what)
        zeros = torch.zeros_like(outputs[..., 0])
        mapped = [outputs[..., cols].amax(dim=-1) if cols else zeros for cols in self.columns]
        return torch.stack(mapped, dim=-1)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        outputs = self.module(self._resampled(waveform))
        return self._mapped(outputs, waveform.shape[0], "clip")

    def frame_probabilities(self, waveform: torch.Tensor) -> torch.Tensor:
        self.require([FRAME_OUTPUT], "frame_probabilities()")
        frames = self.module.frame_probabilities(self._resampled(waveform))
        return self._mapped(frames, waveform.shape[0], "frame")

    def layers(self) -> dict[str, nn.Module]:
        self.require([LAYERS], "layers()")
        assert isinstance(self.module, Classifier)
        return self.module.layers()

    def layer_copies(self) -> dict[str, list[nn.Module]]:
        return self.module.layer_copies() if isinstance(self.module, Classifier) else {}


def entry_point_file(entry: str) -> Path:
    """The source file of `package.module:function`: what the model's checksum covers."""
    module = importlib.import_module(entry.partition(":")[0])
    return Path(inspect.getsourcefile(module) or "")


def _python_module(spec: UserModelSpec) -> nn.Module:
    module_name, _, function_name = spec.source.partition(":")
    if not module_name or not function_name:
        raise ClassifierError(
            f"model {spec.name!r}: python entry {spec.source!r} is not 'package.module:function'"
        )
    try:
        factory = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise ClassifierError(
            f"model {spec.name!r}: cannot import {spec.source!r} ({error})"
        ) from error
    module = factory(**dict(spec.extra))
    if not isinstance(module, nn.Module):
        raise ClassifierError(
            f"model {spec.name!r}: {spec.source} returned {type(module).__name__}, not a "
            f"torch.nn.Module"
        )
    return module


def _torchscript_module(spec: UserModelSpec) -> nn.Module:
    path = Path(spec.source)
    if not path.is_file():
        raise ClassifierError(f"model {spec.name!r}: TorchScript file not found: {path}")
    try:
        return torch.jit.load(str(path), map_location="cpu")
    except RuntimeError as error:
        raise ClassifierError(
            f"model {spec.name!r}: {path} is not a TorchScript file saved with torch.jit.save "
            f"({str(error).splitlines()[0]})"
        ) from error


def load_user_model(spec: UserModelSpec, device: torch.device | str = "cpu") -> MappedClassifier:
    """The frozen, mapped classifier of a user's spec, on `device`."""
    module = _torchscript_module(spec) if spec.kind == "torchscript" else _python_module(spec)
    own = module if isinstance(module, Classifier) else None
    labels = spec.classes or (own.classes if own is not None else ())
    rate = spec.sample_rate or (own.sample_rate if own is not None else 0)
    if not labels or not rate:
        raise ClassifierError(
            f"model {spec.name!r}: give its `classes` and `sample_rate` in the config "
            f"(a {spec.kind} model cannot say them itself)"
        )
    frame_seconds = spec.frame_seconds
    if frame_seconds is None and own is not None and own.has(FRAME_OUTPUT):
        frame_seconds = own.frame_seconds
    if frame_seconds is not None and not hasattr(module, "frame_probabilities"):
        raise ClassifierError(
            f"model {spec.name!r}: frame_seconds is set but the module has no "
            f"frame_probabilities() (export it with @torch.jit.export)"
        )
    mapped = MappedClassifier(module, spec.name, labels, rate, spec.class_map, frame_seconds)
    freeze(mapped, device)
    return mapped


def user_model_digest(spec: UserModelSpec) -> str:
    """The sha256 of what the model's numbers come from: the file, or the entry's source."""
    if spec.kind == "torchscript":
        return file_digest(Path(spec.source))
    return file_digest(entry_point_file(spec.source))
