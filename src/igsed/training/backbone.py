"""Rule `backbone`: the frozen CNN14, the PANNs AudioSet checkpoint or one pretrained here.

Both sources end in the same backbone file (igsed.formats.weights) and a JSON sidecar with
the file's sha256, so every later stage can record exactly which backbone it used.
Pretraining is in igsed.training.pretrain, the checkpoint download in igsed.training.panns.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from igsed.core.atomic import write_json
from igsed.core.checksums import file_digest
from igsed.core.constants import CLASSES, N_CLASSES
from igsed.core.device import pick_device
from igsed.models.cnn14 import AUDIOSET_CLASSES, save_backbone
from igsed.training.panns import panns_backbone
from igsed.training.pretrain import PretrainSettings, pretrain_backbone, read_pretrain_clips

logger = logging.getLogger(__name__)

SOURCES: tuple[str, ...] = ("pipeline", "panns")


@dataclass(frozen=True)
class BackboneSettings:
    """Config `backbone`, validated on construction (before any download or training)."""

    pretrained: str
    width: float
    device: str
    panns: Mapping[str, Any]
    pretrain: PretrainSettings | None

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> BackboneSettings:
        pretrained = str(section["pretrained"])
        if pretrained not in SOURCES:
            raise ValueError(f"backbone.pretrained = {pretrained!r}; expected one of {SOURCES}")
        width = float(section["width"])
        panns = dict(section.get("panns") or {})
        pretrain = None
        if pretrained == "panns":
            if width != 1.0:
                raise ValueError(
                    f"backbone.width = {width}: the PANNs checkpoint is CNN14 at width 1.0"
                )
            if not panns.get("url"):
                raise ValueError("backbone.panns.url is required for pretrained: panns")
        else:
            pretrain = PretrainSettings.from_config(section["pretrain"])
        return cls(pretrained, width, str(section["device"]), panns, pretrain)


def backbone(
    out_path: Path,
    meta_path: Path,
    settings: BackboneSettings,
    *,
    downloads_dir: Path,
    pretrain_chunk_dirs: list[Path],
) -> dict[str, Any]:
    """Write the frozen backbone to `out_path` and its metadata to `meta_path`; return the meta."""
    torch_device = pick_device(settings.device)
    if settings.pretrain is None:
        model, summary = panns_backbone(settings.panns, downloads_dir)
        config = {"n_classes": AUDIOSET_CLASSES, "pooling": "max_mean", **summary}
    else:
        clips = read_pretrain_clips([Path(p) for p in pretrain_chunk_dirs])
        model, summary = pretrain_backbone(
            clips, width=settings.width, settings=settings.pretrain, device=torch_device
        )
        config = {
            "n_classes": N_CLASSES,
            "pooling": settings.pretrain.pooling,
            "output_classes": list(CLASSES),
            "pretrain": asdict(settings.pretrain),
        }
    model = model.cpu().eval()
    save_backbone(model, Path(out_path), source=settings.pretrained, config=config)
    meta = {
        "sha256": file_digest(out_path),
        "width": float(model.width),
        "embedding_dim": model.embedding_dim,
        "source": settings.pretrained,
        "device": torch_device.type,
        # The thread count it was computed with (config key threads.backbone): part of
        # what makes the weights reproducible (docs/determinism.md).
        "threads": torch.get_num_threads(),
        "training": summary,
    }
    write_json(meta_path, meta)
    logger.info("backbone (%s, width %g) -> %s", settings.pretrained, model.width, out_path)
    return meta
