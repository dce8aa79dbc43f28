"""The core count never changes a result: every torch job computes with its configured threads."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from support.workflow import copy_workflow, run_snakemake

TARGET = "results/models/cnn14/backbone.pt"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_backbone_is_byte_identical_at_one_and_two_cores(tmp_path: Path) -> None:
    """The tiny chain to the backbone (soundbank, pretrain pool, pretraining) at --cores 2,
    then the backbone again at --cores 1: the same weights, computed on threads.backbone = 2.

    Before the count was fixed, --cores 1 gave the backbone job one thread and other weights.
    """
    workdir = copy_workflow(tmp_path / "run")
    # The target first: --configfile takes every argument after it.
    args = ("--configfile", "workflow/presets/tiny.yaml")
    run_snakemake(workdir, TARGET, "--cores", "2", *args)
    weights = workdir / TARGET
    meta_path = weights.with_suffix(".json")
    at_two = _digest(weights)
    assert json.loads(meta_path.read_text())["threads"] == 2

    run_snakemake(workdir, TARGET, "--cores", "1", "--forcerun", "backbone", *args)
    assert _digest(weights) == at_two
    assert json.loads(meta_path.read_text())["threads"] == 2
