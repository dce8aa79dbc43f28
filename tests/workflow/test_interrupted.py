"""A run stopped in the middle restarts where it stopped and takes no half file for done.

Two ways to stop it: Ctrl-C (SIGINT to the process group: Snakemake stops its jobs and
releases its lock) and SIGKILL (power cut, OOM killer: neither Snakemake nor the job gets to
clean up, and Snakemake's lock on the directory stays, so the restart needs `--unlock`
first, as the README says). Outputs are renamed into place only when complete
(igsed.core.atomic), so what exists afterwards is finished, and the restart runs the
stopped job and nothing that had finished.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from support.workflow import SNAKEMAKE, copy_workflow, planned_jobs, run_snakemake

from igsed.formats.shards import read_shard

TARGET = "results/models/cnn14/backbone.pt"
TINY = "workflow/presets/tiny.yaml"
BACKBONE_RUN = (TARGET, "--cores", "2", "--configfile", TINY)
KILL_DEADLINE_S = 600


def _start(workdir: Path) -> subprocess.Popen[str]:
    return _start_run(workdir, *BACKBONE_RUN)


def _default_ctrl_c() -> None:
    # A shell that runs the test suite in the background (`.ci/run &`, nohup) starts it with
    # SIGINT ignored, and an ignored signal stays ignored across exec: the run would then
    # shrug off the Ctrl-C this test sends. A user's terminal delivers it normally.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_run(workdir: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.Popen(
        [SNAKEMAKE, *args],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group, so the kill reaches every job
        preexec_fn=_default_ctrl_c,
    )


def _wait_for_backbone_training(workdir: Path, run: subprocess.Popen[str]) -> None:
    """Return once the backbone job has logged its first progress line."""
    log = workdir / "results" / "logs" / "backbone" / "cnn14.log"
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


@pytest.mark.slow
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
        locked = run_snakemake(workdir, *BACKBONE_RUN, check=False)
        assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
        run_snakemake(workdir, TARGET, "--unlock", "--configfile", TINY)
    restart = run_snakemake(workdir, *BACKBONE_RUN)
    log = restart.stdout + restart.stderr
    assert planned_jobs(log) == {"backbone": 1}, log
    # What had finished is untouched; the killed job's output is now complete.
    for path, mtime_ns in before.items():
        assert path.stat().st_mtime_ns == mtime_ns, f"{path} was written again"
    payload = torch.load(workdir / TARGET, map_location="cpu", weights_only=False)
    assert payload
    # No temporary siblings of the killed write were left to be mistaken for outputs.
    assert not list((workdir / "results" / "models" / "cnn14").glob("*.part"))


def _live_jobs(workdir: Path) -> list[int]:
    """Processes running a job script of `workdir`: what README's `pgrep -f` check lists."""
    result = subprocess.run(
        ["pgrep", "-f", f"{workdir}/.snakemake/scripts/"], capture_output=True, text=True
    )
    return [int(pid) for pid in result.stdout.split()]


def _without_attribution(tiny_run: Path, workdir: Path) -> None:
    """A copy of the tiny run as it was before its attribute jobs first ran (the instances
    files kept, so that only attribute jobs are running when Snakemake is killed)."""
    shutil.copytree(tiny_run, workdir, symlinks=True)
    for shards in (workdir / "results" / "main" / "cnn14" / "attribution").iterdir():
        if shards.is_dir():
            shutil.rmtree(shards)
    for record in (workdir / ".snakemake" / "metadata").iterdir():
        path = base64.urlsafe_b64decode(record.name).decode()
        if path.startswith("results/main/cnn14/attribution/") and path.endswith(".h5"):
            record.unlink()


def test_orphans_of_a_killed_snakemake_never_mix_into_the_results(
    tiny_run: Path, tmp_path: Path
) -> None:
    """`kill -9` of Snakemake alone: its running jobs finish as orphans, without metadata.

    After the README's recovery (no job alive, --unlock) a changed setting re-runs only the
    shards Snakemake has records of; the evaluation refuses the orphans' shards by name,
    and the command it names makes the results consistent.
    """
    workdir = tmp_path / "orphans"
    _without_attribution(tiny_run, workdir)
    # The random baseline alone. Snakemake itself re-runs an orphaned shard of a method that
    # reads the instances file (observed: it reports the instances as "Updated input
    # files"); the random baseline's orphans are kept, so the seed change makes them stale.
    steps = ("--config", "attribution={run: [random], methods: {random: {seed: 5}}}")
    run = _start_run(workdir, "--cores", "2", "--configfile", TINY, *steps)
    deadline = time.monotonic() + KILL_DEADLINE_S
    while not any("attribute" in _cmdline(pid) for pid in _live_jobs(workdir)):
        assert run.poll() is None and time.monotonic() < deadline, "no attribute job started"
        time.sleep(0.2)
    run.kill()  # Snakemake alone, not its process group
    run.wait(timeout=60)
    assert _live_jobs(workdir), "the jobs died with Snakemake; nothing was orphaned"
    while _live_jobs(workdir):
        assert time.monotonic() < deadline, "the orphaned jobs did not finish"
        time.sleep(0.5)
    shards = workdir.glob("results/main/cnn14/attribution/random/*/*.h5")
    orphaned = sorted(str(path.relative_to(workdir)) for path in shards)
    assert orphaned

    run_snakemake(workdir, "--unlock", "--configfile", TINY)
    changed = ("--config", "attribution={run: [random], methods: {random: {seed: 6}}}")
    # Asked for the evaluation's tables only: rule evaluate reads every split's shards, so it
    # names every orphan (the faithfulness job, which reads the test split only, might
    # otherwise refuse a test orphan first).
    table2 = "results/main/cnn14/evaluation/table2.csv"
    failed = run_snakemake(
        workdir, table2, "--cores", "2", "--configfile", TINY, *changed, check=False
    )
    assert failed.returncode != 0, "a run mixing seed 5 and 6 shards succeeded"
    message = (workdir / "results/logs/evaluate/main/cnn14.log").read_text()
    for shard in orphaned:
        assert f"{shard}: seed = 5 (configured: 6)" in message
    rebuild = message.split("to the run's snakemake command: ", 1)[1].split()
    run_snakemake(workdir, "--cores", "2", "--configfile", TINY, *changed, *rebuild)
    shards = list(workdir.glob("results/main/cnn14/attribution/random/*/*.h5"))
    assert len(shards) == 2 and {read_shard(path).settings["seed"] for path in shards} == {6}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
