"""The PANNs CNN14 AudioSet checkpoint (backbone.pretrained: panns): download and strict load."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from igsed.core.checksums import file_digest
from igsed.core.download import download
from igsed.models.cnn14 import AUDIOSET_CLASSES, Cnn14

logger = logging.getLogger(__name__)


def _filename_from_url(url: str) -> str:
    name = urllib.parse.unquote(Path(urllib.parse.urlparse(url).path).name)
    return name or "Cnn14_mAP=0.431.pth"


def load_panns_checkpoint(checkpoint_path: Path, *, verified: bool) -> dict[str, torch.Tensor]:
    """The `model` state dict of a PANNs checkpoint file."""
    try:
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError for non-tensor pickles
        if not verified:
            raise ValueError(
                f"{checkpoint_path}: cannot be read as plain tensors ({err}); configure "
                "backbone.panns.md5 so that the file can be verified before a full unpickle"
            ) from err
        logger.warning(
            "%s holds more than tensors; loading it fully (md5 verified)", checkpoint_path
        )
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
    if not isinstance(checkpoint, Mapping) or "model" not in checkpoint:
        keys = list(checkpoint)[:8] if isinstance(checkpoint, Mapping) else type(checkpoint)
        raise ValueError(f"{checkpoint_path}: no key 'model' in the checkpoint (found {keys})")
    return dict(checkpoint["model"])


def panns_backbone(panns: Mapping[str, Any], downloads_dir: Path) -> tuple[Cnn14, dict[str, Any]]:
    """Download (or reuse a verified copy of) the PANNs checkpoint and load it strictly.

    `panns`: url, md5, size_bytes (config `backbone.panns`), optionally retries, timeout_s.
    """
    url = str(panns["url"])
    md5 = panns.get("md5")
    size_bytes = panns.get("size_bytes")
    dest = Path(downloads_dir) / _filename_from_url(url)
    hint = (
        f"download {url} by hand and place it at {dest} (md5 {md5}); it is the PANNs CNN14 "
        "AudioSet checkpoint (Zenodo record 3987831, CC BY 4.0)"
    )
    path = download(
        url,
        dest,
        md5=str(md5) if md5 else None,
        size_bytes=int(size_bytes) if size_bytes else None,
        retries=int(panns.get("retries", 3)),
        timeout_s=float(panns.get("timeout_s", 60.0)),
        manual_hint=hint,
    )
    state = load_panns_checkpoint(path, verified=bool(md5))
    model = Cnn14(width=1.0, n_classes=AUDIOSET_CLASSES, pooling="max_mean")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{path}: not a PANNs CNN14 checkpoint: {err}") from err
    summary = {
        "checkpoint": path.name,
        "checkpoint_md5": file_digest(path, "md5"),
        "url": url,
        "n_classes": AUDIOSET_CLASSES,
        "pooling": "max_mean",
    }
    return model, summary
