"""The clip classifier of every model kind but cnn14, from its one model file.

Rule `train_crnn` writes a CRNN's weights, rule `register_model` a user model's spec and the
digest of its source (igsed.formats.weights.write_classifier_file); `load_classifier` builds
the frozen Classifier from either, so the methods, faithfulness and sanity load every model
the same way. CNN14 keeps its backbone and head files (igsed.models.explained).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from igsed.core.entry_points import put_first_on_import_path
from igsed.core.model_kinds import CRNN, USER_KINDS
from igsed.formats.weights import ModelFileError, read_classifier_file, write_classifier_file
from igsed.models.classifier import Classifier
from igsed.models.crnn import Crnn, CrnnShape
from igsed.models.freeze import freeze
from igsed.models.user import UserModelSpec, load_user_model, user_model_digest


def save_crnn(model: Crnn, path: Path, training: Mapping[str, Any]) -> None:
    """A trained CRNN's file: its shape, weights and training settings and history."""
    write_classifier_file(
        path,
        CRNN,
        {"shape": model.shape.as_dict(), "state_dict": model.state_dict(), "training": training},
    )


def user_spec(name: str, spec: Mapping[str, Any]) -> UserModelSpec:
    """The UserModelSpec of a `models.<name>` entry of kind torchscript or python (a python
    entry's `search_path`, if any, goes first on sys.path so its package imports)."""
    if spec["kind"] == "python":
        put_first_on_import_path(spec.get("search_path"))
    source = spec["path"] if spec["kind"] == "torchscript" else spec["entry"]
    return UserModelSpec(
        name=name,
        kind=spec["kind"],
        source=str(source),
        class_map=dict(spec.get("class_map") or {}),
        classes=tuple(spec.get("classes") or ()),
        sample_rate=int(spec.get("sample_rate") or 0),
        frame_seconds=spec.get("frame_seconds"),
        extra=dict(spec.get("options") or {}),
    )


def register_user_model(name: str, spec: Mapping[str, Any], path: Path) -> str:
    """The file of a user's model: its spec and the sha256 of its source (returned)."""
    digest = user_model_digest(user_spec(name, spec))
    write_classifier_file(path, spec["kind"], {"name": name, "spec": dict(spec), "digest": digest})
    return digest


def load_classifier(path: Path, device: torch.device | str = "cpu") -> Classifier:
    """The frozen clip classifier of a model file written by `save_crnn` or
    `register_user_model` (eval mode, no parameter requires grad) on `device`."""
    payload = read_classifier_file(Path(path))
    kind = payload["kind"]
    if kind == CRNN:
        shape = CrnnShape.from_mapping(payload["shape"])
        model: Classifier = Crnn(shape)
        model.load_state_dict(payload["state_dict"])
    elif kind in USER_KINDS:
        spec = user_spec(payload["name"], payload["spec"])
        if user_model_digest(spec) != payload["digest"]:
            raise ModelFileError(
                f"model {spec.name!r}: {spec.source} changed since {path} registered it; "
                "re-run the pipeline (rule register_model records the new one)"
            )
        return load_user_model(spec, device)
    else:
        raise ModelFileError(f"{path}: unknown model kind {kind!r}")
    freeze(model, device)
    return model
