"""Rule `sanity`: does a gradient or layer method's output depend on what the model learned?

Cascading model-parameter randomisation (Adebayo et al., 2018; igsed.models.randomise): on a
seeded subset of the test instances, the method attributes the trained clip classifier
(level 0) and then models whose top 1..L named layers are re-initialised (L = 8 for CNN14,
6 for the CRNN: any model declaring LAYERS has a cascade; one without is refused). Each
level's frame scores are compared with level 0's by Spearman rank correlation, per
instance. A method whose scores stay alike when nothing learned is left explains the input
(or the architecture), not the classifier, and is flagged.

On the same instances and the trained model the job also writes the method's robustness
(`robustness_table`, docs/metrics.md "Robustness"): random-logit against a class the
classifier does not detect in the clip, and max-sensitivity over seeded noisy copies.

Every level runs the method exactly as the `attribute` rule does (the registry's settings
and per-clip computation, the same per-clip seeds), on a fresh model object per level: the
gradient methods evaluate an optimised copy of the network cached per model
(igsed.methods.fused.inference_network), and a new object cannot be served the trained
model's copy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from torch import nn

from igsed.core.audio import load_clip
from igsed.core.constants import CLASS_INDEX, CLASSES, CLIP_SAMPLES
from igsed.core.device import pick_device
from igsed.core.logs import Progress, peak_rss_mb
from igsed.core.methods import GRADIENT_FAMILIES, METHOD_INFO, MethodInfo, method_info
from igsed.core.ranks import spearman
from igsed.core.robustness import absent_class, max_sensitivity, noisy_copies
from igsed.formats.instances import Instance, classes_by_clip, read_instances
from igsed.formats.sanity import (
    ROBUSTNESS_COLUMNS,
    SANITY_COLUMNS,
    level_medians,
    write_robustness,
    write_sanity,
)
from igsed.methods.baselines import clip_seed_sequence
from igsed.methods.loading import audio_paths, load_method_model
from igsed.methods.registry import ClipInput, check_result, implementation, method_settings
from igsed.models.randomise import model_cascade, randomised_copy

logger = logging.getLogger(__name__)

SANITY_METHODS: tuple[str, ...] = tuple(
    name for name, info in METHOD_INFO.items() if info.family in GRADIENT_FAMILIES
)
# Instances keyed as the table writes them.
Key = tuple[str, str]


@dataclass(frozen=True)
class SanitySettings:
    """Config section `sanity` without its flag rule (`flag_correlation` is the report's, so
    changing it re-runs no cascade): the subset, the seed of subset and weights, the device."""

    n_instances: int = 24
    seed: int = 0
    device: str = "auto"
    # Max-sensitivity: noisy copies per clip and their noise, a fraction of the clip's peak.
    robustness_draws: int = 2
    robustness_noise: float = 0.01
    # Seed agreement (rule agreement): the seeds the CNN14 clip head is retrained with.
    agreement_seeds: Sequence[int] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "agreement_seeds", tuple(int(s) for s in self.agreement_seeds))
        if len(set(self.agreement_seeds)) < len(self.agreement_seeds):
            raise ValueError(f"sanity.agreement_seeds repeats a seed: {self.agreement_seeds}")
        if int(self.n_instances) < 1:
            raise ValueError(f"sanity.n_instances must be >= 1, got {self.n_instances}")
        if int(self.robustness_draws) < 0:
            raise ValueError(f"sanity.robustness_draws must be >= 0, got {self.robustness_draws}")
        if not 0 < float(self.robustness_noise) <= 1:
            raise ValueError(
                f"sanity.robustness_noise must be in (0, 1], got {self.robustness_noise}"
            )

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> SanitySettings:
        """The settings of config section `sanity` (unknown keys are an error)."""
        try:
            return cls(**dict(section))
        except TypeError as error:
            raise ValueError(f"sanity: {error}") from error


@dataclass(frozen=True)
class SanityJob:
    """What one `sanity` job reads and writes: one method on the test instances."""

    method: str
    manifest: Path
    models: Mapping[str, Path]  # by role: backbone and clip_head, or classifier
    instances: Path  # results/{condition}/{model}/attribution/instances_test.tsv
    out_path: Path
    robustness_path: Path | None = None  # the robustness table (formats.sanity); None: none
    split: str = "test"


def require_sanity_method(name: str) -> MethodInfo:
    """The method's catalogue entry if the cascade applies to it, else a ValueError."""
    info = method_info(name)
    if info.family not in GRADIENT_FAMILIES:
        raise ValueError(
            f"the sanity check re-attributes with gradient or layer methods; {name!r} is a "
            f"{info.family} method. Allowed: {', '.join(SANITY_METHODS)}"
        )
    return info


