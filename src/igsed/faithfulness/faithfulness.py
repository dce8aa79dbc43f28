"""Rule `faithfulness`: one method's deletion and insertion curves on the test instances.

For every test instance (clip, class c) the method's 100 ms frame scores order the frames,
most relevant first (MoRF) and least relevant first (LeRF, the control). Deletion zeroes
the first k frames of the order, insertion restores them into the zero waveform; after each
step the clip classifier gives F_c. A faithful method's deletion curve falls fast (a small
MoRF area) and its insertion curve rises fast (a large MoRF area). The maths is in
`curves.py`; this module reads the stage's inputs, runs the classifier and writes the two
tables (igsed.formats.faithfulness).

Every distinct masked input of a clip goes through the classifier once: the unmasked clip
(deletion 0 % = insertion 100 %) and the zero waveform (deletion 100 % = insertion 0 %) are
shared by the four curves of all the clip's classes, and a point of one curve that equals a
point of another (deletion MoRF at f is insertion LeRF at 1 - f when no scores tie) too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from igsed.core.audio import load_clip
from igsed.core.constants import CLASS_INDEX, CLIP_SAMPLES, N_CLASSES
from igsed.core.device import DEVICE_CHOICES, pick_device
from igsed.core.logs import Progress, peak_rss_mb
from igsed.core.methods import MethodInfo, method_info
from igsed.core.model_kinds import roles_in
from igsed.faithfulness.curves import (
    CURVE_KEYS,
    CurveKey,
    curve_masks,
    distinct_masks,
    normalised_areas,
    step_fractions,
)
from igsed.formats.faithfulness import AREA_COLUMNS, CURVE_COLUMNS, write_areas, write_curves
from igsed.formats.handover import rebuild_options
from igsed.formats.instances import Instance, classes_by_clip, read_instances
from igsed.formats.manifest import read_manifest
from igsed.formats.shards import (
    Shard,
    ShardError,
    ShardExpectation,
    read_shard,
)
from igsed.methods.loading import load_clip_classifier
from igsed.models.explained import ExplainedModel

logger = logging.getLogger(__name__)

SPLIT = "test"
# The rule hands over the clip classifier's files: a method run with others (the framewise
# heads) cannot have its shards' model checksum checked here.


@dataclass(frozen=True)
class FaithfulnessSettings:
    """The `faithfulness` config section: curve points beyond 0 %, masked copies per
    forward, and the device."""

    steps: int = 10
    batch_size: int = 16
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"faithfulness.steps must be >= 1, got {self.steps}")
        if self.batch_size < 1:
            raise ValueError(f"faithfulness.batch_size must be >= 1, got {self.batch_size}")
        if self.device not in DEVICE_CHOICES:
            raise ValueError(f"faithfulness.device must be one of {DEVICE_CHOICES}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> FaithfulnessSettings:
        unknown = sorted(set(section) - {"steps", "batch_size", "device"})
        if unknown:
            raise ValueError(f"unknown faithfulness settings {unknown}")
        return cls(**{key: section[key] for key in section})


@dataclass(frozen=True)
class FaithfulnessJob:
    """What one `faithfulness` job reads and writes: one method's test shards."""

    method: str
    method_params: Mapping[str, Any]  # attribution.methods.<method>: what its shards record
    manifest: Path
    instances: Path  # instances_test.tsv
    shards: tuple[Path, ...]  # the method's test shards
    # The clip classifier's files by role: a CNN14's backbone and clip_head, or the one
    # `classifier` file of any other kind (igsed.core.model_kinds).
    models: Mapping[str, Path]
    curves: Path
    areas: Path


@dataclass
class InstanceCurves:
    """The four curves of one instance, F_c at each point, and F_c of the unmasked clip."""

    clip_id: str
    class_name: str
    reference: float
    probabilities: dict[CurveKey, np.ndarray]  # (steps + 1,) per (curve, order)


def _expectation(job: FaithfulnessJob, info: MethodInfo) -> tuple[ShardExpectation, bool]:
    """What the method's shards must record, and whether their model checksum can be checked
    (only for the classifier's methods and the baselines: the rule gets no framewise head)."""
    roles = roles_in(info, job.models)
    checkable = set(roles) <= set(job.models)
    models = {role: job.models[role] for role in roles} if checkable else {}
    instances = None if info.all_classes else {SPLIT: job.instances}
    expectation = ShardExpectation.of(job.method, models, job.method_params, instances)
    return expectation, checkable


def _shard_problems(shard: Shard, expectation: ShardExpectation, check_models: bool) -> list[str]:
    if not check_models:
        expectation = replace(expectation, model_checksum=shard.model_checksum)
    problems = expectation.differences(shard)
    if shard.split != SPLIT:  # first: its instances checksum then differs as a consequence
        problems.insert(0, f"a shard of split {shard.split!r}, expected {SPLIT!r}")
    return problems


