"""A CRNN shaped like the DCASE Task 4 baseline: the second architecture of the benchmark.

waveform (32 kHz) -> STFT power (torch.stft, 1024-sample Hann window, 320-sample hop) ->
64-band log-mel in dB (CNN14's filterbank, 50 Hz - 14 kHz) -> per-band BatchNorm -> conv
blocks (3x3 conv, BN, ReLU, average pooling over time and frequency) -> frequency mean ->
bidirectional GRU -> frame sigmoid (B, T, 10) -> attention pooling to the clip (B, 10): a
softmax over time of a second linear layer weights the frame probabilities, as in the
baseline (or max pooling). It is trained on clip labels only, like the clip classifier.

Where CNN14 pools over time before its classifier, this model decides per frame and pools
the decisions: it is a SED model with a frame output of its own (a model-intrinsic method)
and named layers for Grad-CAM and the sanity cascade. The defaults keep it small enough to
train in minutes on two CPU cores (about 60 k parameters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from igsed.core.constants import CLASSES, LOGMEL_FRAME_SECONDS, SAMPLE_RATE, STFT_HOP
from igsed.models.classifier import FRAME_OUTPUT, LAYERS, LOGMEL_SPLIT, Classifier
from igsed.models.cnn14 import N_FFT, mel_filterbank, power_to_db

CLIP_POOLINGS: tuple[str, ...] = ("attention", "max")


@dataclass(frozen=True)
class CrnnShape:
    """The architecture's sizes (config `models.<name>` of kind crnn)."""

    channels: tuple[int, ...] = (16, 32, 64)
    time_pools: tuple[int, ...] = (2, 2, 2)  # 10 ms STFT hop x 8 = 80 ms frames
    freq_pools: tuple[int, ...] = (4, 4, 2)
    gru_hidden: int = 32
    pooling: str = "attention"
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if not len(self.channels) == len(self.time_pools) == len(self.freq_pools) >= 1:
            raise ValueError(
                "crnn channels, time_pools and freq_pools need one entry per conv block, "
                f"got {self.channels}, {self.time_pools}, {self.freq_pools}"
            )
        if self.pooling not in CLIP_POOLINGS:
            raise ValueError(f"crnn pooling {self.pooling!r}; allowed: {', '.join(CLIP_POOLINGS)}")
        if min(*self.channels, *self.time_pools, *self.freq_pools, self.gru_hidden) < 1:
            raise ValueError("crnn sizes must be positive integers")

    @property
    def frame_seconds(self) -> float:
        time_pool = 1
        for pool in self.time_pools:
            time_pool *= pool
        return STFT_HOP * time_pool / SAMPLE_RATE

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> CrnnShape:
        """The shape of `as_dict` or a config's `shape:` (lists, as YAML and torch.load give
        them, become the tuples the fields hold)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


class CrnnBlock(nn.Module):
    """3x3 conv, BatchNorm, ReLU, average pooling over (time, frequency)."""

    def __init__(self, in_channels: int, out_channels: int, pool: tuple[int, int]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(F.relu(self.bn(self.conv(x))), kernel_size=self.pool)


class Crnn(Classifier):
    """(B, N) 32 kHz waveform -> (B, 10) clip probabilities; frames via frame_probabilities."""

    classes = CLASSES
    sample_rate = SAMPLE_RATE
    capabilities = frozenset({FRAME_OUTPUT, LAYERS, LOGMEL_SPLIT})
    logmel_frame_seconds = LOGMEL_FRAME_SECONDS
    model_name = "crnn"

    def __init__(self, shape: CrnnShape | None = None) -> None:
        super().__init__()
        self.shape = shape or CrnnShape()
        self.frame_seconds = self.shape.frame_seconds
        self.register_buffer("window", torch.hann_window(N_FFT, periodic=True), persistent=False)
        self.register_buffer("mel", torch.from_numpy(mel_filterbank()).float(), persistent=False)
        self.bn0 = nn.BatchNorm2d(self.mel.shape[1])
        blocks, channels = [], 1
        for out, time_pool, freq_pool in zip(
            self.shape.channels, self.shape.time_pools, self.shape.freq_pools, strict=True
        ):
            blocks.append(CrnnBlock(channels, out, (time_pool, freq_pool)))
            channels = out
        self.blocks = nn.ModuleList(blocks)
        self.gru = nn.GRU(channels, self.shape.gru_hidden, batch_first=True, bidirectional=True)
        self.frame_linear = nn.Linear(2 * self.shape.gru_hidden, len(CLASSES))
        self.attention_linear = nn.Linear(2 * self.shape.gru_hidden, len(CLASSES))

    def logmel(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, 1, T, 64) log-mel in dB (T = N / 320 + 1, centred frames)."""
        spectrum = torch.stft(
            waveform,
            N_FFT,
            hop_length=STFT_HOP,
            window=self.window.to(waveform.dtype),
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        power = spectrum.real.square() + spectrum.imag.square()  # (B, 513, T)
        return power_to_db(power.transpose(1, 2) @ self.mel.to(power.dtype))[:, None]

    def _frame_states(self, logmel: torch.Tensor) -> torch.Tensor:
        x = self.bn0(logmel.transpose(1, 3)).transpose(1, 3)
        for block in self.blocks:
            x = block(x)
        x = F.dropout(x.mean(dim=3).transpose(1, 2), self.shape.dropout, self.training)
        states, _ = self.gru(x)  # (B, T, 2 hidden)
        return F.dropout(states, self.shape.dropout, self.training)

    def outputs_from_logmel(self, logmel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, T, 64) log-mel -> frame probabilities (B, T', 10) and clip (B, 10).

        The front end has no learned parameters, so training runs from cached log-mels."""
        states = self._frame_states(logmel)
        frames = torch.sigmoid(self.frame_linear(states))
        if self.shape.pooling == "max":
            return frames, frames.amax(dim=1)
        weights = torch.softmax(self.attention_linear(states), dim=1)
        return frames, (frames * weights).sum(dim=1)

    def frame_probabilities(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, T', 10), T' = N / 2560 (+1) frames of `frame_seconds`."""
        return self.outputs_from_logmel(self.logmel(waveform))[0]

    def logmel_input(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.logmel(waveform)

    def from_logmel(self, logmel: torch.Tensor) -> torch.Tensor:
        return self.outputs_from_logmel(logmel)[1]

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.outputs_from_logmel(self.logmel(waveform))[1]

    @property
    def gradcam_layer(self) -> str:  # type: ignore[override]
        return f"conv_block{len(self.blocks)}"

    def layers(self) -> dict[str, nn.Module]:
        """The conv blocks, the GRU, the frame classifier and its attention, in forward order."""
        blocks = {f"conv_block{i}": block for i, block in enumerate(self.blocks, 1)}
        return {
            **blocks,
            "gru": self.gru,
            "frame_linear": self.frame_linear,
            "attention_linear": self.attention_linear,
        }
