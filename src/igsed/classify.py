"""Stage `classify`: clip probabilities of the clip classifier, and Table I (paper IV-A).

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

from igsed.backbone import load_backbone
from igsed.checksums import file_digest
from igsed.constants import CLASSES
from igsed.formats.atomic import atomic_path, write_text
from igsed.formats.features import FeatureCache
from igsed.models.heads import ClipHead, load_head

logger = logging.getLogger(__name__)

TABLE1_COLUMNS: tuple[str, ...] = ("class", "precision", "recall", "f1", "support", "predicted")
MACRO_ROW = "macro average"
MICRO_ROW = "micro average"


def cache_probabilities(
    cache_path: Path, head: ClipHead, backbone_sha256: str, batch_size: int = 64
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(clip ids, (N, 10) probabilities, (N, 10) clip labels) of one feature cache."""
    probabilities, labels = [], []
    with FeatureCache(cache_path) as cache:
        if cache.backbone_sha256 != backbone_sha256:
            raise ValueError(
                f"{cache_path} was made with backbone sha256 {cache.backbone_sha256[:12]}..., "
                f"not the given backbone's {backbone_sha256[:12]}...; re-run cache_features"
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
    """Table I: one row per class plus the macro and micro averages."""
    predicted = probabilities > threshold
    truth = labels.astype(bool)
    tp = (predicted & truth).sum(axis=0).astype(float)
    fp = (predicted & ~truth).sum(axis=0).astype(float)
    fn = (~predicted & truth).sum(axis=0).astype(float)

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    precision = ratio(tp, tp + fp)
    recall = ratio(tp, tp + fn)
    f1 = ratio(2 * tp, 2 * tp + fp + fn)
    rows = [
        {
            "class": name,
            "precision": precision[i],
            "recall": recall[i],
            "f1": f1[i],
            "support": int(tp[i] + fn[i]),
            "predicted": int(tp[i] + fp[i]),
        }
        for i, name in enumerate(CLASSES)
    ]
    rows.append(
        {
            "class": MACRO_ROW,
            "precision": float(precision.mean()),
            "recall": float(recall.mean()),
            "f1": float(f1.mean()),
            "support": int((tp + fn).sum()),
            "predicted": int((tp + fp).sum()),
        }
    )
    all_tp, all_fp, all_fn = tp.sum(), fp.sum(), fn.sum()
    rows.append(
        {
            "class": MICRO_ROW,
            "precision": all_tp / (all_tp + all_fp) if all_tp + all_fp else 0.0,
            "recall": all_tp / (all_tp + all_fn) if all_tp + all_fn else 0.0,
            "f1": 2 * all_tp / (2 * all_tp + all_fp + all_fn) if all_tp + all_fp + all_fn else 0.0,
            "support": int(all_tp + all_fn),
            "predicted": int(all_tp + all_fp),
        }
    )
    return pd.DataFrame(rows, columns=list(TABLE1_COLUMNS))


def table_markdown(table: pd.DataFrame, caption: str) -> str:
    header = "| Class | Precision | Recall | F1 | Support | Predicted |"
    lines = [caption, "", header, "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in table.itertuples(index=False):
        lines.append(
            f"| {row[0]} | {row[1]:.2f} | {row[2]:.2f} | {row[3]:.2f} | {row[4]} | {row[5]} |"
        )
    return "\n".join(lines) + "\n"


def write_probabilities(path: Path, clip_ids: list[str], probabilities: np.ndarray) -> None:
    frame = pd.DataFrame(probabilities, columns=list(CLASSES))
    frame.insert(0, "clip_id", clip_ids)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, float_format="%.6f")


def read_probabilities(path: Path) -> pd.DataFrame:
    """A probabilities TSV written by `classify` (clip_id + one column per class)."""
    frame = pd.read_csv(path, sep="\t", dtype={"clip_id": str})
    missing = [c for c in ("clip_id", *CLASSES) if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    return frame


def classify(
    caches: Mapping[str, Path],
    backbone_path: Path,
    head_path: Path,
    out_probabilities: Mapping[str, Path],
    table_csv: Path,
    table_md: Path,
    *,
    threshold: float = 0.5,
    table_split: str = "test",
) -> dict[str, Any]:
    """Write clip probabilities per split and Table I (on `table_split`); return a summary."""
    missing = sorted(set(out_probabilities) - set(caches))
    if missing:
        raise ValueError(f"no feature cache given for splits {missing}")
    if table_split not in caches:
        raise ValueError(f"Table I split {table_split!r} has no feature cache ({sorted(caches)})")
    sha256 = file_digest(backbone_path)
    backbone = load_backbone(Path(backbone_path), "cpu")
    head = load_head(Path(head_path), backbone, expected="clip")
    assert isinstance(head, ClipHead)
    summary: dict[str, Any] = {"threshold": threshold, "clip_pooling": head.pooling}
    table = None
    for split, cache_path in caches.items():
        ids, probabilities, labels = cache_probabilities(Path(cache_path), head, sha256)
        if split in out_probabilities:
            write_probabilities(Path(out_probabilities[split]), ids, probabilities)
        split_table = classification_table(probabilities, labels, threshold)
        macro = split_table.set_index("class").loc[MACRO_ROW]
        micro = split_table.set_index("class").loc[MICRO_ROW]
        summary[split] = {
            "n_clips": len(ids),
            "macro_f1": float(macro["f1"]),
            "micro_f1": float(micro["f1"]),
        }
        logger.info(
            "%s: %d clips, macro F1 %.3f, micro F1 %.3f",
            split,
            len(ids),
            macro["f1"],
            micro["f1"],
        )
        if split == table_split:
            table = split_table
    assert table is not None
    with atomic_path(table_csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    caption = (
        f"Table I: multi-label classification on {table_split} "
        f"({summary[table_split]['n_clips']} clips, threshold {threshold}, "
        f"clip-head time pooling {head.pooling})."
    )
    write_text(table_md, table_markdown(table, caption))
    return summary
