"""Which methods run on which kind of model, decided without importing torch."""

from __future__ import annotations

from pathlib import Path

import pytest

from igsed.core.methods import (
    FRAME_OUTPUT,
    LAYERS,
    LOGMEL_SPLIT,
    METHOD_INFO,
    MODULE_FORM,
    POWER_SPLIT,
)
from igsed.core.model_kinds import (
    classifier_capabilities,
    method_roles,
    roles_in,
    skip_reason,
    user_source_file,
)

TESTS = Path(__file__).resolve().parents[1]
SPECS = {
    "cnn14": {"kind": "cnn14"},
    "crnn": {"kind": "crnn"},
    "export": {"kind": "torchscript", "path": "m.pt", "class_map": {"a": "Dog"}},
    "sed": {"kind": "python", "entry": "support.user_models:tiny_sed", "frame_seconds": 0.1},
}


def _runs(name: str) -> set[str]:
    return {m for m, info in METHOD_INFO.items() if skip_reason(info, SPECS[name]) is None}


def test_each_kind_declares_what_its_classifier_has() -> None:
    assert classifier_capabilities(SPECS["cnn14"]) == {
        LAYERS,
        POWER_SPLIT,
        LOGMEL_SPLIT,
        MODULE_FORM,
    }
    assert classifier_capabilities(SPECS["crnn"]) == {FRAME_OUTPUT, LAYERS, LOGMEL_SPLIT}
    assert classifier_capabilities(SPECS["export"]) == set()
    assert classifier_capabilities(SPECS["sed"]) == {FRAME_OUTPUT}
    assert classifier_capabilities({**SPECS["sed"], "layers": True}) == {FRAME_OUTPUT, LAYERS}


def test_methods_are_skipped_where_a_model_lacks_what_they_need() -> None:
    everything = set(METHOD_INFO)
    assert everything - _runs("cnn14") == {"model_frames"}
    # The CRNN's GRU has no module form: no DeepLift.
    assert everything - _runs("crnn") == {"fw_weak", "fw_strong", "logmel_deeplift"}
    logmel = {"logmel_ig", "logmel_saliency", "logmel_deeplift"}
    assert everything - _runs("export") == {
        "fw_weak", "fw_strong", "gradcam", "model_frames", *logmel
    }  # fmt: skip
    assert everything - _runs("sed") == {"fw_weak", "fw_strong", "gradcam", *logmel}
    assert "framewise heads" in skip_reason(METHOD_INFO["fw_weak"], SPECS["crnn"])
    assert skip_reason(METHOD_INFO["gradcam"], SPECS["export"]) == (
        "the model does not declare layers"
    )


def test_roles_of_a_method_follow_the_kind() -> None:
    ig, fw, energy = METHOD_INFO["ig"], METHOD_INFO["fw_weak"], METHOD_INFO["energy"]
    assert method_roles(ig, "cnn14") == ("backbone", "clip_head")
    assert method_roles(ig, "crnn") == ("classifier",)
    assert method_roles(fw, "cnn14") == ("backbone", "fw_weak")
    assert method_roles(energy, "python") == ()
    assert roles_in(ig, {"classifier": "x"}) == ("classifier",)
    assert roles_in(ig, {"backbone": "b", "clip_head": "h"}) == ("backbone", "clip_head")


def test_a_user_models_source_is_found_without_running_it() -> None:
    spec = {**SPECS["sed"], "search_path": str(TESTS)}
    assert user_source_file(spec) == TESTS / "support" / "user_models.py"
    assert user_source_file(SPECS["export"]) == Path("m.pt")
    with pytest.raises(ValueError, match="module 'nowhere_at_all' not found"):
        user_source_file({"kind": "python", "entry": "nowhere_at_all:f"})
