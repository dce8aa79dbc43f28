"""`igsed explain`: a finished run's classifier and attribution methods on any audio file.

For each file: read it (any format soundfile decodes, any channel count and sample rate:
igsed.explain.audio), cut it into 10 s windows, choose the classes to explain from the
run's clip classifier, score every window with every method on the 100 ms grid, join the
windows and trim to the file's length, then detect events at each method's τ* (chosen
on val by the run's evaluate rule; igsed.explain.detection) and write the scores, the
events and a figure (igsed.explain.outputs).

- Classes `auto`: those whose clip probability, the maximum over the file's windows, is
  above the run's attribution threshold (recorded in tau_star.json), as the instances
  rule chooses them on a 10 s clip; `all`: the ten classes; or the named classes.
- A method's settings are those recorded in the run's test shards, else the registry's
  defaults (igsed.explain.rundir).
- A file that fails is logged and reported; the others are still explained.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from igsed.core.annotations import Event
from igsed.core.constants import CLASS_INDEX, CLASSES, N_EVAL_FRAMES
from igsed.core.device import pick_device
from igsed.core.methods import EXPLAINED, method_info
from igsed.explain.audio import Audio, AudioError, frame_times, read_audio, windows
from igsed.explain.consistency import require_consistent_run
from igsed.explain.detection import detect_events
from igsed.explain.outputs import (
    explain_figure,
    require_writable_dir,
    write_events,
    write_figure,
    write_scores,
)
from igsed.explain.rundir import TAU_STAR, MethodParams, RunDir, RunDirError, open_run
from igsed.methods.loading import load_clip_classifier, load_method_model
from igsed.methods.registry import ClipInput, implementation

logger = logging.getLogger(__name__)

CLASS_CHOICES: tuple[str, ...] = ("auto", "all")
DEFAULT_THRESHOLD = 0.5  # config.yaml's attribution.threshold


@dataclass(frozen=True)
class ExplainSettings:
    """What to explain with: the run, the methods, the classes, where to write, the device.

    `classes`: "auto", "all", or class names. `threshold` overrides the run's attribution
    threshold for "auto"; `tau` overrides every method's τ* (a percentile in [0, 100]).
    """

    run_dir: Path
    methods: tuple[str, ...] = ("ig",)
    # The run's model to explain with (results/models/<model>/); None: its only one.
    model: str | None = None
    classes: str | tuple[str, ...] = "auto"
    out_dir: Path = Path(".")
    device: str = "auto"
    threshold: float | None = None
    tau: float | None = None

    def __post_init__(self) -> None:
        if not self.methods:
            raise ValueError("no method given")
        for method in self.methods:
            method_info(method)  # KeyError listing the known methods
        text = self.classes if isinstance(self.classes, str) else ",".join(self.classes)
        if parse_classes(text) != self.classes:
            raise ValueError(
                f"classes must be 'auto', 'all' or a tuple of distinct class names, "
                f"got {self.classes!r}"
            )
        if self.tau is not None and not 0.0 <= self.tau <= 100.0:
            raise ValueError(f"tau must be a percentile in [0, 100], got {self.tau}")
        # A clip probability is in [0, 1] (1: explain nothing); above it or nan is a typo.
        if self.threshold is not None and not (
            math.isfinite(self.threshold) and 0.0 <= self.threshold <= 1.0
        ):
            raise ValueError(
                f"threshold must be a clip probability in [0, 1], got {self.threshold}"
            )


def parse_classes(text: str) -> str | tuple[str, ...]:
    """`auto`, `all`, or a comma-separated list of class names (ValueError listing them)."""
    if text in CLASS_CHOICES:
        return text
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in CLASS_INDEX]
    if unknown or not names:
        raise ValueError(
            f"unknown class(es) {unknown or [text]}; use auto, all, or names from: "
            f"{', '.join(CLASSES)}"
        )
    return names


def parse_methods(text: str) -> tuple[str, ...]:
    """A comma-separated list of method names, duplicates dropped (KeyError if unknown)."""
    methods = tuple(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    for method in methods:
        method_info(method)
    return methods


@dataclass
class FileResult:
    """One explained file: what it held, which classes were explained, what was written."""

    path: Path
    duration_s: float
    n_windows: int
    classes: tuple[str, ...]
    probabilities: np.ndarray  # (10,) clip probability: max over the windows
    outputs: list[Path] = field(default_factory=list)


@dataclass
class ExplainReport:
    """Every file's result, and the files that failed with their error."""

    explained: list[FileResult] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)  # path -> message naming it

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        total = len(self.explained) + len(self.failed)
        lines = [f"explained {len(self.explained)} of {total} file(s)"]
        lines += [f"failed: {error}" for error in self.failed.values()]
        return "\n".join(lines)


