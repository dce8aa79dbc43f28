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
    config.addinivalue_line("markers", "xdist_group(name): tests one pytest-xdist worker runs")


# Shared by the tests that need it: fixtures too costly to build twice (the tiny run, the
# SLURM module's cluster). Under pytest-xdist (scripts/test.sh runs `-n 2 --dist loadgroup`)
# their tests form one group, run by one worker; every other test file is a group of its own,
# so its module fixtures are built once. The long groups go first, so neither worker ends
# with a long tail alone.
SHARED_FIXTURES = ("tiny_run", "cluster")
SHARED_GROUP = "shared_runs"
LONG_GROUPS = (SHARED_GROUP, "tests/workflow/test_paper_preset.py")


def _group(item: pytest.Item) -> str:
    names = getattr(item, "fixturenames", ())
    if any(name in names for name in SHARED_FIXTURES):
        return SHARED_GROUP
    return item.nodeid.split("::")[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups = {}
    for item in items:
        # Every test that needs the tiny run is slow: the first one waits for the whole pipeline.
        if "tiny_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
        groups[item.nodeid] = _group(item)
        item.add_marker(pytest.mark.xdist_group(groups[item.nodeid]))
    if config.pluginmanager.hasplugin("xdist") and config.getoption("numprocesses", None):
        first = {group: rank for rank, group in enumerate(LONG_GROUPS)}
        items.sort(key=lambda item: first.get(groups[item.nodeid], len(first)))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory in which the tiny preset has run to the final report."""
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny_run"))
    run_snakemake(
        workdir, "--cores", "2", "--configfile", "workflow/presets/tiny.yaml", timeout=1200
    )
    return workdir
