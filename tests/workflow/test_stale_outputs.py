"""A run never reports stale or mixed results, and a plain re-run rebuilds what is missing.

A shard finished by a job orphaned by `kill -9` of Snakemake has no Snakemake metadata, so a
later change of its settings does not re-run it; the readers of shards must refuse it. A
deleted intermediate whose downstream outputs still exist must be rebuilt by a plain re-run.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest
from support.workflow import planned_jobs, run_snakemake

from igsed.formats.shards import read_shard, write_shard

TINY = ("--cores", "2", "--configfile", "workflow/presets/tiny.yaml")


@pytest.fixture
def run_copy(tiny_run: Path, tmp_path: Path) -> Path:
    """A private copy of the finished tiny run, its Snakemake metadata and mtimes included."""
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy, symlinks=True)
    return copy


def _metadata_file(workdir: Path, relative: str) -> Path:
    name = base64.urlsafe_b64encode(relative.encode()).decode()
    return workdir / ".snakemake" / "metadata" / name


def _first_test_shard(workdir: Path) -> str:
    """The first IG test shard, relative to the run."""
    paths = sorted((workdir / "results/main/cnn14/attribution/ig/test").glob("*.h5"))
    return str(paths[0].relative_to(workdir))


def _as_orphan_made_it(workdir: Path, relative: str, n_steps: int) -> None:
    """Rewrite a shard as a job orphaned with other settings leaves it: no metadata."""
    shard = read_shard(workdir / relative)
    write_shard(
        workdir / relative,
        shard.clips,
        method=shard.method,
        split=shard.split,
        model_checksum=shard.model_checksum,
        instances_checksum=shard.instances_checksum,
        settings={**shard.settings, "n_steps": n_steps},
    )
    _metadata_file(workdir, relative).unlink()


def test_a_shard_made_with_other_settings_is_refused_by_name(run_copy: Path) -> None:
    shard = _first_test_shard(run_copy)
    _as_orphan_made_it(run_copy, shard, n_steps=3)
    assert "attribute" not in planned_jobs(run_snakemake(run_copy, "-n", *TINY).stdout)
    failed = run_snakemake(run_copy, *TINY, check=False)
    assert failed.returncode != 0
    # Whichever reader of the shard runs first refuses it (evaluate, sed_view, figures or
    # the method's faithfulness job), naming it in its log.
    logs = "".join(path.read_text() for path in (run_copy / "results/logs").rglob("*.log"))
    output = failed.stdout + failed.stderr + logs
    assert f"{shard}: n_steps = 3 (configured: 4)" in output
    assert f"--rerun-incomplete --forcerun {shard}" in output
    # The options the error names rebuild the shard, and the run completes.
    run_snakemake(run_copy, *TINY, "--rerun-incomplete", "--forcerun", shard)
    assert read_shard(run_copy / shard).settings["n_steps"] == 4


@pytest.mark.parametrize(
    ("deleted", "rebuilt_by"),
    [
        ("first test shard", "attribute"),
        ("results/models/cnn14/backbone.pt", "backbone"),
        ("results/main/cnn14/evaluation/table2.csv", "evaluate"),
        ("results/main/cnn14/features/val.h5", "cache_features"),
    ],
)
def test_a_plain_rerun_rebuilds_a_deleted_intermediate(
    tiny_run: Path, tmp_path: Path, deleted: str, rebuilt_by: str
) -> None:
    relative = _first_test_shard(tiny_run) if deleted == "first test shard" else deleted
    aside = tmp_path / "aside"
    (tiny_run / relative).rename(aside)
    try:
        planned = planned_jobs(run_snakemake(tiny_run, "-n", *TINY).stdout)
    finally:
        aside.rename(tiny_run / relative)
    assert planned.get(rebuilt_by, 0) >= 1, planned
    assert planned.get("report") == 1, planned


def test_a_damaged_table_is_refused_and_the_named_options_rebuild_it(run_copy: Path) -> None:
    """Issue 26 item 3: intervals.csv cut to 7 rows was read as if whole. Its readers now
    refuse it by name (a plain re-run does not rebuild it: it is newer than its inputs), and
    the options they name rebuild it, byte for byte."""
    relative = "results/main/cnn14/evaluation/intervals.csv"
    whole = (run_copy / relative).read_bytes()
    (run_copy / relative).write_bytes(b"".join(whole.splitlines(keepends=True)[:8]))
    failed = run_snakemake(run_copy, *TINY, check=False)
    assert failed.returncode != 0
    logs = "".join(path.read_text() for path in (run_copy / "results/logs").rglob("*.log"))
    output = failed.stdout + failed.stderr + logs
    assert f"{relative} is damaged: it holds 8 lines" in output
    assert f"--rerun-incomplete --forcerun {relative}" in output
    run_snakemake(run_copy, *TINY, "--rerun-incomplete", "--forcerun", relative)
    assert (run_copy / relative).read_bytes() == whole
    # The Snakefile plans the jobs from the manifest before any job runs, and Snakemake
    # reads an existing checkpoint output even when forced: it must not refuse a damaged
    # manifest (its jobs do), or no command could rebuild it.
    record = run_copy / "results/main/split/manifest.tsv.check"
    record.unlink()
    forced = run_snakemake(
        run_copy, "-n", *TINY, "--rerun-incomplete", "--forcerun", "results/main/split/manifest.tsv"
    )
    assert planned_jobs(forced.stdout).get("split") == 1