@dataclass
class Explainer:
    """A run's models, each method's settings and τ*, ready to explain files."""

    settings: ExplainSettings
    run: RunDir
    device: torch.device
    threshold: float
    params: dict[str, MethodParams]
    taus: dict[str, float]
    models: dict[tuple[str, ...], nn.Module | None]

    @property
    def classifier(self) -> nn.Module:
        model = self.models[EXPLAINED]
        assert model is not None
        return model


def _roles(methods: Sequence[str]) -> tuple[str, ...]:
    """The model files needed: the clip classifier always (it chooses the classes)."""
    roles = dict.fromkeys(EXPLAINED)
    for method in methods:
        roles.update(dict.fromkeys(method_info(method).models))
    return tuple(roles)


def _taus(run: RunDir, methods: Sequence[str], override: float | None) -> dict[str, float]:
    if override is not None:
        return dict.fromkeys(methods, float(override))
    taus = {method: run.tau(method) for method in methods}
    missing = [method for method, tau in taus.items() if tau is None]
    if missing:
        raise RunDirError(
            f"{run.results / TAU_STAR} has no τ* for {', '.join(missing)} (the run did not "
            "evaluate them, or they had no val instances); give a percentile to use instead "
            "(--tau)"
        )
    return {method: float(tau) for method, tau in taus.items() if tau is not None}


def _threshold(run: RunDir, override: float | None) -> float:
    if override is not None:
        return float(override)
    recorded = run.threshold()
    if recorded is None:
        logger.warning(
            "%s records no attribution threshold; using %s",
            run.results / TAU_STAR,
            DEFAULT_THRESHOLD,
        )
        return DEFAULT_THRESHOLD
    return recorded


def _load_models(
    run: RunDir, methods: Sequence[str], device: torch.device
) -> dict[tuple[str, ...], nn.Module | None]:
    models: dict[tuple[str, ...], nn.Module | None] = {
        EXPLAINED: load_clip_classifier(run.model_files(EXPLAINED), device)
    }
    for info in map(method_info, methods):
        if info.models not in models:
            models[info.models] = load_method_model(info, run.model_files(info.models), device)
    return models


def prepare(settings: ExplainSettings) -> Explainer:
    """Open and check the run, load its models, read each method's settings and τ*."""
    roles = _roles(settings.methods)
    run = open_run(settings.run_dir, roles, settings.model)
    taus = _taus(run, settings.methods, settings.tau)
    threshold = _threshold(run, settings.threshold)
    params = {method: run.method_params(method) for method in settings.methods}
    device = pick_device(settings.device)
    for method, entry in params.items():
        logger.info(
            "%s: settings %s (from %s); events at τ = %g",
            method,
            entry.settings.as_dict(),
            entry.source,
            taus[method],
        )
    logger.info("run %s on %s; auto classes above %g", run.results, device, threshold)
    # Loaded first, so a damaged model file is named as such (igsed.formats.weights), not
    # as one that differs from the shards' models.
    models = _load_models(run, settings.methods, device)
    require_consistent_run(run, settings.methods, roles)
    return Explainer(settings, run, device, threshold, params, taus, models)


def clip_probabilities(model: nn.Module, clips: np.ndarray, device: torch.device) -> np.ndarray:
    """(n_windows, 10) clip-classifier probabilities, one window at a time (bounded memory)."""
    rows = []
    with torch.no_grad():
        for clip in clips:
            batch = torch.from_numpy(clip)[None, :].to(device)
            rows.append(model(batch)[0].detach().to("cpu", torch.float64).numpy())
    return np.stack(rows)


def choose_classes(
    choice: str | tuple[str, ...], probabilities: np.ndarray, threshold: float
) -> tuple[str, ...]:
    """The classes to explain, in the order of CLASSES for auto and all."""
    if choice == "all":
        return CLASSES
    if choice == "auto":
        return tuple(name for i, name in enumerate(CLASSES) if probabilities[i] > threshold)
    return tuple(choice)


def method_scores(
    method: str,
    model: nn.Module | None,
    settings: Any,
    clips: np.ndarray,
    clip_id: str,
    targets: tuple[int, ...],
) -> np.ndarray:
    """(k, 100 * n_windows) frame scores of the `targets` classes, window after window.

    Window w is the clip "<clip_id>#<w>": the seeded methods draw per window.
    """
    compute = implementation(method).compute
    all_classes = method_info(method).all_classes
    rows = []
    for index, window in enumerate(clips):
        result = compute(model, ClipInput(f"{clip_id}#{index}", window, targets), settings)
        scores = np.asarray(result.scores, dtype=np.float64)
        if all_classes:  # the method scored all ten classes
            scores = scores[list(targets)]
        if scores.shape != (len(targets), N_EVAL_FRAMES) or not np.isfinite(scores).all():
            raise ValueError(
                f"{method} gave frame scores of shape {scores.shape} (finite: "
                f"{bool(np.isfinite(scores).all())}) for window {index}; expected "
                f"({len(targets)}, {N_EVAL_FRAMES}), finite"
            )
        rows.append(scores)
    return np.concatenate(rows, axis=1)


