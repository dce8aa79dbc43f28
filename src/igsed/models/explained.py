"""The composed, frozen models the attribution stage runs on raw waveforms.

`ExplainedModel` is the clip classifier that IG explains (paper II-B, II-C):
waveform -> STFT power -> log-mel -> bn0 -> conv blocks -> frequency mean -> time pooling
-> fc1 + ReLU -> linear -> sigmoid. Its `power_spectrogram` / `from_power` split lets an IG
engine compute the power once and evaluate the network at alpha**2 * power, which is the
power of alpha * waveform; `forward(x) == from_power(power_spectrogram(x))`.

`FramewiseModel` is FW-WS or FW-SS: waveform -> (B, T', 10) frame probabilities.

Both follow the classifier contract (igsed.models.classifier) and declare what they offer:
the clip classifier its named layers and CNN14's power-spectrogram shortcuts, a framewise
model its frame output.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from igsed.core.checksums import file_digest
from igsed.core.constants import (
    CLASSES,
    LOGMEL_FRAME_SECONDS,
    MODEL_FRAME_SECONDS,
    SAMPLE_RATE,
    STFT_HOP,
)
from igsed.formats.weights import read_head_file, require_backbone
from igsed.models.classifier import (
    FRAME_OUTPUT,
    LAYERS,
    LOGMEL_SPLIT,
    MODULE_FORM,
    POWER_SPLIT,
    Classifier,
)
from igsed.models.cnn14 import Cnn14, load_backbone
from igsed.models.freeze import freeze
from igsed.models.heads import FRAMEWISE_HEADS, ClipHead, FramewiseHead, load_head
from igsed.models.modular import ModularClassifier


def _check_pair(backbone_path: Path, head_path: Path) -> str:
    sha256 = file_digest(backbone_path)
    recorded = str(read_head_file(head_path)["backbone_sha256"])
    require_backbone(
        recorded, sha256, made=head_path, backbone=backbone_path, remedy="retrain the head"
    )
    return sha256


GRADCAM_LAYERS: tuple[str, ...] = tuple(f"conv_block{i}" for i in range(1, 7))


def block_frame_seconds(layer: str) -> float:
    """Seconds per time step of a conv block's output: blocks 1-5 halve the time axis."""
    if layer not in GRADCAM_LAYERS:
        raise ValueError(f"Grad-CAM layer {layer!r} is not one of {GRADCAM_LAYERS}")
    index = int(layer.removeprefix("conv_block"))
    return STFT_HOP / SAMPLE_RATE * 2 ** min(index, 5)


class ExplainedModel(Classifier):
    """(B, N) waveform -> (B, 10) sigmoid class probabilities of the clip classifier."""

    classes: tuple[str, ...] = CLASSES
    sample_rate = SAMPLE_RATE
    capabilities = frozenset({LAYERS, POWER_SPLIT, LOGMEL_SPLIT, MODULE_FORM})
    logmel_frame_seconds = LOGMEL_FRAME_SECONDS
    model_name = "cnn14"
    gradcam_layer = "conv_block6"

    def __init__(self, backbone: Cnn14, head: ClipHead, backbone_sha256: str = "") -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.backbone_sha256 = backbone_sha256

    @property
    def clip_pooling(self) -> str:
        return self.head.pooling

    def layers(self) -> dict[str, nn.Module]:
        """The conv blocks, fc1 (the clip head's copy) and the head's linear layer."""
        blocks = {f"conv_block{i}": block for i, block in enumerate(self.backbone.conv_blocks(), 1)}
        return {**blocks, "fc1": self.head.embedding.fc1, "clip_head": self.head.linear}

    def layer_copies(self) -> dict[str, list[nn.Module]]:
        """The backbone's own fc1, which the clip head's frozen copy of fc1 was made from."""
        return {"fc1": [self.backbone.fc1]}

    def layer_frame_seconds(self, layer: str, n_frames: int, n_samples: int) -> float:
        """CNN14's conv blocks have exact strides (the clip's frames are not a whole number
        of block frames)."""
        return block_frame_seconds(layer)

    def power_spectrogram(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, 1, T, 513) STFT power (no learned parameters)."""
        return self.backbone.power_spectrogram(waveform)

    def occluded_power(self, waveform: torch.Tensor, spans: list[tuple[int, int]]) -> torch.Tensor:
        """Power of copies of a (1, N) waveform with one span each zeroed (Cnn14.occluded_power)."""
        return self.backbone.occluded_power(waveform, spans)

    def masked_power(self, waveform: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Power of copies of a (1, N) waveform with slices zeroed (Cnn14.masked_power)."""
        return self.backbone.masked_power(waveform, keep)

    def logits_from_power(self, power: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.frame_features_from_power(power))

    def from_power(self, power: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, 513) power -> (B, 10) probabilities."""
        return torch.sigmoid(self.logits_from_power(power))

    def logmel_input(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, 1, T, 64) log-mel in dB (T = N / 320 + 1)."""
        return self.backbone.logmel(self.power_spectrogram(waveform))

    def from_logmel(self, logmel: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, 64) log-mel -> (B, 10) probabilities."""
        return torch.sigmoid(self.head(self.backbone.frame_features_from_logmel(logmel)))

    def module_form(self, n_frames: int) -> ModularClassifier:
        """`from_logmel` with module non-linearities, on this model's own parameters."""
        return ModularClassifier(self.backbone, self.head, n_frames).eval()

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.from_power(self.power_spectrogram(waveform))


class FramewiseModel(Classifier):
    """(B, N) waveform -> (B, 10) clip probabilities, the max over its (B, T', 10) frame
    probabilities (paper Eq. (2); T' = 31 for 10 s), which are its model-intrinsic output."""

    classes: tuple[str, ...] = CLASSES
    sample_rate = SAMPLE_RATE
    capabilities = frozenset({FRAME_OUTPUT})
    frame_seconds = MODEL_FRAME_SECONDS

    def __init__(self, backbone: Cnn14, head: FramewiseHead, backbone_sha256: str = "") -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.backbone_sha256 = backbone_sha256

    def from_power(self, power: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(self.backbone.frame_features_from_power(power)))

    def frame_probabilities(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, T', 10)."""
        return self.from_power(self.backbone.power_spectrogram(waveform))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.frame_probabilities(waveform).max(dim=1).values


def load_explained_model(
    backbone_path: Path, clip_head_path: Path, device: torch.device | str = "cpu"
) -> ExplainedModel:
    """The frozen clip classifier (eval mode, no parameter requires grad) on `device`."""
    sha256 = _check_pair(Path(backbone_path), Path(clip_head_path))
    backbone = load_backbone(Path(backbone_path), "cpu")
    head = load_head(Path(clip_head_path), backbone, expected="clip")
    assert isinstance(head, ClipHead)
    model = ExplainedModel(backbone, head, sha256)
    freeze(model, device)
    return model


def load_framewise_model(
    backbone_path: Path, head_path: Path, device: torch.device | str = "cpu"
) -> FramewiseModel:
    """The frozen FW-WS or FW-SS model (eval mode, no parameter requires grad) on `device`."""
    sha256 = _check_pair(Path(backbone_path), Path(head_path))
    backbone = load_backbone(Path(backbone_path), "cpu")
    head = load_head(Path(head_path), backbone, expected=FRAMEWISE_HEADS)
    assert isinstance(head, FramewiseHead)
    model = FramewiseModel(backbone, head, sha256)
    freeze(model, device)
    return model
