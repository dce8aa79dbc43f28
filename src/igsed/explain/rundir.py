"""A finished pipeline run as `igsed explain` reads it: models, τ*, each method's settings.

The run directory is the pipeline's working directory (the one holding `results/`) or
its `results/` folder itself. Every path is igsed.formats.layout's: a model's files under
`results/models/{model}/`, its shards and τ* under `results/main/{model}/`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from igsed.core.methods import EXPLAINED
from igsed.core.model_kinds import CLASSIFIER_ROLE
from igsed.formats import layout
from igsed.formats.handover import DamagedFileError
from igsed.formats.shards import ShardError, read_shard
from igsed.formats.tau_star import TauStar, read_tau_star
from igsed.methods.loading import SHARD_CONTEXT_KEYS
from igsed.methods.registry import method_settings

logger = logging.getLogger(__name__)

TAU_STAR = layout.TAU_STAR
# τ* of which metric the events use: Fig. 2 draws the threshold at τ*_IoU too.
TAU_METRIC = "iou"


class RunDirError(ValueError):
    """A run directory that lacks what `igsed explain` needs, saying which rule makes it."""


def workdir_of(run_dir: str | Path) -> Path:
    """The pipeline's working directory: `run_dir`, or its parent when given results/."""
    run_dir = Path(run_dir)
    if (run_dir / layout.RESULTS).is_dir() or run_dir.name != layout.RESULTS:
        return run_dir
    return run_dir.parent


@dataclass(frozen=True)
class MethodParams:
    """A method's parameters and where they came from (for the log)."""

    method: str
    params: dict[str, Any]
    source: str
    settings: Any  # the registry's settings object


@dataclass(frozen=True)
class RunDir:
    """The parts of a finished run that `igsed explain` uses: one model's files, and its
    results on the main condition (`results`: its shards, instances and τ*)."""

    workdir: Path
    model: str
    tau_star: TauStar

    @property
    def results(self) -> Path:
        return self.workdir / layout.run_dir(layout.MAIN, self.model)

    @property
    def is_cnn14(self) -> bool:
        """A CNN14 has its backbone and heads; every other kind one classifier file."""
        return not (self.workdir / layout.model_file(self.model, CLASSIFIER_ROLE)).is_file()

    def model_files(self, roles: Iterable[str]) -> dict[str, Path]:
        """The files of `roles` (a CNN14's), as the model has them: for any other kind the
        clip classifier's roles are its one classifier file."""
        roles = tuple(roles)
        if not self.is_cnn14:
            other = [role for role in roles if role not in EXPLAINED]
            if other:
                raise RunDirError(
                    f"model {self.model!r} is not a CNN14: it has no {', '.join(other)} "
                    "(the framewise heads are CNN14's)"
                )
            roles = (CLASSIFIER_ROLE,) if roles else ()
        return {role: self.workdir / layout.model_file(self.model, role) for role in roles}

    def tau(self, method: str) -> int | None:
        """The method's τ*_IoU chosen on val, or None if the run did not evaluate it."""
        return self.tau_star.tau(method, TAU_METRIC)

    def threshold(self) -> float | None:
        """The run's attribution threshold (config attribution.threshold), as evaluate saw it."""
        return self.tau_star.threshold()

    def method_params(self, method: str) -> MethodParams:
        """The method's settings as recorded in the run's test shards, else its defaults."""
        recorded = self._recorded_params(method)
        if recorded is not None:
            params, shard = recorded
            try:
                return MethodParams(method, params, str(shard), method_settings(method, params))
            except ValueError as error:
                logger.warning("%s: settings of %s not usable (%s)", method, shard, error)
        return MethodParams(method, {}, "the method's defaults", method_settings(method, {}))

    def _recorded_params(self, method: str) -> tuple[dict[str, Any], Path] | None:
        for shard in sorted((self.results / "attribution" / method / "test").glob("*.h5")):
            try:
                settings = read_shard(shard).settings
            except (ShardError, OSError, KeyError, ValueError) as error:
                logger.warning("%s: cannot read the settings of %s (%s)", method, shard, error)
                continue
            params = {k: v for k, v in settings.items() if k not in SHARD_CONTEXT_KEYS}
            return params, shard
        return None


def _require(path: Path, rule: str) -> None:
    if not path.is_file():
        raise RunDirError(f"{path} not found: run the pipeline (rule {rule} makes it)")


def run_models(workdir: Path) -> list[str]:
    """The models a run holds (results/models/<name>/), by name."""
    models = workdir / layout.model_dir("")
    if not models.is_dir():
        return []
    return sorted(path.name for path in models.iterdir() if path.is_dir())


def choose_model(workdir: Path, model: str | None) -> str:
    """`model` when the run holds it; without one, the run's only model."""
    models = run_models(workdir)
    if model is not None and model in models:
        return model
    if model is None and len(models) == 1:
        return models[0]
    held = ", ".join(models) or "none"
    if model is None:
        raise RunDirError(f"the run holds several models ({held}): choose one with --model")
    raise RunDirError(f"the run holds no model {model!r} (it holds: {held})")


def open_run(run_dir: str | Path, roles: Iterable[str], model: str | None = None) -> RunDir:
    """One model of the run at `run_dir`, checked to hold the model files of `roles` and τ*."""
    if not Path(run_dir).is_dir():
        raise RunDirError(f"run directory {run_dir} not found")
    workdir = workdir_of(run_dir)
    if not (workdir / layout.RESULTS).is_dir():
        raise RunDirError(
            f"{run_dir} is not a pipeline run: it holds no results/ folder; give the folder "
            "snakemake ran in, or its results/"
        )
    old = layout.old_layout_folders(workdir)
    if old:
        raise RunDirError(layout.old_layout_message(old))
    model = choose_model(workdir, model)
    for role, path in RunDir(workdir, model, TauStar("", (0, 0))).model_files(roles).items():
        _require(path, layout.MODEL_ROLE_RULES[role])
    tau_star_path = workdir / layout.run_dir(layout.MAIN, model) / TAU_STAR
    _require(tau_star_path, "evaluate")
    try:
        tau_star = read_tau_star(tau_star_path)
    except DamagedFileError as error:
        raise RunDirError(f"{error} (rule evaluate makes it)") from error
    return RunDir(workdir, model, tau_star)
