"""The `igsed` console script, as installed in the environment that runs the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from igsed.cli import main

IGSED = str(Path(sys.executable).with_name("igsed"))


def test_installed_script_prints_help_and_version() -> None:
    help_text = subprocess.run([IGSED, "--help"], capture_output=True, text=True, check=True)
    assert "usage: igsed" in help_text.stdout and "snakemake --cores N" in help_text.stdout
    version = subprocess.run([IGSED, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("igsed ") and "unknown" not in version.stdout


def test_no_command_prints_usage_and_fails(capsys) -> None:
    assert main([]) == 2
    assert "usage: igsed" in capsys.readouterr().err
