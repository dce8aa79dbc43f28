"""A finished pipeline run as `igsed explain` reads it: models, τ*, each method's settings.

The run directory is the pipeline's working directory (the one holding `results/`) or
its `results/` folder itself. Paths below `results/` are those of rules/common.smk
(`MODEL_FILES`) and of the evaluate rule (`evaluation/tau_star.json`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from igsed.formats.handover import DamagedFileError
from igsed.formats.shards import ShardError, read_shard
from igsed.formats.tau_star import TauStar, read_tau_star
from igsed.methods.loading import SHARD_CONTEXT_KEYS
from igsed.methods.registry import method_settings

logger = logging.getLogger(__name__)

# Below results/, as rules/common.smk's MODEL_FILES, with the rule that makes each.
MODEL_FILES: dict[str, tuple[str, str]] = {
    "backbone": ("models/backbone.pt", "backbone"),
    "clip_head": ("models/head_clip.pt", "train_head"),
    "fw_weak": ("models/head_fw_weak.pt", "train_head"),
    "fw_strong": ("models/head_fw_strong.pt", "train_head"),
}
TAU_STAR = "evaluation/tau_star.json"
# τ* of which metric the events use: Fig. 2 draws the threshold at τ*_IoU too.
TAU_METRIC = "iou"


class RunDirError(ValueError):
    """A run directory that lacks what `igsed explain` needs, saying which rule makes it."""


def results_dir(run_dir: str | Path) -> Path:
    """`run_dir/results` when it exists, else `run_dir` itself (given as the results folder)."""
    run_dir = Path(run_dir)
    return run_dir / "results" if (run_dir / "results").is_dir() else run_dir


@dataclass(frozen=True)
class MethodParams:
    """A method's parameters and where they came from (for the log)."""

    method: str
    params: dict[str, Any]
    source: str
    settings: Any  # the registry's settings object


@dataclass(frozen=True)
class RunDir:
    """The parts of a finished run that `igsed explain` uses."""

    results: Path
    tau_star: TauStar

    def model_files(self, roles: Iterable[str]) -> dict[str, Path]:
        return {role: self.results / MODEL_FILES[role][0] for role in roles}

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


def open_run(run_dir: str | Path, roles: Iterable[str]) -> RunDir:
    """The run at `run_dir`, checked to hold the model files of `roles` and τ*."""
    if not Path(run_dir).is_dir():
        raise RunDirError(f"run directory {run_dir} not found")
    results = results_dir(run_dir)
    if results == Path(run_dir) and not (results / "models").is_dir():
        raise RunDirError(
            f"{run_dir} is not a pipeline run: it holds no results/ folder (nor models/, as "
            "a results/ folder would); give the folder snakemake ran in, or its results/"
        )
    for role in roles:
        relative, rule = MODEL_FILES[role]
        _require(results / relative, rule)
    _require(results / TAU_STAR, "evaluate")
    try:
        tau_star = read_tau_star(results / TAU_STAR)
    except DamagedFileError as error:
        raise RunDirError(f"{error} (rule evaluate makes it)") from error
    return RunDir(results, tau_star)
