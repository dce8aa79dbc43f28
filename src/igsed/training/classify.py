"""Rules `classify` (clip probabilities of the clip classifier) and `table1` (paper IV-A).

Probabilities come from the cached frame features through the clip head, which equals the
waveform model that IG explains (tests/test_explained.py checks the two paths agree).
A class is predicted when its probability is above `threshold`. Per-class precision, recall
and F1 follow sklearn's zero_division=0 convention (no predictions -> precision 0); the
macro average is the unweighted mean over the ten classes, the micro average pools counts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from igsed.core.atomic import write_text
from igsed.core.checksums import file_digest
from igsed.core.classification import ClassCounts
from igsed.core.constants import CLASSES
from igsed.formats.features import FeatureCache
from igsed.formats.probabilities import write_probabilities
from igsed.formats.tables import (
    MACRO_ROW,
    MICRO_ROW,
    TABLE1_COLUMNS,
    format_number,
    markdown_table,
    write_csv,
)
from igsed.formats.weights import require_backbone
from igsed.models.cnn14 import load_backbone
from igsed.models.heads import ClipHead, load_head

logger = logging.getLogger(__name__)


def cache_probabilities(
    cache_path: Path, head: ClipHead, backbone_sha256: str, batch_size: int = 64
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(clip ids, (N, 10) probabilities, (N, 10) clip labels) of one feature cache."""
    probabilities, labels = [], []
    with FeatureCache(cache_path) as cache:
        require_backbone(
            cache.backbone_sha256,
            backbone_sha256,
            made=cache_path,
            backbone=Path("the given backbone"),
            remedy="re-run cache_features",
        )
        ids = list(cache.clip_ids)
        with torch.no_grad():
            for rows in cache.iter_batches(batch_size):
                logits = head(torch.from_numpy(rows.features))
                probabilities.append(torch.sigmoid(logits).numpy())
                labels.append(rows.clip_labels)
    if not ids:
        return ids, np.zeros((0, len(CLASSES))), np.zeros((0, len(CLASSES)), dtype=np.uint8)
    return ids, np.concatenate(probabilities), np.concatenate(labels)


def classification_table(
    probabilities: np.ndarray, labels: np.ndarray, threshold: float
) -> pd.DataFrame:
    """Table I: one row per class plus the macro ("all" classes) and micro averages."""
    counts = ClassCounts.count(probabilities > threshold, labels.astype(bool))
    precision, recall, f1 = counts.precision(), counts.recall(), counts.f1()
    rows = [
        {
            "class": name,
            "precision": precision[i],
            "recall": recall[i],
            "f1": f1[i],
            "support": int(counts.tp[i] + counts.fn[i]),
            "predicted": int(counts.tp[i] + counts.fp[i]),
        }
        for i, name in enumerate(CLASSES)
    ]
    micro = counts.micro()
    for label, precision_value, recall_value, f1_value in (
        (MACRO_ROW, precision.mean(), recall.mean(), counts.macro_f1("all")),
        (MICRO_ROW, micro.precision(), micro.recall(), micro.f1()),
    ):
        rows.append(
            {
                "class": label,
                "precision": float(precision_value),
                "recall": float(recall_value),
                "f1": float(f1_value),
                "support": int(micro.tp + micro.fn),
                "predicted": int(micro.tp + micro.fp),
            }
        )
    return pd.DataFrame(rows, columns=list(TABLE1_COLUMNS))


def table1_markdown(table: pd.DataFrame, caption: str) -> str:
    header = ["Class", "Precision", "Recall", "F1", "Support", "Predicted"]
    rows = [
        [row[0], *(format_number(float(v)) for v in row[1:4]), row[4], row[5]]
        for row in table.itertuples(index=False)
    ]
    return caption + "\n\n" + markdown_table(header, rows)


def _clip_head(backbone_path: Path, head_path: Path) -> tuple[ClipHead, str]:
    """The clip head on its backbone, and the backbone's sha256 (checked against caches)."""
    sha256 = file_digest(backbone_path)
    backbone = load_backbone(Path(backbone_path), "cpu")
    head = load_head(Path(head_path), backbone, expected="clip")
    assert isinstance(head, ClipHead)
    return head, sha256


def classify(
    caches: Mapping[str, Path],
    backbone_path: Path,
    head_path: Path,
    out_probabilities: Mapping[str, Path],
) -> dict[str, Any]:
    """Write the clip probabilities of each split; return a summary.

    No threshold here: the probabilities are what rule instances reads, so a change of
    Table I's threshold (rule table1) re-runs nothing downstream of them.
    """
    missing = sorted(set(out_probabilities) - set(caches))
    if missing:
        raise ValueError(f"no feature cache given for splits {missing}")
    head, sha256 = _clip_head(backbone_path, head_path)
    summary: dict[str, Any] = {"clip_pooling": head.pooling}
    for split, out_path in out_probabilities.items():
        ids, probabilities, _ = cache_probabilities(Path(caches[split]), head, sha256)
        write_probabilities(Path(out_path), ids, probabilities)
        summary[split] = {"n_clips": len(ids)}
        logger.info("%s: probabilities of %d clips -> %s", split, len(ids), out_path)
    return summary


def table1(
    cache_path: Path,
    backbone_path: Path,
    head_path: Path,
    table_csv: Path,
    table_md: Path,
    *,
    threshold: float = 0.5,
    split: str = "test",
) -> dict[str, Any]:
    """Write Table I of the clip classifier on `split` at `threshold`; return a summary.

    The probabilities are recomputed from the feature cache (a forward of the head), exactly
    as rule classify computes them, so the table never waits on, nor re-runs, that rule.
    """
    head, sha256 = _clip_head(backbone_path, head_path)
    ids, probabilities, labels = cache_probabilities(Path(cache_path), head, sha256)
    table = classification_table(probabilities, labels, threshold)
    macro = table.set_index("class").loc[MACRO_ROW]
    micro = table.set_index("class").loc[MICRO_ROW]
    summary: dict[str, Any] = {
        "threshold": threshold,
        "clip_pooling": head.pooling,
        split: {
            "n_clips": len(ids),
            "macro_f1": float(macro["f1"]),
            "micro_f1": float(micro["f1"]),
        },
    }
    logger.info(
        "%s: %d clips, macro F1 %.3f, micro F1 %.3f", split, len(ids), macro["f1"], micro["f1"]
    )
    write_csv(table, table_csv, digits=4)
    caption = (
        f"Table I: multi-label classification on {split} "
        f"({len(ids)} clips, threshold {threshold}, "
        f"clip-head time pooling {head.pooling})."
    )
    write_text(table_md, table1_markdown(table, caption))
    return summary