def _stale_error(method: str, stale: Mapping[str, list[str]]) -> ShardError:
    lines = "\n".join(f"  {path}: {'; '.join(problems)}" for path, problems in stale.items())
    return ShardError(
        f"{len(stale)} {method} test shards were made with other settings, models or "
        f"instances than this run's:\n{lines}\nRebuild them by adding these options to the "
        f"run's snakemake command: {rebuild_options(list(stale))}"
    )


def instance_scores(
    job: FaithfulnessJob, info: MethodInfo, instances: Sequence[Instance]
) -> dict[tuple[str, str], np.ndarray]:
    """The method's frame scores of every instance, by (clip_id, class), from checked shards.

    Methods that score all ten classes contribute only the instances' rows.
    """
    expectation, check_models = _expectation(job, info)
    wanted = classes_by_clip(instances)
    found: dict[tuple[str, str], np.ndarray] = {}
    owner: dict[str, Path] = {}
    stale: dict[str, list[str]] = {}
    for path in job.shards:
        shard = read_shard(path)
        problems = _shard_problems(shard, expectation, check_models)
        if problems:
            stale[str(path)] = problems
            continue
        for clip in (c for c in shard.clips if c.clip_id in wanted):
            if clip.clip_id in owner:
                raise ShardError(f"clip {clip.clip_id} is in both {owner[clip.clip_id]} and {path}")
            owner[clip.clip_id] = Path(path)
            for name in set(wanted[clip.clip_id]) & set(clip.classes):
                found[clip.clip_id, name] = clip.row(name)
    if stale:
        raise _stale_error(job.method, stale)
    keys = [(i.clip_id, i.class_name) for i in instances]
    missing = [key for key in keys if key not in found]
    if missing:
        raise ShardError(
            f"{len(missing)} instances of {job.instances} have no {job.method} scores in its "
            f"{len(job.shards)} test shards, e.g. {missing[:5]}"
        )
    return found


def audio_paths(manifest_path: Path, clip_ids: Sequence[str]) -> dict[str, Path]:
    """The audio file of each clip, checked to be a test clip of the manifest."""
    rows = {row.clip_id: row for row in read_manifest(manifest_path).itertuples(index=False)}
    missing = [clip_id for clip_id in clip_ids if clip_id not in rows]
    if missing:
        raise ValueError(f"{manifest_path}: clip ids not in the manifest: {missing}")
    wrong = [clip_id for clip_id in clip_ids if rows[clip_id].split != SPLIT]
    if wrong:
        raise ValueError(f"{manifest_path}: clips {wrong} are not in split {SPLIT!r}")
    return {clip_id: Path(rows[clip_id].audio_path) for clip_id in clip_ids}


def mask_probabilities(
    model: nn.Module, waveform: torch.Tensor, masks: np.ndarray, batch_size: int
) -> np.ndarray:
    """(m, 10) clip probabilities of `waveform` (N,) with the frames off in each (m, n_frames)
    keep-mask set to exactly 0, `batch_size` masked copies per forward."""
    n_frames = masks.shape[1]
    if waveform.shape[-1] % n_frames:
        raise ValueError(f"{waveform.shape[-1]} samples do not split into {n_frames} frames")
    parts = [np.zeros((0, N_CLASSES))]
    with torch.no_grad():
        for start in range(0, masks.shape[0], batch_size):
            keep = torch.as_tensor(masks[start : start + batch_size], device=waveform.device)
            parts.append(_masked_forward(model, waveform, keep).to("cpu", torch.float64).numpy())
    return np.concatenate(parts)


