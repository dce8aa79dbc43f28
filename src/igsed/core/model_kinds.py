"""The kinds of model a run explains (config `models:`), as pure data: which model files each
kind has, which capabilities its clip classifier declares, and so which methods run on it.

The rules decide from these, without importing torch, which jobs a model gets; a method a
model cannot run is skipped for that model and named in the summary (`skip_reason`). The
classes behind each kind are igsed.models' (cnn14, crnn, user).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from igsed.core.entry_points import entry_source_file
from igsed.core.methods import (
    EXPLAINED,
    FRAME_OUTPUT,
    LAYERS,
    LOGMEL_SPLIT,
    MODULE_FORM,
    POWER_SPLIT,
    MethodInfo,
)

CNN14 = "cnn14"
CRNN = "crnn"
TORCHSCRIPT = "torchscript"
PYTHON = "python"
MODEL_KINDS: tuple[str, ...] = (CNN14, CRNN, TORCHSCRIPT, PYTHON)
USER_KINDS: tuple[str, ...] = (TORCHSCRIPT, PYTHON)

# The one model file of every kind but cnn14 (whose files are its backbone and heads).
CLASSIFIER_ROLE = "classifier"
CNN14_ROLES: tuple[str, ...] = ("backbone", "clip_head", "fw_weak", "fw_strong")


def classifier_capabilities(spec: Mapping[str, Any]) -> frozenset[str]:
    """What the clip classifier of a `models.<name>` entry declares (igsed.models.classifier)."""
    kind = spec["kind"]
    if kind == CNN14:
        return frozenset({LAYERS, POWER_SPLIT, LOGMEL_SPLIT, MODULE_FORM})
    if kind == CRNN:
        return frozenset({FRAME_OUTPUT, LAYERS, LOGMEL_SPLIT})
    declared = set()
    if spec.get("frame_seconds") is not None:
        declared.add(FRAME_OUTPUT)
    if kind == PYTHON and spec.get("layers", False):
        declared.add(LAYERS)
    return frozenset(declared)


def method_roles(info: MethodInfo, kind: str) -> tuple[str, ...]:
    """The model files a method reads, by role, on a model of `kind` (the clip classifier
    of every kind but cnn14 is its one `classifier` file)."""
    if kind == CNN14 or not info.models:
        return info.models
    return (CLASSIFIER_ROLE,)


def skip_reason(info: MethodInfo, spec: Mapping[str, Any]) -> str | None:
    """Why a method does not run on a model, or None when it does."""
    if set(info.models) - set(EXPLAINED) and spec["kind"] != CNN14:
        return "needs CNN14's framewise heads (trained on its frame embeddings)"
    if info.models != EXPLAINED:
        return None
    missing = sorted(set(info.needs) - classifier_capabilities(spec))
    if missing:
        return f"the model does not declare {', '.join(missing)}"
    return None


def roles_in(info: MethodInfo, available: Mapping[str, Any]) -> tuple[str, ...]:
    """The roles of a method's model files among those `available` (a job's files by
    role): the one `classifier` file of a model of any kind but cnn14, else its own."""
    if info.models and CLASSIFIER_ROLE in available:
        return (CLASSIFIER_ROLE,)
    return info.models


def user_source_file(spec: Mapping[str, Any]) -> Path:
    """The file a user model's numbers come from, found without running it: the TorchScript
    file, or the source of a python entry's module (its `search_path` first on sys.path)."""
    if spec["kind"] == TORCHSCRIPT:
        return Path(spec["path"])
    return entry_source_file(str(spec["entry"]), spec.get("search_path"))
