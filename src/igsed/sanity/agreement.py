"""Rule `agreement`: does a method's map survive retraining the clip head from another seed?

Seed agreement (docs/metrics.md "Seed agreement"; after Shen et al., Interspeech 2025): the
CNN14 clip head is retrained on the cached embeddings with each seed of
`sanity.agreement_seeds` (rule train_seed_head; seconds per head), and the method attributes
the sanity subset (the `sanity` rule's instances, igsed.sanity.sanity.select_instances) on
the clip classifier with the trained head and with each retrained one, exactly as the
`attribute` rule does (the registry's settings, the same per-clip seeds). Per instance the
table (igsed.formats.sanity.AGREEMENT_COLUMNS) holds the mean Spearman of its frame scores
over every pair of heads, beside how far the heads' own clip probabilities differ: heads
that agree on the clip while the maps do not make the map an accident of the seed.

The heads share the frozen backbone and its fc1; only the last linear layer differs, so the
agreement asks what the seed of the classifier's decision layer changes, not the backbone's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from igsed.core.constants import CLASSES
from igsed.core.device import pick_device
from igsed.core.logs import peak_rss_mb
from igsed.core.robustness import pairwise_agreement, spread
from igsed.formats.instances import read_instances
from igsed.formats.sanity import AGREEMENT_COLUMNS, write_agreement
from igsed.methods.registry import ClipInput, method_settings
from igsed.models.explained import load_explained_model
from igsed.sanity.sanity import (
    Key,
    SanitySettings,
    clip_inputs,
    level_scores,
    nan_median,
    require_sanity_method,
    select_instances,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgreementJob:
    """What one `agreement` job reads and writes: one method, one CNN14, several heads."""

    method: str
    manifest: Path
    backbone: Path
    heads: Sequence[Path]  # the trained clip head first, then one per agreement seed
    instances: Path  # results/main/{model}/attribution/instances_test.tsv
    out_path: Path
    split: str = "test"


def clip_probabilities(model: torch.nn.Module, clips: Sequence[ClipInput]) -> dict[Key, float]:
    """{(clip_id, class): the model's clip probability} for each clip's targets."""
    device = next(model.parameters()).device
    probabilities: dict[Key, float] = {}
    with torch.no_grad():
        for clip in clips:
            row = model(torch.from_numpy(clip.waveform)[None].to(device))[0].cpu().numpy()
            for target in clip.targets:
                probabilities[(clip.clip_id, CLASSES[target])] = float(row[target])
    return probabilities


def agreement_table(
    scores: Sequence[Mapping[Key, np.ndarray]], probabilities: Sequence[Mapping[Key, float]]
) -> pd.DataFrame:
    """The seed-agreement table of per-head frame scores and clip probabilities (one
    mapping per head, each keyed by the same instances)."""
    rows = [
        (
            clip_id,
            name,
            pairwise_agreement([by_head[key] for by_head in scores]),
            spread([by_head[key] for by_head in probabilities]),
        )
        for key in scores[0]
        for clip_id, name in [key]
    ]
    return pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))


def agreement(
    job: AgreementJob, settings: SanitySettings, method_params: Mapping[str, Any]
) -> dict[str, Any]:
    """Attribute the sanity subset with every head and write the method's seed-agreement
    table. Returns a summary for the job log."""
    start = time.perf_counter()
    require_sanity_method(job.method)
    if len(job.heads) < 2:
        raise ValueError(
            f"seed agreement compares at least two clip heads, got {len(job.heads)}: set "
            "sanity.agreement_seeds to one seed or more"
        )
    config = method_settings(job.method, method_params)
    device = pick_device(settings.device)
    chosen = select_instances(read_instances(job.instances), settings.n_instances, settings.seed)
    clips = clip_inputs(job, chosen)
    logger.info(
        "agreement %s: %d test instances, %d clip heads, on %s, %s",
        job.method,
        len(chosen),
        len(job.heads),
        device,
        dict(method_params),
    )
    scores, probabilities = [], []
    for number, head in enumerate(job.heads, start=1):
        model = load_explained_model(job.backbone, head, device)
        scores.append(level_scores(model, clips, job.method, config))
        probabilities.append(clip_probabilities(model, clips))
        del model
        logger.info("%s head %d/%d (%s) done", job.method, number, len(job.heads), head)
    table = agreement_table(scores, probabilities)
    write_agreement(job.out_path, table)
    summary = {
        "out_path": str(job.out_path),
        "method": job.method,
        "n_instances": len(chosen),
        "n_heads": len(job.heads),
        "median_seed_agreement": nan_median(table["seed_agreement"]),
        "median_head_spread": nan_median(table["head_spread"]),
        "seconds": time.perf_counter() - start,
        "peak_rss_mb": peak_rss_mb(),
    }
    logger.info(
        "agreement %s written in %.1f s: median Spearman across heads %.3f, median spread of "
        "the heads' clip probabilities %.3f",
        job.out_path,
        summary["seconds"],
        summary["median_seed_agreement"],
        summary["median_head_spread"],
    )
    return summary
