"""The three trainable heads on top of the frozen CNN14 frame features (paper II-B, III-A).

All three keep the backbone's pretrained fc1 (+ ReLU) frozen, as in CNN14, and train one
10-class linear layer:

- `clip`: time pooling of the frame features (global max, the paper; or max + mean as in
  PANNs) -> fc1 + ReLU -> linear -> sigmoid. The classifier that IG explains.
- `fw_weak` (FW-WS): fc1 + ReLU -> linear per frame -> sigmoid; clip score = max over frames;
  trained on clip labels.
- `fw_strong` (FW-SS): the same per-frame model trained on frame labels at the model's
  resolution (0.32 s).

Because sigmoid is increasing, max over frames of sigmoid(z) = sigmoid(max over frames of z):
the weak head's clip logit is the frame-logit maximum, which keeps BCE numerically stable.

A head file holds only the trained linear layer and what it was trained against; fc1 comes
from the backbone file whose sha256 the head records.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from igsed.core.constants import N_CLASSES
from igsed.formats.weights import read_head_file, write_head_file
from igsed.models.cnn14 import TIME_POOLINGS, Cnn14, pool_time
from igsed.models.freeze import freeze

HEADS: tuple[str, ...] = ("clip", "fw_weak", "fw_strong")
FRAMEWISE_HEADS: tuple[str, ...] = ("fw_weak", "fw_strong")


def check_head_name(head: str) -> None:
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; expected one of {HEADS}")


class FrozenEmbedding(nn.Module):
    """ReLU(fc1(x)) with a frozen copy of the backbone's fc1; works on (..., D)."""

    def __init__(self, fc1: nn.Linear) -> None:
        super().__init__()
        self.fc1 = nn.Linear(fc1.in_features, fc1.out_features)
        with torch.no_grad():
            self.fc1.weight.copy_(fc1.weight)
            self.fc1.bias.copy_(fc1.bias)
        freeze(self)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc1(features))


class ClipHead(nn.Module):
    """(B, T', D) frame features -> (B, 10) logits: pool over time, fc1 + ReLU, linear."""

    def __init__(self, embedding: FrozenEmbedding, pooling: str = "max") -> None:
        super().__init__()
        if pooling not in TIME_POOLINGS:
            raise ValueError(f"clip head pooling {pooling!r}; expected one of {TIME_POOLINGS}")
        self.pooling = pooling
        self.embedding = embedding
        self.linear = nn.Linear(embedding.fc1.out_features, N_CLASSES)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.linear(self.embedding(pool_time(frames, self.pooling)))


class FramewiseHead(nn.Module):
    """(B, T', D) frame features -> (B, T', 10) frame logits: fc1 + ReLU, linear, per frame."""

    def __init__(self, embedding: FrozenEmbedding) -> None:
        super().__init__()
        self.embedding = embedding
        self.linear = nn.Linear(embedding.fc1.out_features, N_CLASSES)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.linear(self.embedding(frames))

    @staticmethod
    def clip_logits(frame_logits: torch.Tensor) -> torch.Tensor:
        """Clip logit = max over frames (equal to max-pooling the frame probabilities)."""
        return frame_logits.max(dim=1).values


def make_head(head: str, backbone: Cnn14, clip_pooling: str = "max") -> ClipHead | FramewiseHead:
    """A fresh head on `backbone`'s fc1 (the linear layer initialised by torch's default)."""
    check_head_name(head)
    embedding = FrozenEmbedding(backbone.fc1)
    if head == "clip":
        return ClipHead(embedding, clip_pooling)
    return FramewiseHead(embedding)


def save_head(
    module: ClipHead | FramewiseHead,
    path: Path,
    *,
    head: str,
    backbone_sha256: str,
    training: Mapping[str, Any],
) -> None:
    check_head_name(head)
    write_head_file(
        path,
        module.linear.state_dict(),
        head=head,
        clip_pooling=module.pooling if isinstance(module, ClipHead) else None,
        backbone_sha256=backbone_sha256,
        training=training,
    )


def load_head(
    path: Path, backbone: Cnn14, *, expected: str | tuple[str, ...] | None = None
) -> ClipHead | FramewiseHead:
    """The head of `path` on `backbone`'s fc1, in eval mode with frozen parameters."""
    payload = read_head_file(path)
    head = str(payload["head"])
    check_head_name(head)
    allowed = (expected,) if isinstance(expected, str) else expected
    if allowed is not None and head not in allowed:
        raise ValueError(f"{path}: a {head!r} head, expected one of {allowed}")
    if int(payload["embedding_dim"]) != backbone.embedding_dim:
        raise ValueError(
            f"{path}: head for D={payload['embedding_dim']}, "
            f"backbone has D={backbone.embedding_dim}"
        )
    module = make_head(head, backbone, str(payload.get("clip_pooling") or "max"))
    module.linear.load_state_dict(payload["state_dict"], strict=True)
    freeze(module)
    return module
