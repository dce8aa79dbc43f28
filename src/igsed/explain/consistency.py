"""Does a run's parts belong together: its model files, its shards and the τ* chosen on them?

`igsed explain` uses the run's current model files with the τ* and method settings that
the evaluate rule derived from the shards. After a partial re-run (say, only the clip head
retrained) those shards, and so τ*, belong to other models: explaining with the new models
and the old τ* would give events no run measured. The shards record the checksum of the
model files and of the instances file they were made with (igsed.formats.shards); τ* is
only as current as the shards it was chosen on, which evaluate reads in full.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from igsed.core.checksums import file_digest
from igsed.core.methods import method_info
from igsed.explain.rundir import TAU_STAR, RunDir, RunDirError
from igsed.formats.shards import (
    ShardError,
    ShardExpectation,
    model_checksum,
    require_current_shards,
)

logger = logging.getLogger(__name__)

EVAL_SPLITS = ("val", "test")


def _instances_checksums(run: RunDir, method: str) -> dict[str, str]:
    """The checksum of each split's instances file, for a method that attributes them."""
    if method_info(method).all_classes:
        return {}
    files = {s: run.results / "attribution" / f"instances_{s}.tsv" for s in EVAL_SPLITS}
    return {split: file_digest(path) for split, path in files.items() if path.is_file()}


def method_shards(run: RunDir, method: str) -> list[Path]:
    """The run's val and test shards of `method`."""
    folder = run.results / "attribution" / method
    return sorted(path for split in EVAL_SPLITS for path in folder.glob(f"{split}/*.h5"))


def require_consistent_run(run: RunDir, methods: Sequence[str], roles: Sequence[str]) -> None:
    """Raise RunDirError when a method's shards were made with other model files or other
    instances than the run holds now; warn when τ* is older than a file it depends on.

    `roles` are the model files explain loads (the clip classifier and each method's).
    """
    for method in methods:
        info = method_info(method)
        shards = method_shards(run, method)
        if not shards:
            continue
        expectation = ShardExpectation(
            method=method,
            model_checksum=model_checksum(run.model_files(info.models)),
            settings={},
            instances_checksums=_instances_checksums(run, method),
        )
        try:
            require_current_shards(shards, expectation)
        except ShardError as error:
            models = ", ".join(str(p) for p in run.model_files(info.models).values()) or "none"
            raise RunDirError(
                f"the run's parts do not belong together: its {method} shards (and the τ* in "
                f"{run.results / TAU_STAR}, chosen on them) were made with other model files "
                f"or instances than the run holds now (models: {models}), as after a partial "
                f"re-run. Finish the run (the same snakemake command), then explain.\n{error}"
            ) from error
    _warn_if_tau_star_is_older(run, methods, roles)


def _warn_if_tau_star_is_older(run: RunDir, methods: Sequence[str], roles: Sequence[str]) -> None:
    """τ* records no checksum; its age tells whether a model or shard changed after it."""
    tau_star = run.results / TAU_STAR
    inputs = [*run.model_files(roles).values()]
    inputs += [path for method in methods for path in method_shards(run, method)]
    written = tau_star.stat().st_mtime
    newer = [str(path) for path in inputs if path.stat().st_mtime > written]
    if newer:
        logger.warning(
            "%s is older than %s: τ* may come from before a partial re-run; finish the run "
            "(the same snakemake command) unless the files were copied without their times",
            tau_star,
            ", ".join(newer),
        )
