"""The `igsed` console script, as installed in the environment that runs the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


def test_help_lists_explain_and_explain_documents_its_outputs(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "explain" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--run", "--methods", "--classes", "--out", "--device", "--threshold", "--tau"):
        assert option in text
    assert "<stem>.scores.tsv" in text and "<stem>.<method>.events.tsv" in text


def test_help_does_not_import_torch() -> None:
    """`igsed --help` stays quick: subcommands import their packages only when they run."""
    check = (
        "import sys; from igsed.cli import build_parser; build_parser(); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
