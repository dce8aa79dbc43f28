"""CNN14's clip classifier from the log-mel on, with every non-linearity a module used once.

DeepLift's rules (and Captum's `DeepLift`, which the tests compare with) attach to
non-linear modules: `nn.ReLU`, `nn.Sigmoid`, `nn.MaxPool1d`. Stock CNN14 applies them as
functions (`F.relu` in `ConvBlock.forward`, the time max in the clip head, `torch.sigmoid`),
which no hook sees. `ModularClassifier` is the same function built from the same parameter
modules (shared, not copied: a randomised or retrained model gives its own form), with:

- two `nn.ReLU` per conv block and one after fc1, each used once;
- the blocks' 2x2 average pooling as `nn.AvgPool2d` (linear: no rule needed);
- the clip head's global max over time as an `nn.MaxPool1d` whose kernel spans the
  clip's frames (so the form is built for one log-mel length);
- the output sigmoid as `nn.Sigmoid`.

Batch norm and dropout act as in eval mode (an affine map and the identity). The form equals
`ExplainedModel.from_logmel` to float rounding (tests/methods/test_deeplift.py); its
parameter names are the backbone's (`bn0`, `conv_block1.conv1.weight`, ..., `fc1`) and the
head's `clip_head`.
"""

from __future__ import annotations

import torch
from torch import nn

from igsed.models.cnn14 import Cnn14, ConvBlock
from igsed.models.heads import ClipHead


class ModularConvBlock(nn.Module):
    """A CNN14 conv block's modules with its ReLUs and pooling as modules."""

    def __init__(self, block: ConvBlock, pool: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = block.conv1, block.bn1
        self.conv2, self.bn2 = block.conv2, block.bn2
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()
        self.pool: nn.Module = nn.AvgPool2d(pool) if pool > 1 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.relu2(self.bn2(self.conv2(x)))
        return self.pool(x)


def pooled_frames(n_logmel_frames: int, n_blocks: int) -> int:
    """Frames left after the blocks' time poolings (all but the last halve, flooring)."""
    frames = int(n_logmel_frames)
    for _ in range(n_blocks - 1):
        frames //= 2
    return frames


class ModularClassifier(nn.Module):
    """(B, 1, T, bands) log-mel -> (B, 10) clip probabilities, T fixed at construction."""

    def __init__(self, backbone: Cnn14, head: ClipHead, n_logmel_frames: int) -> None:
        super().__init__()
        blocks = backbone.conv_blocks()
        self.bn0 = backbone.bn0
        for index, block in enumerate(blocks, start=1):
            pool = 2 if index < len(blocks) else 1
            self.add_module(f"conv_block{index}", ModularConvBlock(block, pool))
        self.n_blocks = len(blocks)
        self.pooling = head.pooling
        frames = pooled_frames(n_logmel_frames, len(blocks))
        if frames < 1:
            raise ValueError(f"a log-mel of {n_logmel_frames} frames leaves no frame to pool")
        self.time_max = nn.MaxPool1d(kernel_size=frames)
        self.fc1 = head.embedding.fc1
        self.relu = nn.ReLU()
        self.clip_head = head.linear
        self.sigmoid = nn.Sigmoid()

    def _pooled(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, D, T') -> (B, D), as igsed.models.cnn14.pool_time over time."""
        if self.pooling == "mean":
            return frames.mean(dim=2)
        maximum = self.time_max(frames).squeeze(2)
        return maximum if self.pooling == "max" else maximum + frames.mean(dim=2)

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        x = self.bn0(logmel.transpose(1, 3)).transpose(1, 3)
        for index in range(1, self.n_blocks + 1):
            x = getattr(self, f"conv_block{index}")(x)
        frames = x.mean(dim=3)  # (B, D, T'): the frequency mean, time last for the pooling
        return self.sigmoid(self.clip_head(self.relu(self.fc1(self._pooled(frames)))))
