"""Cascading model-parameter randomisation of the clip classifier (Adebayo et al., 2018).

Level k re-initialises the first k layers of `CASCADE`, top down: the clip head's linear
layer, fc1, then conv_block6 down to conv_block1. An attribution that still looks the same
on such a model does not explain what the model learned.

- **As the model initialises them.** Linear and conv weights are re-drawn as PANNs'
  `init_layer` does (and `Cnn14.__init__`, igsed.models.cnn14): Xavier-uniform weights,
  zero biases.
- **BatchNorm is reset, not kept.** A conv block's two BatchNorm layers return to their
  initial state (PANNs' `init_bn` and torch's defaults): weight 1, bias 0, running mean 0,
  running variance 1. Their running statistics and affine parameters were learned from the
  trained convolutions' outputs; keeping them would keep trained state in a layer the
  cascade calls random (Adebayo et al. re-initialise all weights of a layer). The reset
  leaves an eval-mode BatchNorm an identity map (up to its epsilon), so the random blocks'
  activations shrink with depth; rank correlations do not see that scale.
- **fc1 exists twice.** The clip head runs its own frozen copy of the backbone's fc1
  (igsed.models.heads.FrozenEmbedding); both get the same new weights, so the model stays
  one consistent network.
- **Seeded per layer.** Each layer's draws come from a generator keyed by (seed, layer
  name), drawn on the CPU in float32 whatever the model's device and dtype, so level k is
  level k-1 plus one more layer, whatever the order in which levels are built.
"""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import torch
from torch import nn

from igsed.formats.sanity import CASCADE_LAYERS
from igsed.models.explained import ExplainedModel
from igsed.models.freeze import freeze

CASCADE: tuple[str, ...] = CASCADE_LAYERS


def layer_generator(seed: int, layer: str) -> torch.Generator:
    """The random stream of `layer`'s new weights: a pure function of (seed, layer name)."""
    digest = hashlib.sha256(layer.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, len(digest), 4)]
    state = np.random.SeedSequence([int(seed), *words]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def cascade_layers(level: int) -> tuple[str, ...]:
    """The layers randomised at `level` (0 = none, len(CASCADE) = all), top down."""
    if not 0 <= int(level) <= len(CASCADE):
        raise ValueError(f"randomisation level must be in 0..{len(CASCADE)}, got {level}")
    return CASCADE[: int(level)]


def _redraw(parameter: torch.Tensor, generator: torch.Generator) -> None:
    """Xavier-uniform draw into `parameter`, made on the CPU in float32 (device-independent)."""
    draw = torch.empty(parameter.shape, dtype=torch.float32)
    nn.init.xavier_uniform_(draw, generator=generator)
    parameter.copy_(draw)


def _reset_batch_norm(module: nn.BatchNorm2d) -> None:
    module.weight.fill_(1.0)
    module.bias.zero_()
    module.running_mean.zero_()
    module.running_var.fill_(1.0)
    if module.num_batches_tracked is not None:
        module.num_batches_tracked.zero_()


def _randomise_linears(linears: list[nn.Linear], generator: torch.Generator) -> None:
    """One draw for weights shared by several copies of a layer (fc1), zero biases."""
    _redraw(linears[0].weight, generator)
    for linear in linears:
        linear.weight.copy_(linears[0].weight)
        if linear.bias is not None:
            linear.bias.zero_()


def randomise_layer(model: ExplainedModel, layer: str, seed: int) -> None:
    """Re-initialise one layer of `CASCADE` in place (seeded by (seed, layer))."""
    if layer not in CASCADE:
        raise ValueError(f"layer {layer!r} is not one of the cascade's {CASCADE}")
    generator = layer_generator(seed, layer)
    with torch.no_grad():
        if layer == "clip_head":
            _randomise_linears([model.head.linear], generator)
        elif layer == "fc1":
            _randomise_linears([model.head.embedding.fc1, model.backbone.fc1], generator)
        else:
            block = getattr(model.backbone, layer)
            _redraw(block.conv1.weight, generator)
            _redraw(block.conv2.weight, generator)
            _reset_batch_norm(block.bn1)
            _reset_batch_norm(block.bn2)


def randomised_copy(model: ExplainedModel, level: int, seed: int) -> ExplainedModel:
    """A frozen copy of `model` with the first `level` layers of CASCADE re-initialised.

    A new module object, so nothing cached for `model` (the attribution's optimised
    inference network, keyed by model) can serve the copy; `model` itself is untouched.
    """
    layers = cascade_layers(level)
    randomised = copy.deepcopy(model)
    for layer in layers:
        randomise_layer(randomised, layer, seed)
    return freeze(randomised)
