"""What a method runs on: the frozen model of its catalogue entry, and its clips' audio files.

The attribution and sanity stages and `igsed explain` load models and find clips the same
way, so they call these and never one another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from igsed.core.methods import MethodInfo
from igsed.core.model_kinds import CLASSIFIER_ROLE
from igsed.core.versions import package_version
from igsed.formats.manifest import read_manifest
from igsed.models.explained import load_explained_model, load_framewise_model
from igsed.models.stored import load_classifier


def load_method_model(info: MethodInfo, models: Mapping[str, Path], device: torch.device) -> Any:
    """The frozen model a method runs on: the clip classifier (a CNN14's backbone and clip
    head, or any other kind's one `classifier` file), a framewise model, or None."""
    if info.models and CLASSIFIER_ROLE in models:
        return load_classifier(Path(models[CLASSIFIER_ROLE]), device)
    missing = [role for role in info.models if role not in models]
    if missing:
        raise KeyError(f"{info.name} needs model files for roles {missing}")
    for role in info.models:
        if not Path(models[role]).is_file():
            raise FileNotFoundError(f"model weights not found: {models[role]}")
    if "clip_head" in info.models:
        return load_explained_model(models["backbone"], models["clip_head"], device)
    heads = [role for role in info.models if role != "backbone"]
    if heads:
        return load_framewise_model(models["backbone"], models[heads[0]], device)
    return None


def load_clip_classifier(models: Mapping[str, Path], device: torch.device) -> Any:
    """The frozen clip classifier of a model's files by role (backbone and clip_head of a
    CNN14, or the one `classifier` file of any other kind)."""
    if CLASSIFIER_ROLE in models:
        return load_classifier(Path(models[CLASSIFIER_ROLE]), device)
    return load_explained_model(models["backbone"], models["clip_head"], device)


def audio_paths(manifest_path: Path, clip_ids: Sequence[str], split: str) -> dict[str, Path]:
    """The audio file of each clip id, refusing ids that are not in `split` of the manifest."""
    manifest = read_manifest(manifest_path)
    rows = {row.clip_id: row for row in manifest.itertuples(index=False)}
    missing = [clip_id for clip_id in clip_ids if clip_id not in rows]
    if missing:
        raise ValueError(f"{manifest_path}: clip ids not in the manifest: {missing}")
    wrong_split = [clip_id for clip_id in clip_ids if rows[clip_id].split != split]
    if wrong_split:
        raise ValueError(
            f"{manifest_path}: clips {wrong_split} are not in split {split!r} "
            f"(found {[rows[c].split for c in wrong_split]})"
        )
    return {clip_id: Path(rows[clip_id].audio_path) for clip_id in clip_ids}


# What a shard's settings record beside the method's parameters: context, not parameters
# (igsed explain drops them again when it reuses a run's settings).
SHARD_CONTEXT_KEYS: tuple[str, ...] = ("device", "torch_version", "captum_version")


def run_context(device: torch.device) -> dict[str, str]:
    """Where and with what a method ran: recorded in its shard after its parameters."""
    context = {
        "device": device.type,
        "torch_version": torch.__version__,
        "captum_version": package_version("captum"),
    }
    assert tuple(context) == SHARD_CONTEXT_KEYS
    return context
