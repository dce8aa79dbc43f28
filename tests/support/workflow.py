"""Running the workflow in tests: repository paths, a private copy, Snakemake, its job stats."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "workflow" / "presets" / "tiny.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


# The default model's results on main (igsed.formats.layout.run_dir("main", "cnn14")).
MAIN_RUN = "results/main/cnn14"
WORKFLOW_FILES = ("Snakefile", "config.yaml", "rules", "workflow", "envs", "src")
# Every rule of the DAG (besides the target rule `all`), in pipeline order.
PIPELINE_RULES = (
    "soundbank",
    "synthesize",
    "split",
    "backbone",
    "cache_features",
    "train_head",
    "classify",
    "table1",
    "instances",
    "attribute",
    "sanity",
    "faithfulness",
    "evaluate",
    "statistics",
    "sed_view",
    "figures",
    "benchmark_figures",
    "report",
)


def copy_workflow(workdir: Path) -> Path:
    """A private copy of the workflow and its code, so a test may edit config or code."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source, workdir / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        else:
            shutil.copy(source, workdir / name)
    return workdir


def run_snakemake(
    workdir: Path, *args: str, timeout: float = 900, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the Snakefile copied into `workdir` there; output captured for assertions."""
    command = [SNAKEMAKE, *args]
    # Rule scripts run with the `python` on PATH: make it this environment's.
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}) in {workdir}: {' '.join(command)}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


def planned_jobs(output: str) -> dict[str, int]:
    """rule -> job count, from the "Job stats" table Snakemake prints before running."""
    if "Nothing to be done" in output:
        return {}
    table = output.split("Job stats:", 1)[1]
    counts: dict[str, int] = {}
    for line in table.splitlines()[3:]:
        match = re.fullmatch(r"(\w+)\s+(\d+)", line.strip())
        if match is None:
            break
        counts[match.group(1)] = int(match.group(2))
    assert counts.pop("total") == sum(counts.values())
    return counts
