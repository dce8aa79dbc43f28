"""One `attribute` job: IG, framewise, energy and random frame scores for a shard of clips.

The clip classifier decides which classes are attributed (probability > threshold, paper
§III-C); every other method is stored for all ten classes so the evaluation can pick the
same (clip, class) instances for all of them. Nothing is written unless every clip of the
shard succeeded (write_shard renames a finished temporary file onto the target).
"""

from __future__ import annotations

import logging
import resource
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from igsed.annotations import Event, frame_labels
from igsed.attribution.baselines import energy_scores, fw_to_eval_grid, random_scores
from igsed.attribution.ig import (
    DEFAULT_MEMORY_BUDGET_MB,
    IGSettings,
    attribute_clip,
    frame_magnitude,
    model_device,
    validate_settings,
)
from igsed.audio import load_clip
from igsed.checksums import combined_digest
from igsed.constants import (
    CLASSES,
    CLIP_SAMPLES,
    EVAL_FRAME_SECONDS,
    N_CLASSES,
    N_EVAL_FRAMES,
)
from igsed.formats.manifest import events_by_clip, read_events, read_manifest
from igsed.formats.shards import ClipAttribution, write_shard

logger = logging.getLogger(__name__)

ModelLoader = Callable[[], nn.Module]


@dataclass(frozen=True)
class ModelLoaders:
    """Factories for the three models, so only one of them needs to be in memory at once."""

    explained: ModelLoader
    fw_weak: ModelLoader
    fw_strong: ModelLoader


@dataclass
class _FramewiseScores:
    frames: np.ndarray  # (100, 10) on the evaluation grid
    clip: np.ndarray  # (10,) max over the model's own frames


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _prepare(model: nn.Module) -> nn.Module:
    # Inference only: no dropout/SpecAugment, no gradients for weights (IG needs input grads).
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def _load_waveform(clip_id: str, audio_paths: Mapping[str, Path]) -> np.ndarray:
    return load_clip(audio_paths[clip_id], n_samples=CLIP_SAMPLES)


def _framewise_scores(
    loader: ModelLoader,
    name: str,
    clip_ids: Sequence[str],
    audio_paths: Mapping[str, Path],
) -> dict[str, _FramewiseScores]:
    model = _prepare(loader())
    device = model_device(model)
    scores: dict[str, _FramewiseScores] = {}
    start = time.perf_counter()
    with torch.no_grad():
        for clip_id in clip_ids:
            waveform = torch.from_numpy(_load_waveform(clip_id, audio_paths))
            probs = model(waveform[None, :].to(device))
            probs = probs.detach().to("cpu", torch.float32).numpy()
            if probs.ndim != 3 or probs.shape[0] != 1 or probs.shape[2] != N_CLASSES:
                raise ValueError(
                    f"{name} model returned shape {probs.shape} for clip {clip_id}; "
                    f"expected (1, frames, {N_CLASSES})"
                )
            frames = probs[0]
            scores[clip_id] = _FramewiseScores(
                frames=fw_to_eval_grid(frames), clip=frames.max(axis=0)
            )
    logger.info("%s: %d clips in %.1f s", name, len(clip_ids), time.perf_counter() - start)
    del model
    return scores


def attribute_clips(
    clip_ids: Sequence[str],
    *,
    audio_paths: Mapping[str, Path],
    events: Mapping[str, list[Event]],
    models: ModelLoaders,
    settings: IGSettings,
    threshold: float,
    random_seed: int,
    figure_clips: Sequence[str] = (),
) -> tuple[list[ClipAttribution], dict[str, Any]]:
    """Frame scores of every method for `clip_ids`; returns the clips and a timing summary."""
    validate_settings(settings)
    figure_set = set(figure_clips)
    framewise = {
        "fw_weak": _framewise_scores(models.fw_weak, "FW-WS", clip_ids, audio_paths),
        "fw_strong": _framewise_scores(models.fw_strong, "FW-SS", clip_ids, audio_paths),
    }
    explained = _prepare(models.explained())
    device = model_device(explained)
    results: list[ClipAttribution] = []
    timings: list[dict[str, Any]] = []
    for position, clip_id in enumerate(clip_ids, start=1):
        clip_start = time.perf_counter()
        waveform_np = _load_waveform(clip_id, audio_paths)
        waveform = torch.from_numpy(waveform_np)
        with torch.no_grad():
            probabilities = explained(waveform[None, :].to(device))
        probabilities = probabilities.detach().to("cpu", torch.float64).numpy().reshape(-1)
        if probabilities.shape != (N_CLASSES,):
            raise ValueError(
                f"explained model returned {probabilities.shape} scores for clip {clip_id}; "
                f"expected ({N_CLASSES},)"
            )
        targets = [index for index in range(N_CLASSES) if probabilities[index] > threshold]
        names = [CLASSES[index] for index in targets]
        logger.info(
            "clip %d/%d %s: attributing %d classes %s",
            position,
            len(clip_ids),
            clip_id,
            len(targets),
            names,
        )
        ig_start = time.perf_counter()
        ig_results = attribute_clip(explained, waveform, targets, settings)
        ig_seconds = time.perf_counter() - ig_start
        ig_frames = np.zeros((len(targets), N_EVAL_FRAMES), dtype=np.float32)
        for row, result in enumerate(ig_results):
            ig_frames[row] = frame_magnitude(result.attribution)
        ig_signed = None
        if clip_id in figure_set:
            ig_signed = np.zeros((len(targets), CLIP_SAMPLES), dtype=np.float32)
            for row, result in enumerate(ig_results):
                ig_signed[row] = result.attribution
        results.append(
            ClipAttribution(
                clip_id=clip_id,
                probabilities=probabilities,
                attributed_classes=names,
                ground_truth=frame_labels(
                    events.get(clip_id, []), EVAL_FRAME_SECONDS, N_EVAL_FRAMES
                ),
                ig=ig_frames,
                convergence_delta=np.array([r.convergence_delta for r in ig_results]),
                f_input=np.array([r.f_input for r in ig_results]),
                f_baseline=np.array([r.f_baseline for r in ig_results]),
                fw_weak=framewise["fw_weak"][clip_id].frames,
                fw_strong=framewise["fw_strong"][clip_id].frames,
                fw_weak_clip=framewise["fw_weak"][clip_id].clip,
                fw_strong_clip=framewise["fw_strong"][clip_id].clip,
                energy=energy_scores(waveform_np),
                random=random_scores(clip_id, random_seed),
                ig_signed=ig_signed,
            )
        )
        clip_seconds = time.perf_counter() - clip_start
        per_class = ig_seconds / len(targets) if targets else 0.0
        logger.info(
            "clip %d/%d %s done: %.1f s (IG %.1f s, %.1f s per class), peak RSS %.0f MiB",
            position,
            len(clip_ids),
            clip_id,
            clip_seconds,
            ig_seconds,
            per_class,
            peak_rss_mb(),
        )
        timings.append(
            {
                "clip_id": clip_id,
                "attributed_classes": names,
                "seconds": clip_seconds,
                "ig_seconds": ig_seconds,
            }
        )
    summary = {
        "n_clips": len(results),
        "n_instances": sum(len(c.attributed_classes) for c in results),
        "ig_seconds": sum(t["ig_seconds"] for t in timings),
        "clips": timings,
    }
    return results, summary