def select_instances(instances: Sequence[Instance], n: int, seed: int) -> list[Instance]:
    """`n` instances drawn without replacement by numpy default_rng(seed), all if fewer.

    Drawn from, and returned in, (clip_id, class) order, so the subset depends only on the
    instances file and the seed.
    """
    ordered = sorted(instances, key=lambda i: (i.clip_id, i.class_name))
    if len(ordered) <= n:
        return ordered
    chosen = np.random.default_rng(seed).choice(len(ordered), size=n, replace=False)
    return [ordered[index] for index in sorted(chosen)]


class SubsetSource(Protocol):
    """Where a job's subset clips are: the manifest and its split (SanityJob, AgreementJob)."""

    manifest: Path
    split: str


def clip_inputs(job: SubsetSource, chosen: Sequence[Instance]) -> list[ClipInput]:
    """One input per clip of the subset, with only its chosen classes as targets."""
    targets: dict[str, list[int]] = {}
    for instance in chosen:
        targets.setdefault(instance.clip_id, []).append(CLASS_INDEX[instance.class_name])
    paths = audio_paths(job.manifest, list(targets), job.split)
    return [
        ClipInput(clip_id, load_clip(paths[clip_id], n_samples=CLIP_SAMPLES), tuple(sorted(rows)))
        for clip_id, rows in targets.items()
    ]


def level_scores(
    model: nn.Module, clips: Sequence[ClipInput], method: str, config: Any
) -> dict[Key, np.ndarray]:
    """{(clip_id, class): (100,) frame scores} of the method on `model`, as `attribute` does."""
    compute = implementation(method).compute
    scores: dict[Key, np.ndarray] = {}
    # No total: a line every 30 s on a slow level only; the level's own line ends it.
    progress = Progress(logger, method, None, every_s=30)
    for number, clip in enumerate(clips, start=1):
        result = compute(model, clip, config)
        check_result(result, clip, method)
        for row, target in enumerate(clip.targets):
            scores[(clip.clip_id, CLASSES[target])] = np.asarray(result.scores[row], np.float64)
        progress.update(number, f"{number}/{len(clips)} clips")
    return scores


def correlations(
    reference: Mapping[Key, np.ndarray], scores: Mapping[Key, np.ndarray]
) -> dict[Key, float]:
    """{(clip_id, class): Spearman of the instance's scores with its reference scores}."""
    return {key: spearman(scores[key], reference[key]) for key in reference}


def nan_median(values: Iterable[float]) -> float:
    """The median of the defined (finite) values; NaN if there is none."""
    defined = [v for v in values if np.isfinite(v)]
    return float(np.median(defined)) if defined else float("nan")


def cascade_scores(
    model: nn.Module,
    clips: Sequence[ClipInput],
    method: str,
    config: Any,
    seed: int,
    levels: Sequence[int] | None = None,
) -> dict[int, dict[Key, np.ndarray]]:
    """Frame scores per level (all of the model's cascade, 0..L, by default): level 0 on
    `model`, level k on a fresh randomised copy.

    Each level gets its own model object (igsed.models.randomise.randomised_copy), dropped
    after its clips, so at most two models are held at a time.
    """
    cascade = model_cascade(model)
    by_level: dict[int, dict[Key, np.ndarray]] = {}
    for level in range(len(cascade) + 1) if levels is None else levels:
        start = time.perf_counter()
        level_model = model if level == 0 else randomised_copy(model, level, seed)
        by_level[level] = level_scores(level_model, clips, method, config)
        del level_model
        _log_level(method, cascade, level, by_level, time.perf_counter() - start)
    return by_level


def _log_level(
    method: str,
    cascade: Sequence[str],
    level: int,
    by_level: Mapping[int, Mapping[Key, np.ndarray]],
    seconds: float,
) -> None:
    count = len(by_level[level])
    if level == 0 or 0 not in by_level:
        logger.info("%s level %d: %d instances in %.1f s", method, level, count, seconds)
        return
    median = nan_median(correlations(by_level[0], by_level[level]).values())
    logger.info(
        "%s level %d (randomised down to %s): %d instances in %.1f s, median Spearman %.3f",
        method,
        level,
        cascade[level - 1],
        count,
        seconds,
        median,
    )


def correlation_table(
    by_level: Mapping[int, Mapping[Key, np.ndarray]], cascade: Sequence[str]
) -> pd.DataFrame:
    """The sanity table (igsed.formats.sanity): one row per randomised level and instance,
    each level labelled with its layer of the model's `cascade`."""
    rows = [
        (level, cascade[level - 1], clip_id, class_name, rho)
        for level in sorted(by_level)
        if level > 0
        for (clip_id, class_name), rho in correlations(by_level[0], by_level[level]).items()
    ]
    return pd.DataFrame(rows, columns=list(SANITY_COLUMNS))


