"""The seed agreement through Snakemake: on a copy of the finished tiny run, one agreement
seed retrains the clip head (rule train_seed_head) and two methods' agreement jobs run on
the sanity subset; nothing else re-runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from support.workflow import run_snakemake

from igsed.core.checksums import file_digest
from igsed.formats.layout import model_file, seed_head_file
from igsed.formats.sanity import read_agreement, read_sanity
from igsed.formats.weights import read_head_file

TINY = "workflow/presets/tiny.yaml"
METHODS = ("saliency", "gradcam")


def test_agreement_jobs_retrain_the_head_and_compare_the_maps(
    tiny_run: Path, tmp_path: Path
) -> None:
    workdir = tmp_path / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    (workdir / "agreement.yaml").write_text(yaml.safe_dump({"sanity": {"agreement_seeds": [1]}}))
    targets = [f"results/main/cnn14/sanity/agreement/{method}.csv" for method in METHODS]
    # Targets first: --configfile takes every name after it.
    run = run_snakemake(workdir, *targets, "--cores", "2", "--configfile", TINY, "agreement.yaml")
    ran = re.findall(r"^(?:local)?rule (\w+):", run.stdout + run.stderr, re.MULTILINE)
    assert sorted(ran) == ["agreement", "agreement", "train_seed_head"]
    seed_head = workdir / seed_head_file("cnn14", 1)
    assert read_head_file(seed_head)["training"]["settings"]["seed"] == 1
    assert file_digest(seed_head) != file_digest(workdir / model_file("cnn14", "clip_head"))
    for method in METHODS:
        table = read_agreement(workdir / targets[METHODS.index(method)])
        # The sanity subset: the instances of the method's cascade table.
        cascade = read_sanity(workdir / f"results/main/cnn14/sanity/{method}.csv")
        subset = cascade[["clip_id", "class"]].drop_duplicates().reset_index(drop=True)
        pd.testing.assert_frame_equal(table[["clip_id", "class"]], subset)
        assert table["head_spread"].between(0, 1).all()
        assert np.isfinite(table["seed_agreement"]).any()
        assert (table["seed_agreement"].dropna().abs() <= 1).all()