def output_paths(out_dir: Path, stem: str, methods: Sequence[str]) -> dict[str, dict[str, Path]]:
    """Each method's scores and events files: `<stem>.<kind>.tsv` for a single method,
    `<stem>.<method>.<kind>.tsv` for several, so that each file keeps one plain layout."""
    infix = {method: "" if len(methods) == 1 else f".{method}" for method in methods}
    kinds = ("scores", "events")
    return {
        method: {kind: out_dir / f"{stem}{infix[method]}.{kind}.tsv" for kind in kinds}
        for method in methods
    }


def _describe(audio: Audio, classes: Sequence[str], probabilities: np.ndarray) -> str:
    chosen = ", ".join(f"{c} {probabilities[CLASS_INDEX[c]]:.2f}" for c in classes) or "none"
    return (
        f"{audio.duration_s:.2f} s, {audio.source_channels} channel(s) at {audio.source_rate} Hz, "
        f"{audio.n_windows} window(s); classes (clip probability): {chosen}"
    )


def _write_outputs(
    explainer: Explainer,
    audio: Audio,
    classes: tuple[str, ...],
    scores: Mapping[str, np.ndarray],
    events: Mapping[str, list[Event]],
) -> list[Path]:
    out_dir = Path(explainer.settings.out_dir)
    times = frame_times(audio)
    written = []
    for method, paths in output_paths(out_dir, audio.path.stem, list(scores)).items():
        if classes:
            write_scores(paths["scores"], times, scores[method], classes)
            written.append(paths["scores"])
        else:  # no column to write; an older file of the same name would mislead
            paths["scores"].unlink(missing_ok=True)
        write_events(paths["events"], events[method])
        written.append(paths["events"])
    figure = out_dir / f"{audio.path.stem}.png"
    write_figure(figure, explain_figure(audio, times, scores, events, classes))
    return [*written, figure]


def _file_scores(
    explainer: Explainer,
    method: str,
    clips: np.ndarray,
    clip_id: str,
    targets: tuple[int, ...],
    n_frames: int,
) -> np.ndarray:
    """(k, n_frames): the method's scores of the file's windows, cut at the file's end."""
    if not targets:
        return np.zeros((0, n_frames))
    model = explainer.models[method_info(method).models]
    settings = explainer.params[method].settings
    return method_scores(method, model, settings, clips, clip_id, targets)[:, :n_frames]


def explain_file(explainer: Explainer, path: Path) -> FileResult:
    """Explain one file with every method and write its outputs."""
    audio = read_audio(path)
    clips = windows(audio)
    probabilities = clip_probabilities(explainer.classifier, clips, explainer.device).max(axis=0)
    classes = choose_classes(explainer.settings.classes, probabilities, explainer.threshold)
    logger.info("%s: %s", path, _describe(audio, classes, probabilities))
    targets = tuple(CLASS_INDEX[c] for c in classes)
    times = frame_times(audio)
    scores, events = {}, {}
    for method in explainer.settings.methods:
        started = time.perf_counter()
        scores[method] = _file_scores(explainer, method, clips, path.name, targets, audio.n_frames)
        events[method] = detect_events(scores[method], classes, explainer.taus[method], times)
        logger.info(
            "%s: %s in %.1f s, %d event(s)",
            path,
            method,
            time.perf_counter() - started,
            len(events[method]),
        )
    outputs = _write_outputs(explainer, audio, classes, scores, events)
    return FileResult(path, audio.duration_s, audio.n_windows, classes, probabilities, outputs)


def _require_distinct_stems(files: Sequence[Path]) -> None:
    by_stem: dict[str, list[str]] = {}
    for path in files:
        by_stem.setdefault(path.stem, []).append(str(path))
    clashes = [paths for paths in by_stem.values() if len(paths) > 1]
    if clashes:
        raise ValueError(
            "files with the same name stem would write the same outputs: "
            + "; ".join(", ".join(paths) for paths in clashes)
        )


def explain(files: Sequence[str | Path], settings: ExplainSettings) -> ExplainReport:
    """Explain every file; a file that fails is logged and reported, the others still run.

    Raises (before any file is read) RunDirError for a run without models or τ*, or whose
    models, shards and τ* do not belong together, OutDirError for an output folder that
    cannot be written, and ValueError for files that would overwrite each other's outputs.
    """
    paths = [Path(f) for f in files]
    _require_distinct_stems(paths)
    require_writable_dir(Path(settings.out_dir))
    explainer = prepare(settings)
    report = ExplainReport()
    for number, path in enumerate(paths, start=1):
        logger.info("[%d/%d] explaining %s", number, len(paths), path)
        try:
            report.explained.append(explain_file(explainer, path))
        except AudioError as error:
            logger.error("%s", error)
            report.failed[path] = str(error)
        except Exception as error:  # one file's failure must not stop the others
            logger.exception("%s: failed", path)
            report.failed[path] = f"{path}: {type(error).__name__}: {error}"
    return report
