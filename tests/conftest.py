"""Shared fixtures: the repository paths and one tiny end-to-end pipeline run per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "workflow" / "presets" / "tiny.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

# Tests import their helper modules (http_server, soundbank_fixture, ...) by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_snakemake(
    workdir: Path, *args: str, timeout: float = 900, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the repository's Snakefile in `workdir`; output captured for assertions."""
    command = [
        SNAKEMAKE,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        *args,
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}): {' '.join(command)}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory in which the tiny preset has run to the final report."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    shutil.copy(TINY, workdir / "tiny.yaml")
    run_snakemake(workdir, "--cores", "2", "--configfile", "tiny.yaml")
    return workdir
