"""Model files: a damaged one is named with the rule and the options that rebuild it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from igsed.formats.weights import ModelFileError, write_head_file
from igsed.models.cnn14 import Cnn14, load_backbone, save_backbone
from igsed.models.heads import load_head


def _halve(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture
def backbone(tmp_path: Path) -> Path:
    path = tmp_path / "models" / "backbone.pt"
    path.parent.mkdir()
    save_backbone(Cnn14(width=0.0625, n_classes=10, pooling="max"), path, source="test", config={})
    return path


def test_a_halved_backbone_names_the_file_and_rule_backbone(backbone: Path) -> None:
    _halve(backbone)
    with pytest.raises(ModelFileError) as error:
        load_backbone(backbone)
    message = str(error.value)
    assert str(backbone) in message and "Rule backbone rebuilds it" in message
    assert f"--forcerun {backbone}" in message


@pytest.mark.parametrize("damage", ["halved", "not a torch file"])
def test_a_damaged_head_names_the_file_and_rule_train_head(backbone: Path, damage: str) -> None:
    model = load_backbone(backbone)
    head = backbone.with_name("head_fw_weak.pt")
    weight = torch.zeros(10, model.embedding_dim)
    write_head_file(
        head,
        {"weight": weight, "bias": torch.zeros(10)},
        head="fw_weak",
        clip_pooling=None,
        backbone_sha256="0" * 64,
        training={},
    )
    load_head(head, model)  # whole, it loads
    if damage == "halved":
        _halve(head)
    else:
        head.write_text("not weights\n")
    with pytest.raises(ModelFileError) as error:
        load_head(head, model)
    message = str(error.value)
    assert str(head) in message and "Rule train_head rebuilds it" in message
    assert f"--forcerun {head}" in message
