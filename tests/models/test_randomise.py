"""Cascading randomisation: level k re-initialises exactly the top k layers, reproducibly."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from support.explained import one_torch_thread, random_explained  # noqa: F401 - autouse

from igsed.formats.sanity import CASCADE_LAYERS
from igsed.models.explained import ExplainedModel
from igsed.models.randomise import (
    CASCADE,
    cascade_layers,
    layer_generator,
    randomise_layer,
    randomised_copy,
)

WIDTH = 1 / 16
SEED = 7


@pytest.fixture(scope="module")
def model() -> ExplainedModel:
    """A random CNN14 + clip head whose BatchNorms differ from their initial state."""
    return random_explained(WIDTH, seed=0)


def _layer(name: str) -> str | None:
    """The cascade layer a state-dict entry belongs to (None: never randomised)."""
    if name.startswith("head.linear."):
        return "clip_head"
    if name.startswith(("head.embedding.fc1.", "backbone.fc1.")):
        return "fc1"
    parts = name.split(".")
    if parts[0] == "backbone" and parts[1].startswith("conv_block"):
        return parts[1]
    return None  # the STFT and mel front end, bn0, the unused fc_audioset


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def _assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name


def test_the_cascade_runs_top_down(model: ExplainedModel) -> None:
    assert CASCADE == CASCADE_LAYERS
    assert ("clip_head", "fc1", *(f"conv_block{i}" for i in (6, 5, 4, 3, 2, 1))) == CASCADE
    assert cascade_layers(0) == () and cascade_layers(8) == CASCADE
    assert cascade_layers(3) == ("clip_head", "fc1", "conv_block6")
    for bad in (-1, 9):
        with pytest.raises(ValueError, match="0..8"):
            cascade_layers(bad)
    with pytest.raises(ValueError, match="bn0"):
        randomise_layer(model, "bn0", SEED)  # refused before anything changes


@pytest.mark.parametrize("level", range(len(CASCADE) + 1))
def test_level_k_changes_exactly_the_first_k_layers(model: ExplainedModel, level: int) -> None:
    before = _state(model)
    randomised = randomised_copy(model, level, SEED)
    for name, original in before.items():
        assert torch.equal(model.state_dict()[name], original), f"{name}: original changed"
        new = randomised.state_dict()[name]
        if _layer(name) in CASCADE[:level]:
            # Both are 0 before and after (CNN14 initialises fc1's bias to 0 too).
            if not name.endswith(("num_batches_tracked", "fc1.bias")):
                assert not torch.equal(new, original), f"level {level}: {name} not randomised"
        else:
            assert torch.equal(new, original), f"level {level}: {name} changed"
    assert randomised is not model and not randomised.training
    assert not any(p.requires_grad for p in randomised.parameters())


def test_layers_are_reinitialised_as_panns_init_does(model: ExplainedModel) -> None:
    randomised = randomised_copy(model, len(CASCADE), SEED)
    head, backbone = randomised.head, randomised.backbone
    assert torch.equal(head.embedding.fc1.weight, backbone.fc1.weight)
    for linear in (head.linear, head.embedding.fc1, backbone.fc1):
        assert torch.count_nonzero(linear.bias) == 0
        bound = math.sqrt(6 / (linear.in_features + linear.out_features))  # Xavier-uniform
        assert linear.weight.abs().max() <= bound and linear.weight.std() > bound / 3
    for block in backbone.conv_blocks():
        for conv in (block.conv1, block.conv2):
            fan_in = conv.in_channels * 9
            fan_out = conv.out_channels * 9
            assert conv.weight.abs().max() <= math.sqrt(6 / (fan_in + fan_out))
        for bn in (block.bn1, block.bn2):
            assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
            assert torch.all(bn.running_mean == 0) and torch.all(bn.running_var == 1)


def test_seeded_per_layer_whatever_the_order(model: ExplainedModel) -> None:
    level = 5
    first = randomised_copy(model, level, SEED)
    _assert_same_state(first, randomised_copy(model, level, SEED))
    backwards = copy.deepcopy(model)
    for layer in reversed(CASCADE[:level]):
        randomise_layer(backwards, layer, SEED)
    _assert_same_state(first, backwards)
    # Level k is level k-1 plus one more layer.
    incremental = randomised_copy(model, level - 1, SEED)
    randomise_layer(incremental, CASCADE[level - 1], SEED)
    _assert_same_state(first, incremental)
    other = randomised_copy(model, level, SEED + 1)
    assert not torch.equal(other.head.linear.weight, first.head.linear.weight)


def test_draws_do_not_depend_on_the_model_dtype(model: ExplainedModel) -> None:
    single = randomised_copy(model, 3, SEED)
    double = randomised_copy(copy.deepcopy(model).double(), 3, SEED)
    weight = double.backbone.conv_block6.conv1.weight
    assert weight.dtype == torch.float64
    assert torch.equal(weight, single.backbone.conv_block6.conv1.weight.double())


def test_layer_generators_differ_by_seed_and_layer() -> None:
    def draw(seed: int, layer: str) -> torch.Tensor:
        return torch.rand(4, generator=layer_generator(seed, layer))

    assert torch.equal(draw(0, "fc1"), draw(0, "fc1"))
    assert not torch.equal(draw(0, "fc1"), draw(1, "fc1"))
    assert not torch.equal(draw(0, "fc1"), draw(0, "clip_head"))
