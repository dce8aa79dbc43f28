"""A folder soundbank re-runs its `soundbank` job when the user's folder changes.

Snakemake does not see the user's files (the rule only links them), so the rule carries a
digest of the folder's listing as a param. Only the soundbank target is built: seconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import soundfile as sf
import yaml
from support.soundbank_fixture import FIXTURE_RATE, write_soundbank
from support.workflow import copy_workflow, planned_jobs, run_snakemake

TARGET = "resources/soundbank/folder"


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(workdir, user folder): the soundbank rule has linked the folder once."""
    root = tmp_path_factory.mktemp("folder_changes")
    folder = write_soundbank(root / "my_soundbank", files_per_class=1, backgrounds=1)
    workdir = copy_workflow(root / "workflow")
    settings = {"soundbank": {"source": "folder", "folder": {"path": str(folder)}}}
    (workdir / "folder.yaml").write_text(yaml.safe_dump(settings))
    run_snakemake(workdir, "--cores", "1", "--configfile", "folder.yaml", "--", TARGET)
    assert (workdir / TARGET / "eval" / "background" / "room_000.wav").is_symlink()
    return workdir, folder


def _dry_run(workdir: Path) -> str:
    result = run_snakemake(
        workdir, "-n", "--cores", "1", "--configfile", "folder.yaml", "--", TARGET
    )
    return result.stdout + result.stderr


def test_untouched_folder_plans_nothing(folder_run: tuple[Path, Path]) -> None:
    workdir, _ = folder_run
    assert planned_jobs(_dry_run(workdir)) == {}


def test_added_file_reruns_the_soundbank(folder_run: tuple[Path, Path]) -> None:
    workdir, folder = folder_run
    added = folder / "train" / "foreground" / "Dog" / "dog_new.wav"
    sf.write(added, [0.1, -0.1] * 800, FIXTURE_RATE)
    try:
        output = _dry_run(workdir)
    finally:
        added.unlink()
    assert planned_jobs(output) == {"soundbank": 1}
    assert re.search(r"reason: Params have changed since last execution", output)
    # Back as it was: nothing to do again.
    assert planned_jobs(_dry_run(workdir)) == {}
