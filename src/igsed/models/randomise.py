"""Cascading model-parameter randomisation of a clip classifier (Adebayo et al., 2018).

A model's cascade is its named layers (capability LAYERS) from the top down: the last layer
of `layers()` first. Level k re-initialises the first k layers of the cascade, so level L
leaves nothing trained in any named layer. An attribution that still looks the same on such
a model does not explain what the model learned. CNN14's cascade is `CASCADE`: the clip
head's linear layer, fc1, then conv_block6 down to conv_block1; the CRNN's is
attention_linear, frame_linear, gru, then its conv blocks from the last.

- **As the models initialise them.** Every parameter of the layer is re-drawn, module by
  module in `modules()` order and within a module in `named_parameters` order: tensors of
  two or more dimensions (linear, conv and embedding weights, each GRU/LSTM weight matrix)
  Xavier-uniform, as PANNs' `init_layer` and `Cnn14.__init__` do; tensors of fewer (biases,
  and any other 1-D or scalar parameter) zero. A user's module with parameters of its own
  gets the same rule.
- **Normalisation is reset, not kept.** BatchNorm, InstanceNorm, LayerNorm and GroupNorm
  layers inside a cascade layer return to their initial state (PANNs' `init_bn` and torch's
  `reset_parameters`): weight 1, bias 0, running mean 0, running variance 1. Their
  statistics and affine parameters were learned from the trained layers' outputs; keeping
  them would keep trained state in a layer the cascade calls random (Adebayo et al.
  re-initialise all weights of a layer), and zeroing a scale would silence the network. The
  reset leaves an eval-mode BatchNorm an identity map (up to its epsilon), so random
  blocks' activations shrink with depth; rank correlations do not see that scale. Other
  buffers are kept.
- **Copies stay copies.** A model names modules outside its `layers()` that hold a copy of
  a layer (`Classifier.layer_copies`): CNN14's clip head runs its own frozen copy of the
  backbone's fc1 (igsed.models.heads.FrozenEmbedding); both get the same new weights, so
  the model stays one consistent network.
- **Seeded per layer.** Each layer's draws come from a generator keyed by (seed, layer
  name), drawn on the CPU in float32 whatever the model's device and dtype, so level k is
  level k-1 plus one more layer, whatever the order in which levels are built.

A model without LAYERS has no cascade: asking for one is a ClassifierError naming it.
"""

from __future__ import annotations

import copy
import hashlib
import logging

import numpy as np
import torch
from torch import nn

from igsed.formats.sanity import CASCADE_LAYERS
from igsed.models.classifier import LAYERS, ClassifierError, declares
from igsed.models.freeze import freeze

logger = logging.getLogger(__name__)

# CNN14's cascade (ExplainedModel.layers() reversed), the order its sanity tables hold.
CASCADE: tuple[str, ...] = CASCADE_LAYERS

# Reset to their initial state (weight 1, bias 0, fresh running statistics), never re-drawn.
_NORMS: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,  # BatchNorm*, SyncBatchNorm, InstanceNorm*
    nn.LayerNorm,
    nn.GroupNorm,
    *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()),
)


def model_cascade(model: nn.Module) -> tuple[str, ...]:
    """The model's layer names from the top down, or a ClassifierError naming the model."""
    if not declares(model, LAYERS):
        name = getattr(model, "model_name", type(model).__name__)
        raise ClassifierError(
            f"model {name!r} declares no named layers (capability {LAYERS!r}): the sanity "
            "check's cascading randomisation re-initialises a model's layers from the top "
            "down and cannot run on it"
        )
    return tuple(reversed(model.layers()))


def layer_generator(seed: int, layer: str) -> torch.Generator:
    """The random stream of `layer`'s new weights: a pure function of (seed, layer name)."""
    digest = hashlib.sha256(layer.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, len(digest), 4)]
    state = np.random.SeedSequence([int(seed), *words]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def cascade_layers(level: int, model: nn.Module | None = None) -> tuple[str, ...]:
    """The layers randomised at `level` (0 = none, L = all), top down: of `model`'s cascade,
    or CNN14's without a model."""
    cascade = CASCADE if model is None else model_cascade(model)
    if not 0 <= int(level) <= len(cascade):
        raise ValueError(f"randomisation level must be in 0..{len(cascade)}, got {level}")
    return cascade[: int(level)]


def _redraw(parameter: torch.Tensor, generator: torch.Generator) -> None:
    """Xavier-uniform draw into `parameter`, made on the CPU in float32 (device-independent)."""
    draw = torch.empty(parameter.shape, dtype=torch.float32)
    nn.init.xavier_uniform_(draw, generator=generator)
    parameter.copy_(draw)


def reinitialise(layer: nn.Module, generator: torch.Generator) -> int:
    """Re-initialise every parameter of `layer` in place (the module docstring's rules);
    return how many parameter tensors it holds."""
    count = 0
    for module in layer.modules():
        if isinstance(module, _NORMS):
            module.reset_parameters()
            count += sum(1 for _ in module.parameters(recurse=False))
            continue
        for parameter in module.parameters(recurse=False):
            if parameter.dim() >= 2:
                _redraw(parameter, generator)
            else:
                parameter.zero_()
            count += 1
        if isinstance(module, nn.RNNBase):
            module.flatten_parameters()  # cuDNN's packed copy of the weights
    return count


def randomise_layer(model: nn.Module, layer: str, seed: int) -> None:
    """Re-initialise one layer of the model's cascade in place (seeded by (seed, layer)),
    and every copy of it the model names."""
    cascade = model_cascade(model)
    if layer not in cascade:
        raise ValueError(f"layer {layer!r} is not one of the cascade's {cascade}")
    module = model.layers()[layer]
    with torch.no_grad():
        if reinitialise(module, layer_generator(seed, layer)) == 0:
            logger.warning("layer %r has no parameters: randomising it changes nothing", layer)
        for duplicate in model.layer_copies().get(layer, ()):
            duplicate.load_state_dict(module.state_dict())


def randomised_copy(model: nn.Module, level: int, seed: int) -> nn.Module:
    """A frozen copy of `model` with the first `level` layers of its cascade re-initialised.

    A new module object, so nothing cached for `model` (the attribution's optimised
    inference network, keyed by model) can serve the copy; `model` itself is untouched.
    """
    layers = cascade_layers(level, model)
    randomised = copy.deepcopy(model)
    for layer in layers:
        randomise_layer(randomised, layer, seed)
    return freeze(randomised)
