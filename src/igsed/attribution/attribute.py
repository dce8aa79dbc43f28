"""Rule `attribute`: one method's frame scores for a shard of clips of one split.

A method that depends on the clip classifier scores exactly the classes the instances file
lists for each clip (rule `instances`), so every method attributes the same (clip, class)
pairs; the framewise heads and the baselines score all ten classes. Nothing is written
unless every clip of the shard succeeded (write_shard renames a finished temporary file
onto the target).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from igsed.core.audio import load_clip
from igsed.core.checksums import file_digest
from igsed.core.constants import CLASS_INDEX, CLASSES, CLIP_SAMPLES, N_CLASSES
from igsed.core.device import pick_device
from igsed.core.logs import Progress, peak_rss_mb
from igsed.core.methods import MethodInfo, method_info
from igsed.core.model_kinds import roles_in
from igsed.formats.instances import classes_by_clip, read_instances
from igsed.formats.shards import ClipScores, model_checksum, write_shard
from igsed.methods.loading import audio_paths, load_method_model, run_context
from igsed.methods.registry import (
    ClipInput,
    MethodResult,
    check_result,
    implementation,
    method_settings,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardJob:
    """What one `attribute` job reads and writes: one method on the clips of one shard."""

    method: str
    clip_ids: tuple[str, ...]
    split: str
    manifest: Path
    models: Mapping[str, Path]  # the method's model files by role (MethodInfo.models)
    out_path: Path
    instances: Path | None = None  # None for a method that scores every class
    signed_clips: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttributeSettings:
    """The method's config section (attribution.methods.<name>) and the device."""

    params: Mapping[str, Any]
    device: str = "auto"


def _targets(job: ShardJob, info: MethodInfo) -> dict[str, tuple[int, ...]]:
    """The class indices each clip of the shard is scored for."""
    if info.all_classes:
        return {clip_id: tuple(range(N_CLASSES)) for clip_id in job.clip_ids}
    if job.instances is None:
        raise ValueError(f"method {info.name} attributes the instances, but none were given")
    by_clip = classes_by_clip(read_instances(job.instances))
    return {
        clip_id: tuple(CLASS_INDEX[name] for name in by_clip.get(clip_id, []))
        for clip_id in job.clip_ids
    }


def _clip_scores(result: MethodResult, clip: ClipInput, keep_signed: bool) -> ClipScores:
    return ClipScores(
        clip_id=clip.clip_id,
        classes=[CLASSES[index] for index in clip.targets],
        scores=np.asarray(result.scores, dtype=np.float32),
        diagnostics=result.diagnostics,
        signed=result.waveform_attribution if keep_signed else None,
        clip_probabilities=result.clip_probabilities,
    )


def attribute_clips(
    job: ShardJob, settings: Any, model: nn.Module | None, info: MethodInfo
) -> tuple[list[ClipScores], list[dict[str, Any]]]:
    """The method's scores of every clip of the job, and a timing row per clip."""
    compute = implementation(info.name).compute
    paths = audio_paths(Path(job.manifest), job.clip_ids, job.split)
    targets = _targets(job, info)
    signed = set(job.signed_clips) if info.waveform else set()
    progress = Progress(logger, f"{info.name} {job.split}: clips", len(job.clip_ids), every_s=30)
    clips, timings = [], []
    for number, clip_id in enumerate(job.clip_ids, start=1):
        start = time.perf_counter()
        waveform = load_clip(paths[clip_id], n_samples=CLIP_SAMPLES)
        clip = ClipInput(clip_id, waveform, targets[clip_id])
        result = compute(model, clip, settings)
        check_result(result, clip, info.name)
        clips.append(_clip_scores(result, clip, clip_id in signed))
        seconds = time.perf_counter() - start
        timings.append({"clip_id": clip_id, "classes": len(clip.targets), "seconds": seconds})
        logger.info(
            "%s clip %d/%d %s: %d classes in %.1f s",
            info.name,
            number,
            len(job.clip_ids),
            clip_id,
            len(clip.targets),
            seconds,
        )
        progress.update(number)
    return clips, timings


def attribute(job: ShardJob, settings: AttributeSettings) -> dict[str, Any]:
    """Score the clips of `job` with its method and write the shard (igsed.formats.shards).

    Returns a summary (counts, timings, peak memory) for the job log; the shard holds only
    the numbers, so re-running with the same inputs gives the same values.
    """
    start = time.perf_counter()
    info = method_info(job.method)
    if len(set(job.clip_ids)) != len(job.clip_ids):
        raise ValueError(f"duplicate clip ids in shard {job.out_path}: {list(job.clip_ids)}")
    method_config = method_settings(job.method, settings.params)
    device = pick_device(settings.device)
    logger.info(
        "shard %s: %s on %d %s clips on %s, %s",
        job.out_path,
        job.method,
        len(job.clip_ids),
        job.split,
        device,
        dict(settings.params),
    )
    model = load_method_model(info, job.models, device)
    clips, timings = attribute_clips(job, method_config, model, info)
    write_shard(
        job.out_path,
        clips,
        method=job.method,
        split=job.split,
        model_checksum=model_checksum({r: job.models[r] for r in roles_in(info, job.models)}),
        instances_checksum="" if info.all_classes else file_digest(job.instances),
        settings={**dict(settings.params), **run_context(device)},
    )
    summary = {
        "out_path": str(job.out_path),
        "method": job.method,
        "split": job.split,
        "device": str(device),
        "n_clips": len(clips),
        "n_rows": sum(len(c.classes) for c in clips),
        "clips": timings,
        "seconds": time.perf_counter() - start,
        "peak_rss_mb": peak_rss_mb(),
    }
    if device.type == "cuda":
        summary["peak_cuda_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    logger.info(
        "shard %s written: %d clips, %d rows, %.1f s, peak RSS %.0f MiB",
        job.out_path,
        summary["n_clips"],
        summary["n_rows"],
        summary["seconds"],
        summary["peak_rss_mb"],
    )
    return summary
