"""A run stopped in the middle restarts where it stopped and takes no half file for done.

Two ways to stop it: Ctrl-C (SIGINT to the process group: Snakemake stops its jobs and
releases its lock) and SIGKILL (power cut, OOM killer: neither Snakemake nor the job gets to
clean up, and Snakemake's lock on the directory stays, so the restart needs `--unlock`
first, as the README says). Outputs are renamed into place only when complete
(igsed.core.atomic), so what exists afterwards is finished, and the restart runs the
stopped job and nothing that had finished.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from support.workflow import SNAKEMAKE, copy_workflow, planned_jobs, run_snakemake

TARGET = "results/models/backbone.pt"
TINY = "workflow/presets/tiny.yaml"
KILL_DEADLINE_S = 600


def _start(workdir: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.Popen(
        [SNAKEMAKE, TARGET, "--cores", "2", "--configfile", TINY],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group, so the kill reaches every job
    )


def _wait_for_backbone_training(workdir: Path, run: subprocess.Popen[str]) -> None:
    """Return once the backbone job has logged its first progress line."""
    log = workdir / "results" / "logs" / "backbone" / "backbone.log"
    deadline = time.monotonic() + KILL_DEADLINE_S
    while time.monotonic() < deadline:
        assert run.poll() is None, "the run ended before the backbone job started"
        if log.is_file() and "epoch" in log.read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"the backbone job did not start within {KILL_DEADLINE_S} s")


def _finished_files(workdir: Path) -> dict[Path, int]:
    results = workdir / "results"
    return {
        path: path.stat().st_mtime_ns
        for path in results.rglob("*")
        if path.is_file() and "logs" not in path.parts and "benchmarks" not in path.parts
    }


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_stopped_run_resumes_without_redoing_finished_jobs(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    workdir = copy_workflow(tmp_path / "interrupted")
    run = _start(workdir)
    try:
        _wait_for_backbone_training(workdir, run)
        os.killpg(run.pid, stop_signal)
        run.wait(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=60)
    assert not (workdir / TARGET).exists(), "the stopped job left its output under the final name"
    before = _finished_files(workdir)
    assert any("synthesis" in path.parts for path in before)

    if stop_signal == signal.SIGKILL:
        locked = run_snakemake(workdir, TARGET, "--cores", "2", "--configfile", TINY, check=False)
        assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
        run_snakemake(workdir, TARGET, "--unlock", "--configfile", TINY)
    restart = run_snakemake(workdir, TARGET, "--cores", "2", "--configfile", TINY)
    log = restart.stdout + restart.stderr
    assert planned_jobs(log) == {"backbone": 1}, log
    # What had finished is untouched; the killed job's output is now complete.
    for path, mtime_ns in before.items():
        assert path.stat().st_mtime_ns == mtime_ns, f"{path} was written again"
    payload = torch.load(workdir / TARGET, map_location="cpu", weights_only=False)
    assert payload
    # No temporary siblings of the killed write were left to be mistaken for outputs.
    assert not list((workdir / "results" / "models").glob("*.part"))
