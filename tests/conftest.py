"""Session fixtures: one tiny end-to-end pipeline run, shared by the workflow tests.

Markers a developer may deselect locally (CI runs every test; see docs/testing.md):
`slow` (the tests on the tiny pipeline run, and the other long Snakemake runs),
`full_width` (the float64 equivalence checks on full-width CNN14), `slurm`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.explained import clip, model, narrow  # noqa: F401 - float64 fixtures
from support.workflow import copy_workflow, run_snakemake


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "full_width: float64 equivalence checks on full-width CNN14 (minutes on a CPU); "
        'CI runs them, -m "not full_width" skips them',
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test that needs the tiny run is slow: the first one waits for the whole pipeline.
    for item in items:
        if "tiny_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory in which the tiny preset has run to the final report."""
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny_run"))
    run_snakemake(
        workdir, "--cores", "2", "--configfile", "workflow/presets/tiny.yaml", timeout=1200
    )
    return workdir
