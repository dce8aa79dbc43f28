"""Rule `attribute`: IG, framewise, energy and random frame scores for a shard of clips.

The clip classifier decides which classes are attributed (probability > threshold, paper
§III-C); every other method is stored for all ten classes so the evaluation can pick the
same (clip, class) instances for all of them. Nothing is written unless every clip of the
shard succeeded (write_shard renames a finished temporary file onto the target).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from igsed.attribution.baselines import energy_scores, random_scores
from igsed.attribution.engines import attribute_clip
from igsed.attribution.frames import frame_magnitude, fw_to_eval_grid
from igsed.attribution.ig import IGSettings, model_device
from igsed.core.annotations import Event, frame_labels
from igsed.core.audio import load_clip
from igsed.core.constants import (
    CLASSES,
    CLIP_SAMPLES,
    EVAL_FRAME_SECONDS,
    N_CLASSES,
    N_EVAL_FRAMES,
)
from igsed.core.device import pick_device
from igsed.core.logs import peak_rss_mb
from igsed.core.versions import package_version
from igsed.formats.manifest import events_by_clip, read_events, read_manifest
from igsed.formats.shards import ClipAttribution, model_checksum, write_shard
from igsed.models.explained import load_explained_model, load_framewise_model
from igsed.models.freeze import freeze

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


def _load_waveform(clip_id: str, audio_paths: Mapping[str, Path]) -> np.ndarray:
    return load_clip(audio_paths[clip_id], n_samples=CLIP_SAMPLES)


def _framewise_scores(
    loader: ModelLoader,
    name: str,
    clip_ids: Sequence[str],
    audio_paths: Mapping[str, Path],
) -> dict[str, _FramewiseScores]:
    model = freeze(loader())
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
    signed_clips: Sequence[str] = (),
) -> tuple[list[ClipAttribution], dict[str, Any]]:
    """Frame scores of every method for `clip_ids`; returns the clips and a timing summary."""
    signed_set = set(signed_clips)
    framewise = {
        "fw_weak": _framewise_scores(models.fw_weak, "FW-WS", clip_ids, audio_paths),
        "fw_strong": _framewise_scores(models.fw_strong, "FW-SS", clip_ids, audio_paths),
    }
    explained = freeze(models.explained())
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
        if clip_id in signed_set:
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


@dataclass(frozen=True)
class ModelFiles:
    """The four model files one shard is attributed with."""

    backbone: Path
    clip_head: Path
    fw_weak: Path
    fw_strong: Path

    def by_role(self) -> dict[str, Path]:
        """The files keyed by igsed.formats.shards.MODEL_ROLES."""
        return {
            "backbone": Path(self.backbone),
            "clip_head": Path(self.clip_head),
            "fw_weak": Path(self.fw_weak),
            "fw_strong": Path(self.fw_strong),
        }


@dataclass(frozen=True)
class ShardJob:
    """What one `attribute` job reads and writes: the clips of one shard of one split."""

    clip_ids: tuple[str, ...]
    split: str
    manifest: Path
    events: Path
    models: ModelFiles
    out_path: Path
    signed_clips: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttributeSettings:
    """Config `attribution` as one `attribute` job uses it, validated on construction."""

    ig: IGSettings
    threshold: float = 0.5
    random_seed: int = 0
    device: str = "auto"

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> AttributeSettings:
        """From config `attribution` (threshold, random_seed, device, ig)."""
        ig = section["ig"]
        return cls(
            ig=IGSettings(
                n_steps=int(ig["n_steps"]),
                method=str(ig["method"]),
                internal_batch_size=int(ig["internal_batch_size"]),
                engine=str(ig["engine"]),
                memory_budget_mb=float(ig["memory_budget_mb"]),
            ),
            threshold=float(section["threshold"]),
            random_seed=int(section["random_seed"]),
            device=str(section["device"]),
        )


def _model_loaders(models: ModelFiles, device: torch.device) -> ModelLoaders:
    return ModelLoaders(
        explained=lambda: load_explained_model(models.backbone, models.clip_head, device),
        fw_weak=lambda: load_framewise_model(models.backbone, models.fw_weak, device),
        fw_strong=lambda: load_framewise_model(models.backbone, models.fw_strong, device),
    )


def _shard_settings(settings: AttributeSettings, device: torch.device) -> dict[str, Any]:
    """What the shard records about how it was made."""
    return {
        **settings.ig.as_dict(),
        "threshold": float(settings.threshold),
        "random_seed": int(settings.random_seed),
        "device": device.type,
        "baseline": "zero_waveform",
        "explained_output": "sigmoid",
        "torch_version": torch.__version__,
        "captum_version": package_version("captum"),
    }


def attribute(job: ShardJob, settings: AttributeSettings) -> dict[str, Any]:
    """Attribute the clips of `job` and write its shard (igsed.formats.shards).

    Returns a summary (counts, timings, peak memory) for the job log; the shard holds only
    the numbers, so re-running with the same inputs gives the same values.
    """
    start = time.perf_counter()
    clip_ids = list(job.clip_ids)
    if len(set(clip_ids)) != len(clip_ids):
        raise ValueError(f"duplicate clip ids in shard {job.out_path}: {clip_ids}")
    for weight_path in job.models.by_role().values():
        if not weight_path.is_file():
            raise FileNotFoundError(f"model weights not found: {weight_path}")
    audio_paths = _audio_paths(Path(job.manifest), clip_ids, job.split)
    events = events_by_clip(read_events(job.events))
    torch_device = pick_device(settings.device)
    logger.info(
        "shard %s: %d %s clips on %s, IG %s",
        job.out_path,
        len(clip_ids),
        job.split,
        torch_device,
        settings.ig.as_dict(),
    )
    clips, summary = attribute_clips(
        clip_ids,
        audio_paths=audio_paths,
        events=events,
        models=_model_loaders(job.models, torch_device),
        settings=settings.ig,
        threshold=float(settings.threshold),
        random_seed=int(settings.random_seed),
        signed_clips=job.signed_clips,
    )
    write_shard(
        job.out_path,
        clips,
        split=job.split,
        model_checksum=model_checksum(job.models.by_role()),
        settings=_shard_settings(settings, torch_device),
    )
    summary.update(
        {
            "out_path": str(job.out_path),
            "split": job.split,
            "device": str(torch_device),
            "seconds": time.perf_counter() - start,
            "peak_rss_mb": peak_rss_mb(),
        }
    )
    if torch_device.type == "cuda":
        summary["peak_cuda_mb"] = torch.cuda.max_memory_allocated(torch_device) / 2**20
    logger.info(
        "shard %s written: %d clips, %d instances, %.1f s, peak RSS %.0f MiB",
        job.out_path,
        summary["n_clips"],
        summary["n_instances"],
        summary["seconds"],
        summary["peak_rss_mb"],
    )
    return summary
