"""Classifiers defined outside src/: the `python` model kind's entry points in the tests.

`tiny_sed` is a small SED model with its own labels (AudioSet-like names, several per class)
at 16 kHz, with frame output and named layers; `logits_model` breaks the contract by
returning logits.
"""

from __future__ import annotations

import torch
from torch import nn

from igsed.models.classifier import FRAME_OUTPUT, LAYERS, Classifier

TINY_SED_RATE = 16_000
TINY_SED_LABELS: tuple[str, ...] = ("Bark", "Growling", "Speech", "Conversation", "Music", "Meow")
TINY_SED_MAP: dict[str, str] = {
    "Bark": "Dog",
    "Growling": "Dog",
    "Speech": "Speech",
    "Conversation": "Speech",
    "Meow": "Cat",
}
FRAME_SAMPLES = 1600  # 0.1 s at 16 kHz
# The CRNN's sanity cascade: its named layers (igsed.models.crnn.Crnn.layers), top down.
CRNN_CASCADE = (
    "attention_linear",
    "frame_linear",
    "gru",
    "conv_block3",
    "conv_block2",
    "conv_block1",
)


class TinySed(Classifier):
    """Frame log-energies -> conv -> per-frame sigmoid over six labels; clip = max."""

    classes = TINY_SED_LABELS
    sample_rate = TINY_SED_RATE
    capabilities = frozenset({FRAME_OUTPUT, LAYERS})
    frame_seconds = FRAME_SAMPLES / TINY_SED_RATE

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.conv = nn.Conv1d(1, 8, kernel_size=3, padding=1)
        self.linear = nn.Linear(8, len(TINY_SED_LABELS))
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.copy_(0.5 * torch.randn(parameter.shape, generator=generator))

    def layers(self) -> dict[str, nn.Module]:
        return {"conv": self.conv, "linear": self.linear}

    def frame_probabilities(self, waveform: torch.Tensor) -> torch.Tensor:
        n_frames = waveform.shape[1] // FRAME_SAMPLES
        frames = waveform[:, : n_frames * FRAME_SAMPLES].reshape(-1, n_frames, FRAME_SAMPLES)
        energy = torch.log(frames.pow(2).mean(dim=-1) + 1e-6)[:, None, :]  # (B, 1, T)
        hidden = torch.relu(self.conv(energy)).transpose(1, 2)  # (B, T, 8)
        return torch.sigmoid(self.linear(hidden))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.frame_probabilities(waveform).amax(dim=1)


def tiny_sed(seed: int = 0) -> TinySed:
    return TinySed(seed)


class _Logits(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 3)
        with torch.no_grad():
            self.linear.weight.fill_(40.0)
            self.linear.bias.fill_(2.0)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.linear(waveform.abs().mean(dim=1, keepdim=True))


def logits_model() -> nn.Module:
    """Returns logits: outside [0, 1], which the contract refuses."""
    return _Logits()
