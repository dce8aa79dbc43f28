"""The cascade on any classifier with named layers: the CRNN, a user's modules, and CNN14
against the rules it had before the cascade became generic."""

from __future__ import annotations

import copy
import logging
import math

import pytest
import torch
from support.explained import one_torch_thread, random_explained  # noqa: F401 - autouse
from support.user_models import CRNN_CASCADE
from torch import nn

from igsed.core.constants import CLIP_SAMPLES
from igsed.models.classifier import LAYERS, Classifier, ClassifierError
from igsed.models.crnn import Crnn
from igsed.models.explained import ExplainedModel
from igsed.models.freeze import freeze
from igsed.models.randomise import (
    CASCADE,
    cascade_layers,
    layer_generator,
    model_cascade,
    randomise_layer,
    randomised_copy,
)

SEED = 7


@pytest.fixture(scope="module")
def crnn() -> Crnn:
    """A random CRNN whose BatchNorms and biases differ from their initial state."""
    torch.manual_seed(0)
    model = Crnn()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(1 + 0.1 * torch.randn(n, generator=generator))
                module.bias.copy_(0.1 * torch.randn(n, generator=generator))
                module.running_mean.copy_(torch.randn(n, generator=generator))
                module.running_var.copy_(1 + torch.rand(n, generator=generator))
                module.num_batches_tracked.fill_(5)
    return freeze(model)