def _audio_paths(manifest_path: Path, clip_ids: Sequence[str], split: str) -> dict[str, Path]:
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


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def attribute_shard(
    clip_ids: list[str],
    *,
    manifest_path: Path,
    events_path: Path,
    backbone_path: Path,
    clip_head_path: Path,
    fw_weak_path: Path,
    fw_strong_path: Path,
    out_path: Path,
    split: str,
    threshold: float = 0.5,
    n_steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int = 10,
    engine: str = "fused",
    memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB,
    random_seed: int,
    figure_clips: list[str],
    device: str = "auto",
) -> dict[str, Any]:
    """Attribute `clip_ids` of `split` and write the shard `out_path` (igsed.formats.shards).

    Returns a summary (counts, timings, peak memory) for the job log; the shard holds only
    the numbers, so re-running with the same inputs gives the same values.
    """
    from igsed.device import pick_device
    from igsed.models.explained import load_explained_model, load_framewise_model

    start = time.perf_counter()
    settings = IGSettings(
        n_steps=int(n_steps),
        method=method,
        internal_batch_size=int(internal_batch_size),
        engine=engine,
        memory_budget_mb=float(memory_budget_mb),
    )
    validate_settings(settings)
    if len(set(clip_ids)) != len(clip_ids):
        raise ValueError(f"duplicate clip ids in shard {out_path}: {clip_ids}")
    weight_paths = [Path(p) for p in (backbone_path, clip_head_path, fw_weak_path, fw_strong_path)]
    for weight_path in weight_paths:
        if not weight_path.is_file():
            raise FileNotFoundError(f"model weights not found: {weight_path}")
    audio_paths = _audio_paths(Path(manifest_path), clip_ids, split)
    events = events_by_clip(read_events(events_path))
    torch_device = pick_device(device)
    logger.info(
        "shard %s: %d %s clips on %s, IG %s",
        out_path,
        len(clip_ids),
        split,
        torch_device,
        settings.as_dict(),
    )
    models = ModelLoaders(
        explained=lambda: load_explained_model(
            Path(backbone_path), Path(clip_head_path), torch_device
        ),
        fw_weak=lambda: load_framewise_model(Path(backbone_path), Path(fw_weak_path), torch_device),
        fw_strong=lambda: load_framewise_model(
            Path(backbone_path), Path(fw_strong_path), torch_device
        ),
    )
    clips, summary = attribute_clips(
        clip_ids,
        audio_paths=audio_paths,
        events=events,
        models=models,
        settings=settings,
        threshold=float(threshold),
        random_seed=int(random_seed),
        figure_clips=figure_clips,
    )
    shard_settings: dict[str, Any] = {
        **settings.as_dict(),
        "threshold": float(threshold),
        "random_seed": int(random_seed),
        "device": torch_device.type,
        "baseline": "zero_waveform",
        "explained_output": "sigmoid",
        "torch_version": torch.__version__,
        "captum_version": _version("captum"),
    }
    write_shard(
        out_path,
        clips,
        split=split,
        model_checksum=combined_digest(weight_paths),
        settings=shard_settings,
    )
    summary.update(
        {
            "out_path": str(out_path),
            "split": split,
            "device": str(torch_device),
            "seconds": time.perf_counter() - start,
            "peak_rss_mb": peak_rss_mb(),
        }
    )
    if torch_device.type == "cuda":
        summary["peak_cuda_mb"] = torch.cuda.max_memory_allocated(torch_device) / 2**20
    logger.info(
        "shard %s written: %d clips, %d instances, %.1f s, peak RSS %.0f MiB",
        out_path,
        summary["n_clips"],
        summary["n_instances"],
        summary["seconds"],
        summary["peak_rss_mb"],
    )
    return summary