def _masked_forward(model: nn.Module, waveform: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """The model's probabilities of the masked copies. The clip classifier gets their power
    spectrograms from Cnn14.masked_power, which computes again only the STFT windows a mask
    boundary crosses (the front end is most of a narrow CNN14's forward)."""
    if isinstance(model, ExplainedModel):
        return model.from_power(model.masked_power(waveform[None, :], keep))
    samples_per_frame = waveform.shape[-1] // keep.shape[1]
    zero = torch.zeros((), dtype=waveform.dtype, device=waveform.device)
    # where(), not a product: a zeroed sample is +0.0 like the zero waveform's.
    return model(torch.where(keep.repeat_interleave(samples_per_frame, dim=1), waveform, zero))


def clip_curves(
    model: nn.Module,
    waveform: torch.Tensor,
    scores: Mapping[str, np.ndarray],
    steps: int,
    batch_size: int,
    clip_id: str = "",
) -> tuple[list[InstanceCurves], int]:
    """The curves of one clip's instances (frame scores by class name), and the number of
    distinct masked inputs that went through the model."""
    names = list(scores)
    masks = [curve_masks(scores[name], steps)[key] for name in names for key in CURVE_KEYS]
    per_instance = len(CURVE_KEYS) * (steps + 1)
    unique, inverse = distinct_masks(np.concatenate(masks))
    probabilities = mask_probabilities(model, waveform, unique, batch_size)[inverse]
    results = []
    for number, name in enumerate(names):
        rows = probabilities[number * per_instance : (number + 1) * per_instance]
        block = rows[:, CLASS_INDEX[name]].reshape(len(CURVE_KEYS), steps + 1)
        curves = {key: block[i] for i, key in enumerate(CURVE_KEYS)}
        results.append(InstanceCurves(clip_id, name, float(curves["deletion", "morf"][0]), curves))
    return results, len(unique)


def curves_table(results: Sequence[InstanceCurves], fractions: np.ndarray) -> pd.DataFrame:
    """The rows of curves.csv: one per instance, curve, order and fraction."""
    rows = [
        (r.clip_id, r.class_name, curve, order, float(f), float(p))
        for r in results
        for (curve, order), values in r.probabilities.items()
        for f, p in zip(fractions, values, strict=True)
    ]
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


def areas_table(results: Sequence[InstanceCurves], fractions: np.ndarray) -> pd.DataFrame:
    """The rows of areas.csv: F_c(x) and the four normalised areas of each instance."""
    rows = [
        {
            "clip_id": r.clip_id,
            "class": r.class_name,
            "probability": r.reference,
            **normalised_areas(fractions, r.probabilities, r.reference),
        }
        for r in results
    ]
    return pd.DataFrame(rows, columns=list(AREA_COLUMNS))


def all_curves(
    job: FaithfulnessJob,
    settings: FaithfulnessSettings,
    model: nn.Module,
    scores: Mapping[tuple[str, str], np.ndarray],
    device: torch.device,
) -> tuple[list[InstanceCurves], int]:
    """Every instance's curves, clip by clip (one log line each), and the forwards made."""
    by_clip: dict[str, list[str]] = {}
    for clip_id, name in scores:
        by_clip.setdefault(clip_id, []).append(name)
    paths = audio_paths(job.manifest, list(by_clip))
    progress = Progress(logger, f"{job.method} faithfulness: clips", len(by_clip), every_s=30)
    results, n_forwards = [], 0
    for number, (clip_id, names) in enumerate(by_clip.items(), start=1):
        start = time.perf_counter()
        audio = load_clip(paths[clip_id], n_samples=CLIP_SAMPLES)
        waveform = torch.as_tensor(audio, device=device)
        rows = {name: scores[clip_id, name] for name in names}
        clip_results, forwards = clip_curves(
            model, waveform, rows, settings.steps, settings.batch_size, clip_id
        )
        results += clip_results
        n_forwards += forwards
        logger.info(
            "%s clip %d/%d %s: %d classes, %d distinct inputs in %.1f s",
            job.method,
            number,
            len(by_clip),
            clip_id,
            len(names),
            forwards,
            time.perf_counter() - start,
        )
        progress.update(number)
    return results, n_forwards


def faithfulness(job: FaithfulnessJob, settings: FaithfulnessSettings) -> dict[str, Any]:
    """Write the method's deletion and insertion curves and their normalised areas.

    The shards are checked before the model loads. Returns a summary for the job log.
    """
    start = time.perf_counter()
    info = method_info(job.method)
    instances = read_instances(job.instances)
    scores = instance_scores(job, info, instances)
    device = pick_device(settings.device)
    logger.info(
        "%s: %d test instances, %d shards, %s on %s",
        job.method,
        len(instances),
        len(job.shards),
        settings,
        device,
    )
    model = load_clip_classifier(job.models, device)
    ordered = {(i.clip_id, i.class_name): scores[i.clip_id, i.class_name] for i in instances}
    results, n_forwards = all_curves(job, settings, model, ordered, device)
    fractions = step_fractions(settings.steps)
    areas = areas_table(results, fractions)
    write_curves(job.curves, curves_table(results, fractions))
    write_areas(job.areas, areas)
    return _summary(job, device, areas, n_forwards, time.perf_counter() - start)


def _summary(
    job: FaithfulnessJob, device: torch.device, areas: pd.DataFrame, n_forwards: int, seconds: float
) -> dict[str, Any]:
    means = {c: float(areas[c].mean()) if len(areas) else float("nan") for c in AREA_COLUMNS[3:]}
    summary = {
        "method": job.method,
        "device": str(device),
        "n_instances": len(areas),
        "n_clips": int(areas["clip_id"].nunique()),
        "n_forwards": n_forwards,
        "mean_areas": means,
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
    }
    logger.info(
        "%s faithfulness written: %d instances of %d clips, %d forwards, %.1f s, mean areas %s",
        job.method,
        summary["n_instances"],
        summary["n_clips"],
        n_forwards,
        seconds,
        {k: round(v, 4) for k, v in means.items()},
    )
    return summary
