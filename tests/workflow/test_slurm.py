"""The SLURM profile (workflow/profiles/slurm) on a real, single-node SLURM cluster.

The cluster is started per module by tests/slurm_cluster.py (needs root and Debian's slurmctld,
slurmd, slurm-client and munge; .ci/run provides both). The profile is used as written; the
command line only overrides what depends on the machine (`--cores`: the test node has fewer
CPUs than a cluster node) and the status polling cadence (the profile's values suit a queue
where jobs run for minutes; here they run for seconds).
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from support.slurm_cluster import SlurmCluster, slurm_cluster, unavailable_reason

REPO = Path(__file__).resolve().parents[2]
SLURM_PROFILE = REPO / "workflow" / "profiles" / "slurm"
LOCAL_PROFILE = REPO / "workflow" / "profiles" / "local"
DEMO_SNAKEFILE = REPO / "tests" / "data" / "slurm_demo" / "Snakefile"

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# Snakemake with the SLURM plugin's status checks every FAST_POLLING seconds, without the
# plugin's +10 s back-off per check that finds nothing finished (tests/support/
# steady_polling.py): only how often squeue is asked changes, not what is submitted.
SLURM_SNAKEMAKE = [sys.executable, str(REPO / "tests" / "support" / "steady_polling.py")]
# First check after 1 s, then every 1 s. MinJobAge (300 s) >= 3 x 1 s keeps squeue trusted.
FAST_POLLING = [
    "--seconds-between-status-checks",
    "1",
    "--slurm-init-seconds-before-status-checks",
    "1",
]
DEMO_SHARDS = 4  # the demo Snakefile's default n_shards
DEMO_SHARD_RUNTIME_MIN = 5
DEMO_TIMEOUT_S = 150
PIPELINE_TIMEOUT_S = 1800
TINY_RUN_CORES = 2  # conftest's tiny_run: snakemake --cores 2

# Checked before any fixture runs, so a skipped test does not first build the local tiny run.
SLURM_UNAVAILABLE = unavailable_reason()
requires_slurm = pytest.mark.skipif(
    SLURM_UNAVAILABLE is not None, reason=f"SLURM test skipped: {SLURM_UNAVAILABLE}"
)

# Tables a SLURM run and a local run of the tiny preset must agree on.
# The methods of the SLURM run, one per kind of model: the clip classifier on the instances
# (IG: also a sanity and a faithfulness job), a framewise head, none. Any other method runs
# the same rules with the same resources, so it would add sbatch jobs and nothing new.
SLURM_METHODS = ("ig", "fw_strong", "random")
# What the SLURM run takes over from the local run instead of making again.
SYNTHESIZED = ("resources/soundbank", "results/main/synthesis")
PIPELINE_TABLES = [
    "results/main/cnn14/tables/table1.csv",
    "results/main/cnn14/evaluation/table2.csv",
    "results/main/cnn14/evaluation/table3.csv",
    "results/main/cnn14/evaluation/sweep_val.csv",
    "results/main/cnn14/evaluation/sweep_test.csv",
    "results/main/cnn14/evaluation/instances_test.csv",
    "results/main/cnn14/evaluation/sed_view.csv",
    "results/main/cnn14/faithfulness/ig/areas.csv",
    "results/main/cnn14/sanity/ig.csv",
]


def _profile() -> dict:
    return yaml.safe_load((SLURM_PROFILE / "profile.yaml").read_text())


def _profile_partition() -> str:
    # The profile quotes the name so that Snakemake evaluates it to a string literal.
    return str(ast.literal_eval(_profile()["default-resources"]["slurm_partition"]))


def _run_bounded(
    args: list[str], *, env: dict[str, str], cwd: Path, timeout_s: float
) -> subprocess.CompletedProcess[str]:
    """Run a command in its own session; on timeout kill the whole session and fail."""
    started = time.monotonic()
    process = subprocess.Popen(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(
            f"snakemake in {cwd} ran past {timeout_s:.0f} s and was killed\n{stderr[-4000:]}"
        )
    elapsed = time.monotonic() - started
    print(f"snakemake in {cwd} finished in {elapsed:.1f} s (exit {process.returncode})")
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def _with_this_python(env: dict[str, str]) -> dict[str, str]:
    # Rule scripts run with the `python` on PATH: make it this environment's.
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}


def _local_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    return _with_this_python(env)


def _job_fields(cluster: SlurmCluster, job_id: str) -> dict[str, str]:
    # MinJobAge keeps finished jobs in slurmctld, so scontrol still describes them.
    text = cluster.run(["scontrol", "show", "job", job_id]).stdout
    return dict(re.findall(r"(\w+)=(\S+)", text))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    reason = unavailable_reason()
    if reason is not None:
        print(f"SKIPPED SLURM tests: {reason}")
        pytest.skip(reason)
    with slurm_cluster(
        tmp_path_factory.mktemp("slurm"), partition=_profile_partition(), gpus=1
    ) as running:
        yield running


def test_profile_plugin_options_exist_in_installed_plugin() -> None:
    from snakemake_executor_plugin_slurm import ExecutorSettings

    plugin_options = {
        f"slurm-{f.name.replace('_', '-')}" for f in dataclasses.fields(ExecutorSettings)
    }
    profile_options = {key for key in _profile() if key.startswith("slurm-")}
    assert profile_options, "the profile sets no plugin options"
    assert profile_options <= plugin_options, profile_options - plugin_options
    assert _profile()["slurm-status-command"] == "squeue"


@pytest.mark.parametrize("profile", [SLURM_PROFILE, LOCAL_PROFILE], ids=lambda p: p.name)
def test_every_profile_entry_is_commented(profile: Path) -> None:
    lines = (profile / "profile.yaml").read_text().splitlines()
    for number, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        before = lines[number - 1].strip() if number else ""
        # A comment right above, or (for a nested entry) its commented parent key.
        documented = before.startswith("#") or (line.startswith(" ") and before.endswith(":"))
        assert documented, f"profile.yaml line {number + 1} has no comment: {line.strip()}"


def test_profile_resolves_default_resources_in_a_dry_run(tmp_path: Path) -> None:
    result = _run_bounded(
        [
            *SNAKEMAKE,
            "--profile",
            SLURM_PROFILE,
            "--snakefile",
            DEMO_SNAKEFILE,
            "--directory",
            tmp_path,
            "--dry-run",
        ],
        env=_local_env(),
        cwd=tmp_path,
        timeout_s=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    # Rules' own values win over the defaults; cpus_per_task follows threads.
    assert re.search(r"mem_mb=300,.*runtime=5, cpus_per_task=1, gpu=0, group_slot=1", log)
    assert f"slurm_partition={_profile_partition()}" in log
    # `all` declares nothing, so it gets the profile's defaults.
    assert re.search(r"mem_mb=2000,.*runtime=60", log)


@pytest.mark.slurm
@requires_slurm
def test_demo_workflow_through_slurm_profile_packs_the_attribution_group(
    cluster: SlurmCluster, tmp_path: Path
) -> None:
    slurm_dir = tmp_path / "slurm_run"
    local_dir = tmp_path / "local_run"
    slurm_dir.mkdir()
    local_dir.mkdir()

    result = _run_bounded(
        [
            *SLURM_SNAKEMAKE,
            "--profile",
            SLURM_PROFILE,
            "--snakefile",
            DEMO_SNAKEFILE,
            "--directory",
            slurm_dir,
            "--cores",
            str(cluster.cpus),
            *FAST_POLLING,
            "--slurm-keep-successful-logs",
            "--config",
            "shard_gpu=1",
        ],
        env=_with_this_python(cluster.env),
        cwd=slurm_dir,
        timeout_s=DEMO_TIMEOUT_S,
    )
    assert result.returncode == 0, f"{result.stderr[-6000:]}\n{cluster.log_tail()}"

    # Every job recorded the SLURM job it ran in.
    shard_ids = {
        path.name: path.read_text().strip()
        for path in (slurm_dir / "results" / "shards").glob("*.tsv.jobid")
    }
    prepare_id = (slurm_dir / "results" / "items.txt.jobid").read_text().strip()
    combine_id = (slurm_dir / "results" / "summary.tsv.jobid").read_text().strip()
    assert len(shard_ids) == DEMO_SHARDS
    job_ids = {prepare_id, combine_id, *shard_ids.values()}
    assert all(job_id.isdigit() for job_id in job_ids), job_ids

    # The profile's group-components (4) packs all four shards into one sbatch job.
    group_ids = set(shard_ids.values())
    assert len(group_ids) == 1, shard_ids
    assert len(job_ids) == 3, job_ids
    submissions = re.findall(r"submitted with SLURM jobid (\d+)", result.stderr)
    assert sorted(submissions) == sorted(job_ids)

    # squeue (the profile's status command) saw each job complete.
    states = dict(
        line.split("|")
        for line in cluster.run(
            ["squeue", "--states=all", "--noheader", "--format=%i|%T"]
        ).stdout.split()
    )
    assert {states[job_id] for job_id in job_ids} == {"COMPLETED"}, states

    # Plugin logs, one per sbatch job, under the rule or group name.
    logs = slurm_dir / ".snakemake" / "slurm_logs"
    assert (logs / "rule_prepare" / f"{prepare_id}.log").exists()
    assert (logs / "rule_combine" / f"{combine_id}.log").exists()
    group_id = group_ids.pop()
    assert [p.name for p in logs.glob("group_attribution*/*.log")] == [f"{group_id}.log"]

    # What sbatch asked for. The group job is sized for members run in series (the plugin's
    # job step runs them one at a time): one shard's CPU, memory and GPU, all shards' runtime.
    group = _job_fields(cluster, group_id)
    assert group["Partition"] == cluster.partition
    assert group["NumCPUs"] == "1"
    assert group["MinMemoryNode"] == "300M"
    assert group["TresPerJob"] == "gres:gpu:1"
    minutes = DEMO_SHARDS * DEMO_SHARD_RUNTIME_MIN
    assert group["TimeLimit"] == f"00:{minutes:02d}:00"
    prepare = _job_fields(cluster, prepare_id)
    assert "TresPerJob" not in prepare  # gpu: 0 asks for no GPU
    assert prepare["TimeLimit"] == "00:05:00"
    assert prepare["MinMemoryNode"] == "200M"
    assert prepare["Account"] == "(null)"  # no slurm_account: the plugin submits without -A

    # Same results as a local run of the same workflow.
    local = _run_bounded(
        [
            *SNAKEMAKE,
            "--profile",
            LOCAL_PROFILE,
            "--snakefile",
            DEMO_SNAKEFILE,
            "--directory",
            local_dir,
            "--cores",
            "2",
            "--config",
            "shard_gpu=1",
        ],
        env=_local_env(),
        cwd=local_dir,
        timeout_s=60,
    )
    assert local.returncode == 0, local.stderr[-3000:]
    assert (local_dir / "results" / "summary.tsv.jobid").read_text().strip() == "local"
    shard_tables = [f"results/shards/{name.removesuffix('.jobid')}" for name in shard_ids]
    for relative in ["results/summary.tsv", *shard_tables]:
        assert (slurm_dir / relative).read_bytes() == (local_dir / relative).read_bytes(), relative


@pytest.mark.slow
@pytest.mark.slurm
@requires_slurm
def test_tiny_preset_through_slurm_profile_equals_local_run(
    cluster: SlurmCluster, tiny_run: Path, tmp_path: Path
) -> None:
    # `tiny_run` (conftest) is the local run: a copy of the workflow and its code where
    # `snakemake --cores 2 --configfile workflow/presets/tiny.yaml` has run. The SLURM run
    # gets its own copy, so both import the same igsed code from their checkout copy.
    from support.workflow import copy_workflow

    workdir = copy_workflow(tmp_path / "slurm_run")
    # The local run's soundbank and synthesized clips (CPU-only and seeded, proven byte-equal
    # across runs by the workflow tests) are the start: their 7 jobs would cost 50 s of
    # sbatch round trips here. Every rule from split on goes through sbatch.
    for relative in SYNTHESIZED:
        shutil.copytree(tiny_run / relative, workdir / relative, symlinks=True)
    result = _run_bounded(
        [
            *SLURM_SNAKEMAKE,
            "--profile",
            "workflow/profiles/slurm",
            "--configfile",
            "workflow/presets/tiny.yaml",
            # The local run's core count (the results do not depend on it: config threads).
            "--cores",
            str(min(TINY_RUN_CORES, cluster.cpus)),
            *FAST_POLLING,
            "--slurm-keep-successful-logs",
            # One method per kind of model (clip classifier on the instances, a framewise
            # head, none): every sbatch job costs seconds, and the twelve methods would
            # make this the suite's longest test without exercising anything new.
            # One model (CNN14; the CRNN runs the same rules from classify_audio on).
            "--config",
            f"attribution={{run: [{', '.join(SLURM_METHODS)}]}}",
            "run_models=[cnn14]",
        ],
        env=_with_this_python(cluster.env),
        cwd=workdir,
        timeout_s=PIPELINE_TIMEOUT_S,
    )
    assert result.returncode == 0, f"{result.stderr[-6000:]}\n{cluster.log_tail()}"

    # Every job went through sbatch; attribution shards were packed into fewer jobs.
    submissions = re.findall(r"submitted with SLURM jobid (\d+)", result.stderr)
    assert submissions
    ran = set(re.findall(r"^\s*rule (\w+):", result.stderr, flags=re.MULTILINE))
    assert {"backbone", "cache_features", "attribute", "report"} <= ran, ran
    assert not ran & {"soundbank", "synthesize"}, ran
    shards = list((workdir / "results" / "main" / "cnn14" / "attribution").glob("*/*/*.h5"))
    group_logs = list((workdir / ".snakemake" / "slurm_logs").glob("group_attribution*/*.log"))
    assert shards and group_logs
    assert len(group_logs) < len(shards)

    for relative in PIPELINE_TABLES:
        slurm_table = pd.read_csv(workdir / relative)
        local_table = _of_methods(pd.read_csv(tiny_run / relative), SLURM_METHODS)
        # Same code, seeds, inputs and threads: equal to the last digit (measured: byte-equal).
        pd.testing.assert_frame_equal(slurm_table, local_table, check_exact=True)


def _of_methods(table: pd.DataFrame, methods: tuple[str, ...]) -> pd.DataFrame:
    """The rows (a `method` column) or column groups (`<method>_*`) of `methods` only."""
    if "method" in table.columns:
        return table[table["method"].isin(methods)].reset_index(drop=True)
    grouped = [c for c in table.columns if any(c.startswith(f"{m}_") for m in methods)]
    if any(c.endswith("_n") for c in table.columns):
        return table[["class", *grouped]]
    return table