def _crnn_layer(name: str) -> str | None:
    """The cascade layer a CRNN state-dict entry belongs to (None: never randomised)."""
    parts = name.split(".")
    if parts[0] == "blocks":
        return f"conv_block{int(parts[1]) + 1}"
    return parts[0] if parts[0] in CRNN_CASCADE else None  # bn0


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def _changed(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> set[str]:
    assert list(a) == list(b)
    return {name for name in a if not torch.equal(a[name], b[name])}


def _xavier(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Xavier-uniform by hand: U(-a, a), a = sqrt(6 / (fan_in + fan_out))."""
    receptive = math.prod(shape[2:])
    bound = math.sqrt(6 / (shape[1] * receptive + shape[0] * receptive))
    return torch.empty(shape).uniform_(-bound, bound, generator=generator)


# --- The CRNN -----------------------------------------------------------------------------


def test_the_crnn_cascade_is_its_layers_top_down(crnn: Crnn) -> None:
    assert model_cascade(crnn) == CRNN_CASCADE == tuple(reversed(list(crnn.layers())))
    assert cascade_layers(0, crnn) == () and cascade_layers(6, crnn) == CRNN_CASCADE
    assert cascade_layers(3, crnn) == ("attention_linear", "frame_linear", "gru")
    for bad in (-1, 7):
        with pytest.raises(ValueError, match=r"0\.\.6"):
            cascade_layers(bad, crnn)
    with pytest.raises(ValueError, match="'bn0' is not one of the cascade"):
        randomise_layer(copy.deepcopy(crnn), "bn0", SEED)


def test_level_zero_is_the_trained_crnn_and_it_stays_untouched(crnn: Crnn) -> None:
    before = _state(crnn)
    level0 = randomised_copy(crnn, 0, SEED)
    assert level0 is not crnn and not _changed(before, _state(level0))
    randomised_copy(crnn, 6, SEED)
    assert not _changed(before, _state(crnn))


@pytest.mark.parametrize("level", range(1, 7))
def test_each_crnn_level_adds_exactly_one_layer(crnn: Crnn, level: int) -> None:
    previous = _state(randomised_copy(crnn, level - 1, SEED))
    current = randomised_copy(crnn, level, SEED)
    layer = CRNN_CASCADE[level - 1]
    expected = {
        name
        for name in previous
        if _crnn_layer(name) == layer and not name.endswith("num_batches_tracked")
    }
    changed = _changed(previous, _state(current))
    assert changed - {n for n in changed if n.endswith("num_batches_tracked")} == expected
    assert expected  # every CRNN layer holds parameters
    assert not current.training and not any(p.requires_grad for p in current.parameters())
    # Reproducible, and level k is level k-1 plus the one layer whatever the order.
    _same = _state(randomised_copy(crnn, level, SEED))
    assert not _changed(_state(current), _same)
    backwards = copy.deepcopy(crnn)
    for name in reversed(CRNN_CASCADE[:level]):
        randomise_layer(backwards, name, SEED)
    assert not _changed(_state(current), _state(backwards))
    other = _state(randomised_copy(crnn, level, SEED + 1))
    assert _changed(_state(current), other) & expected


def test_the_crnn_layers_are_redrawn_by_the_rules(crnn: Crnn) -> None:
    randomised = randomised_copy(crnn, 6, SEED)
    state = randomised.state_dict()
    # The GRU: every weight matrix Xavier-uniform in named_parameters order, biases 0.
    generator = layer_generator(SEED, "gru")
    for suffix in ("", "_reverse"):
        for kind, shape in (("ih", (96, 64)), ("hh", (96, 32))):
            expected = _xavier(shape, generator)
            torch.testing.assert_close(state[f"gru.weight_{kind}_l0{suffix}"], expected)
        for kind in ("ih", "hh"):
            assert torch.count_nonzero(state[f"gru.bias_{kind}_l0{suffix}"]) == 0
    for name, shape in (("frame_linear", (10, 64)), ("attention_linear", (10, 64))):
        torch.testing.assert_close(
            state[f"{name}.weight"], _xavier(shape, layer_generator(SEED, name))
        )
        assert torch.count_nonzero(state[f"{name}.bias"]) == 0
    for index, (cin, cout) in enumerate(((1, 16), (16, 32), (32, 64))):
        conv = _xavier((cout, cin, 3, 3), layer_generator(SEED, f"conv_block{index + 1}"))
        torch.testing.assert_close(state[f"blocks.{index}.conv.weight"], conv)
        bn = randomised.blocks[index].bn
        assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
        assert torch.all(bn.running_mean == 0) and torch.all(bn.running_var == 1)
        assert int(bn.num_batches_tracked) == 0
    for name in ("weight", "bias", "running_mean", "running_var"):
        assert torch.equal(state[f"bn0.{name}"], crnn.state_dict()[f"bn0.{name}"])
    # Still a classifier: probabilities in [0, 1], other than the trained model's.
    waveform = 0.1 * torch.randn(1, CLIP_SAMPLES, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        random, trained = randomised(waveform), crnn(waveform)
    assert torch.all((random >= 0) & (random <= 1)) and not torch.allclose(random, trained)


# --- Any other module, copies and refusals ------------------------------------------------


class _Affine(nn.Module):
    """A module with parameters of its own (no torch layer type)."""

    def __init__(self) -> None:
        super().__init__()
        self.matrix = nn.Parameter(torch.full((3, 4), 2.0))
        self.vector = nn.Parameter(torch.full((3,), 2.0))
        self.scale = nn.Parameter(torch.tensor(2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x @ self.matrix.T + self.vector


class _Mixed(Classifier):
    capabilities = frozenset({LAYERS})
    model_name = "mixed"

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.LayerNorm(4), _Affine(), nn.GroupNorm(1, 3))
        self.lstm = nn.LSTM(3, 5)
        self.head = nn.Linear(5, 2)
        self.head_copy = nn.Linear(5, 2)
        self.act = nn.ReLU()
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.fill_(2.0)

    def layers(self) -> dict[str, nn.Module]:
        return {"body": self.body, "act": self.act, "lstm": self.lstm, "head": self.head}

    def layer_copies(self) -> dict[str, list[nn.Module]]:
        return {"head": [self.head_copy]}


def test_any_module_is_reinitialised_by_the_documented_rules(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = _Mixed()
    assert model_cascade(model) == ("head", "lstm", "act", "body")
    with caplog.at_level(logging.WARNING, logger="igsed.models.randomise"):
        randomised = randomised_copy(model, 4, SEED)
    assert sum("'act' has no parameters" in r.getMessage() for r in caplog.records) == 1
    layer_norm, affine, group_norm = randomised.body
    for norm in (layer_norm, group_norm):  # reset to identity, not drawn
        assert torch.all(norm.weight == 1) and torch.all(norm.bias == 0)
    # The body's only draw is its own matrix: modules() order, then named_parameters order.
    torch.testing.assert_close(affine.matrix, _xavier((3, 4), layer_generator(SEED, "body")))
    assert torch.count_nonzero(affine.vector) == 0 and float(affine.scale) == 0.0
    generator = layer_generator(SEED, "lstm")
    for name, shape in (("weight_ih_l0", (20, 3)), ("weight_hh_l0", (20, 5))):
        torch.testing.assert_close(getattr(randomised.lstm, name), _xavier(shape, generator))
    assert torch.count_nonzero(randomised.lstm.bias_ih_l0) == 0
    assert torch.count_nonzero(randomised.lstm.bias_hh_l0) == 0
    head = _xavier((2, 5), layer_generator(SEED, "head"))
    for linear in (randomised.head, randomised.head_copy):
        torch.testing.assert_close(linear.weight, head)
        assert torch.count_nonzero(linear.bias) == 0
    assert torch.equal(randomised.head.weight, randomised.head_copy.weight)


class _NoLayers(Classifier):
    model_name = "flat"

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)


@pytest.mark.parametrize(("model", "name"), [(_NoLayers(), "flat"), (nn.Linear(2, 2), "Linear")])
def test_a_model_without_named_layers_has_no_cascade(model: nn.Module, name: str) -> None:
    message = rf"model '{name}' declares no named layers \(capability 'layers'\)"
    for call in (
        lambda: model_cascade(model),
        lambda: cascade_layers(1, model),
        lambda: randomised_copy(model, 1, SEED),
        lambda: randomise_layer(model, "linear", SEED),
    ):
        with pytest.raises(ClassifierError, match=message):
            call()


# --- CNN14: the same weights as the rules it had before ----------------------------------


def _previous_rules(model: ExplainedModel, layer: str, seed: int) -> None:
    """CNN14's randomisation as written before the cascade was generic (its layer names)."""
    generator = layer_generator(seed, layer)

    def redraw(parameter: torch.Tensor) -> None:
        draw = torch.empty(parameter.shape, dtype=torch.float32)
        nn.init.xavier_uniform_(draw, generator=generator)
        parameter.copy_(draw)

    with torch.no_grad():
        if layer in ("clip_head", "fc1"):
            linears = (
                [model.head.linear]
                if layer == "clip_head"
                else [model.head.embedding.fc1, model.backbone.fc1]
            )
            redraw(linears[0].weight)
            for linear in linears:
                linear.weight.copy_(linears[0].weight)
                linear.bias.zero_()
            return
        block = getattr(model.backbone, layer)
        redraw(block.conv1.weight)
        redraw(block.conv2.weight)
        for bn in (block.bn1, block.bn2):
            bn.weight.fill_(1.0)
            bn.bias.zero_()
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0)
            bn.num_batches_tracked.zero_()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cnn14_is_randomised_byte_for_byte_as_before(dtype: torch.dtype) -> None:
    model = random_explained(1 / 16, seed=0, dtype=dtype)
    assert model_cascade(model) == CASCADE
    for level in range(len(CASCADE) + 1):
        expected = copy.deepcopy(model)
        for layer in CASCADE[:level]:
            _previous_rules(expected, layer, SEED)
        new = randomised_copy(model, level, SEED).state_dict()
        for name, tensor in expected.state_dict().items():
            assert new[name].dtype == tensor.dtype
            assert new[name].numpy().tobytes() == tensor.numpy().tobytes(), (level, name)