def _absent_classes(
    clips: Sequence[ClipInput], instances: Sequence[Instance], seed: int
) -> dict[str, str | None]:
    """A class the classifier does not detect in each clip, drawn from the clip's seed (None
    where it detects all ten)."""
    detected = classes_by_clip(instances)
    return {
        clip.clip_id: absent_class(
            detected.get(clip.clip_id, []), CLASSES, np.random.default_rng(_streams(clip, seed)[0])
        )
        for clip in clips
    }


def _streams(clip: ClipInput, seed: int) -> list[np.random.SeedSequence]:
    """Two independent seed streams of a clip: its absent class and its noisy copies."""
    return clip_seed_sequence(clip.clip_id, seed).spawn(2)


def robustness_table(
    model: nn.Module,
    clips: Sequence[ClipInput],
    reference: Mapping[Key, np.ndarray],
    method: str,
    config: Any,
    settings: SanitySettings,
    instances: Sequence[Instance],
) -> pd.DataFrame:
    """Random-logit and max-sensitivity of each instance of `reference` (its level-0 scores),
    by re-running the method on the trained model: for each clip's absent class, and on
    `robustness_draws` noisy copies of each clip (formats.sanity.ROBUSTNESS_COLUMNS)."""
    absent = _absent_classes(clips, instances, settings.seed)
    other = [
        ClipInput(c.clip_id, c.waveform, (CLASS_INDEX[name],))
        for c in clips
        if (name := absent[c.clip_id]) is not None
    ]
    absent_scores = level_scores(model, other, method, config)
    noisy = {
        clip.clip_id: noisy_copies(
            clip.waveform,
            int(settings.robustness_draws),
            float(settings.robustness_noise),
            np.random.default_rng(_streams(clip, settings.seed)[1]),
        )
        for clip in clips
    }
    draws = [
        level_scores(
            model, [ClipInput(c.clip_id, noisy[c.clip_id][j], c.targets) for c in clips],
            method, config,
        )
        for j in range(int(settings.robustness_draws))
    ]  # fmt: skip
    rows = [
        (
            clip_id,
            name,
            absent[clip_id] or "",
            spearman(scores, absent_scores[(clip_id, absent[clip_id])])
            if absent[clip_id] is not None
            else float("nan"),
            max_sensitivity(scores, [draw[(clip_id, name)] for draw in draws]),
        )
        for (clip_id, name), scores in reference.items()
    ]
    return pd.DataFrame(rows, columns=list(ROBUSTNESS_COLUMNS))


def _summary(
    job: SanityJob, n_levels: int, table: pd.DataFrame, n_chosen: int, seconds: float
) -> dict[str, Any]:
    medians = level_medians(table, n_levels)
    return {
        "out_path": str(job.out_path),
        "method": job.method,
        "n_instances": n_chosen,
        "median_spearman": {int(level): float(value) for level, value in medians.items()},
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
    }


def sanity(
    job: SanityJob, settings: SanitySettings, method_params: Mapping[str, Any]
) -> dict[str, Any]:
    """Run the cascade for the job's method and write its table (igsed.formats.sanity).

    `method_params` is the method's config section (attribution.methods.<name>), parsed as
    the `attribute` rule parses it. Returns a summary for the job log: the median Spearman
    per level (the report flags a method from the table).
    """
    start = time.perf_counter()
    info = require_sanity_method(job.method)
    config = method_settings(job.method, method_params)
    device = pick_device(settings.device)
    instances = read_instances(job.instances)
    chosen = select_instances(instances, settings.n_instances, settings.seed)
    model = load_method_model(info, job.models, device)
    cascade = model_cascade(model)  # a model without named layers is refused here
    logger.info(
        "sanity %s: %d test instances, %d levels (%s), seed %d, on %s, %s",
        job.method,
        len(chosen),
        len(cascade),
        ", ".join(cascade),
        settings.seed,
        device,
        dict(method_params),
    )
    clips = clip_inputs(job, chosen)
    by_level = cascade_scores(model, clips, job.method, config, settings.seed)
    table = correlation_table(by_level, cascade)
    if job.robustness_path is not None:
        robustness = robustness_table(
            model, clips, by_level[0], job.method, config, settings, instances
        )
        logger.info(
            "%s robustness: median random-logit Spearman %.3f, median max-sensitivity %.3f",
            job.method,
            nan_median(robustness["random_logit"]),
            nan_median(robustness["max_sensitivity"]),
        )
        write_robustness(job.robustness_path, robustness)
    write_sanity(job.out_path, table)
    summary = _summary(job, len(cascade), table, len(chosen), time.perf_counter() - start)
    logger.info(
        "sanity %s written in %.1f s; median Spearman per level: %s",
        job.out_path,
        summary["seconds"],
        ", ".join(f"{k} {v:.3f}" for k, v in summary["median_spearman"].items()),
    )
    return summary
