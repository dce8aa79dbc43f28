"""Session fixtures: one tiny end-to-end pipeline run, shared by the workflow tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.explained import clip, model, narrow  # noqa: F401 - float64 fixtures
from support.workflow import copy_workflow, run_snakemake


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory in which the tiny preset has run to the final report."""
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny_run"))
    run_snakemake(
        workdir, "--cores", "2", "--configfile", "workflow/presets/tiny.yaml", timeout=1200
    )
    return workdir
