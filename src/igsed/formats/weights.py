"""Model files: the frozen backbone and the trained heads, reader beside writer.

Both are torch files written atomically and byte-reproducibly:
- backbone: {"format_version", "state_dict", "width", "source", "config"}, with a JSON
  sidecar holding the file's sha256, so every later stage can record which backbone it used;
- head: {"format_version", "head", "state_dict" (the 10-class linear layer only),
  "embedding_dim", "n_classes", "clip_pooling", "backbone_sha256", "training"}; fc1 comes
  from the backbone file whose sha256 the head records. "training" holds settings and
  results only: a timing there would make every run's file differ.
Building modules from these payloads is `igsed.models`' job.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from igsed.core.atomic import atomic_path
from igsed.formats.handover import rebuild_options

BACKBONE_FORMAT_VERSION = 1
HEAD_FORMAT_VERSION = 1

# The rule that writes each kind of model file: what a damaged one names as its remedy.
REBUILT_BY = {
    "backbone": "backbone",
    "head": "train_head",
    "classifier": "train_crnn (kind crnn) or register_model (torchscript, python)",
}
CLASSIFIER_FORMAT_VERSION = 1
# What torch.load raises on a file cut short or overwritten: a zip without its directory,
# a pickle stream that ends early, bytes that are no pickle at all.
_DAMAGED = (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError)


class ModelFileError(ValueError):
    """A model file that exists but cannot be read: damaged, or some other file."""


def _damaged(path: Path, kind: str, error: Exception) -> ModelFileError:
    rule = REBUILT_BY.get(kind, kind)
    return ModelFileError(
        f"{kind} weights {path} are unreadable ({type(error).__name__}: {error}); the file "
        f"was probably cut short or overwritten. Rule {rule} rebuilds it: add these options "
        f"to the run's snakemake command: {rebuild_options([path])}"
    )


def save_payload(payload: dict[str, Any], path: Path) -> None:
    """torch.save `payload` to `path` through a temporary file, then rename."""
    # Through a file object, torch names the archive "archive", not after the temporary
    # file, so the same weights always give the same bytes (and sha256).
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        torch.save(payload, handle)


def load_payload(
    path: Path, *, kind: str, required: Sequence[str], mmap: bool = False
) -> dict[str, Any]:
    """The payload `save_payload` wrote to `path`, with the `required` keys of a `kind` file.

    Raises FileNotFoundError when `path` is missing, and ModelFileError naming the file and
    the rule that rebuilds it when it is damaged or some other file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{kind} weights not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except _DAMAGED as error:
        raise _damaged(path, kind, error) from error
    missing = (
        [key for key in required if key not in payload]
        if isinstance(payload, Mapping)
        else list(required)
    )
    if missing:
        raise ModelFileError(
            f"{path}: not an igsed {kind} file (missing {missing}); rule "
            f"{REBUILT_BY.get(kind, kind)} rebuilds it: add these options to the run's "
            f"snakemake command: {rebuild_options([path])}"
        )
    return payload


def write_backbone_file(
    path: Path,
    state_dict: Mapping[str, torch.Tensor],
    *,
    width: float,
    source: str,
    config: Mapping[str, Any],
) -> None:
    payload = {
        "format_version": BACKBONE_FORMAT_VERSION,
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in state_dict.items()},
        "width": float(width),
        "source": source,
        "config": dict(config),
    }
    save_payload(payload, path)


def read_backbone_file(path: Path) -> dict[str, Any]:
    # mmap: a 330 MB PANNs-sized file is paged in only where tensors are actually read.
    return load_payload(
        path, kind="backbone", required=("state_dict", "width", "source", "config"), mmap=True
    )


def write_head_file(
    path: Path,
    state_dict: Mapping[str, torch.Tensor],
    *,
    head: str,
    clip_pooling: str | None,
    backbone_sha256: str,
    training: Mapping[str, Any],
) -> None:
    """A head file; `state_dict` is its linear layer's ("weight" (10, D), "bias")."""
    weight = state_dict["weight"]
    payload = {
        "format_version": HEAD_FORMAT_VERSION,
        "head": head,
        "state_dict": {k: v.detach().cpu().clone() for k, v in state_dict.items()},
        "embedding_dim": int(weight.shape[1]),
        "n_classes": int(weight.shape[0]),
        "clip_pooling": clip_pooling,
        "backbone_sha256": backbone_sha256,
        "training": dict(training),
    }
    save_payload(payload, path)


def read_head_file(path: Path) -> dict[str, Any]:
    return load_payload(
        path, kind="head", required=("head", "state_dict", "embedding_dim", "backbone_sha256")
    )


def write_classifier_file(path: Path, kind: str, content: Mapping[str, Any]) -> None:
    """The one model file of a model of every kind but cnn14 (config `models.<name>`):
    {"format_version", "kind", **content}. Kind crnn: its "shape", "state_dict" and
    "training"; torchscript and python: the user's "spec" and the "digest" of its source,
    so the file changes (and the model's chain re-runs) exactly when the model does."""
    payload = {"format_version": CLASSIFIER_FORMAT_VERSION, "kind": kind}
    for key, value in content.items():
        if key == "state_dict":
            value = {k: v.detach().cpu().contiguous() for k, v in value.items()}
        payload[key] = value
    save_payload(payload, path)


def read_classifier_file(path: Path) -> dict[str, Any]:
    return load_payload(path, kind="classifier", required=("format_version", "kind"))


def require_backbone(
    recorded: str, actual: str, *, made: Path, backbone: Path, remedy: str
) -> None:
    """Raise ValueError unless the file `made` was made from the backbone with sha256 `actual`.

    The one check that a head or feature cache belongs to the backbone it is used with;
    `remedy` says what to re-run (e.g. "retrain the head").
    """
    if recorded != actual:
        raise ValueError(
            f"{made} was made with backbone sha256 {recorded[:12]}..., but {backbone} has "
            f"sha256 {actual[:12]}...; {remedy}"
        )
