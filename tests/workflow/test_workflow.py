"""The Snakemake workflow: resolution, config validation, and the tiny preset end to end."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import yaml
from support.workflow import MAIN_RUN, PIPELINE_RULES, REPO, copy_workflow, run_snakemake

from igsed.core.methods import METHOD_NAMES
from igsed.formats.shards import read_shard


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("workflow"))


@pytest.mark.parametrize(
    "configfile",
    [
        None,
        "workflow/presets/paper.yaml",
        "workflow/presets/tiny.yaml",
        "workflow/presets/full.yaml",
    ],
)
def test_dry_run_resolves(workflow_copy: Path, configfile: str | None) -> None:
    extra = ["--configfile", configfile] if configfile else []
    result = run_snakemake(workflow_copy, "-n", "--cores", "2", *extra)
    for rule in ("soundbank", "synthesize", "split", "backbone", "report"):
        assert rule in result.stdout
    # The full preset adds the seed agreement, which nothing else runs by default.
    full = configfile == "workflow/presets/full.yaml"
    assert ("rule train_seed_head:" in result.stdout) is full


def test_the_full_preset_runs_every_built_in_method() -> None:
    preset = yaml.safe_load((REPO / "workflow" / "presets" / "full.yaml").read_text())
    assert preset["attribution"]["run"] == list(METHOD_NAMES)


def test_paper_preset_downloads_desed_and_panns(workflow_copy: Path) -> None:
    result = run_snakemake(
        workflow_copy, "-n", "--cores", "2", "--configfile", "workflow/presets/paper.yaml"
    )
    assert "resources/soundbank/desed" in result.stdout
    # The paper protocol pretrains nothing: no pretrain pool is synthesized.
    assert "results/main/synthesis/pretrain" not in result.stdout


def test_bad_config_fails_before_any_job(workflow_copy: Path) -> None:
    bad = workflow_copy / "bad.yaml"
    bad.write_text("attribution:\n  methods:\n    ig:\n      engine: magic\n      n_stepz: 5\n")
    result = run_snakemake(
        workflow_copy, "-n", "--cores", "1", "--configfile", "bad.yaml", check=False
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert (
        "attribution.methods.ig.engine = 'magic' is not allowed; allowed values: 'captum', 'fused'"
        in output
    )
    assert "unknown config key attribution.methods.ig.n_stepz" in output
    assert not (workflow_copy / "results").exists()


def test_a_config_file_with_a_key_given_twice_fails_before_any_job(workflow_copy: Path) -> None:
    twice = workflow_copy / "twice.yaml"
    twice.write_text("conditions:\n  low: {snr_db: [0, 5]}\n  low: {snr_db: [5, 10]}\n")
    result = run_snakemake(
        workflow_copy, "-n", "--cores", "1", "--configfile", "twice.yaml", check=False
    )
    assert result.returncode != 0
    assert "key conditions.low appears twice, on lines 2 and 3" in result.stdout + result.stderr
    assert not (workflow_copy / "results").exists()


def test_results_of_the_old_layout_are_refused_naming_the_new_one(workflow_copy: Path) -> None:
    old = workflow_copy / "results" / "models"
    old.mkdir(parents=True)
    (old / "backbone.pt").write_bytes(b"weights of a run before models were a path level")
    try:
        result = run_snakemake(workflow_copy, "-n", "--cores", "1", check=False)
    finally:
        shutil.rmtree(workflow_copy / "results")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "results/models/backbone.pt: results of igsed's old layout" in output
    assert "results/{condition}/{model}/" in output


def test_nested_command_line_config_is_typed(workflow_copy: Path) -> None:
    # The README's own example: Snakemake hands nested --config leaves over as strings.
    result = run_snakemake(
        workflow_copy, "-n", "--cores", "1", "--config", "synthesis={seed: 8, snr_db: [5, 15]}"
    )
    assert "synthesize" in result.stdout


def test_reversed_range_fails_before_any_job(workflow_copy: Path) -> None:
    result = run_snakemake(
        workflow_copy, "-n", "--cores", "1", "--config", "metrics={tau: [99, 1]}", check=False
    )
    assert result.returncode != 0
    assert "metrics.tau = [99, 1]: the first value must not exceed the second" in (
        result.stdout + result.stderr
    )
    assert not (workflow_copy / "results").exists()


def test_tiny_pipeline_produces_every_output(tiny_run: Path) -> None:
    results = tiny_run / "results"
    run = tiny_run / MAIN_RUN
    summary = (results / "report" / "summary.md").read_text()
    for title in ("Table I", "Table II", "Table III", "Confidence intervals", "Threshold-free"):
        assert title in summary
    for name in ("fig2_attribution", "fig3_threshold", "per_class_iou"):
        for ext in ("png", "svg"):
            assert (run / "figures" / f"{name}.{ext}").stat().st_size > 1000
    table2 = pd.read_csv(run / "evaluation" / "table2.csv")
    tiny = yaml.safe_load((tiny_run / "workflow" / "presets" / "tiny.yaml").read_text())
    # Every method of the registry that runs on CNN14, in the preset's order (model_frames
    # needs a model's own frame output: test_models.py runs it on the CRNN).
    on_cnn14 = [name for name in METHOD_NAMES if name != "model_frames"]
    assert list(table2["method"]) == tiny["attribution"]["run"] == on_cnn14
    split = json.loads((results / "main" / "split" / "summary.json").read_text())
    manifest = pd.read_csv(results / "main" / "split" / "manifest.tsv", sep="\t")
    clips = int(manifest["split"].isin(["val", "test"]).sum())
    for method in on_cnn14:
        shards = sorted((run / "attribution" / method).glob("*/*.h5"))
        assert sum(len(read_shard(path).clips) for path in shards) == clips, method
    assert split  # counts recorded
    for rule in PIPELINE_RULES:
        assert list((results / "logs" / rule).rglob("*.log")), f"no log for {rule}"
        assert list((results / "benchmarks" / rule).rglob("*.tsv")), f"no benchmark for {rule}"
    # No temporary file of an atomic write is left behind.
    assert not [p for p in tiny_run.rglob("*.part") if ".snakemake" not in p.parts]


def test_snakemake_report_builds_a_browsable_html(tiny_run: Path, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    run_snakemake(tiny_run, "--report", str(html), "--configfile", "workflow/presets/tiny.yaml")
    text = html.read_text(encoding="utf-8", errors="replace")
    # Every report() output is in it, with its caption.
    names = (
        "summary.md",
        "details.md",
        "table1.md",
        "table2.md",
        "table3.md",
        "fig3_threshold.png",
    )
    for name in names:
        assert name in text, name
    # Captions and categories are embedded as JSON (non-ASCII escaped).
    assert "The run's summary, read in minutes: findings" in text
    assert "The run's details beside its summary" in text
    for category in ("0. Summary", "1. Data", "3. Temporal detection", "4. Figures"):
        assert f'"{category}"' in text, category
    # The workflow description page (the Snakefile's `report:`).
    assert "tell **when** sound events" in text or "when</strong> sound events" in text


def test_the_run_environment_has_what_the_report_needs() -> None:
    # scripts/run.sh installs the runtime dependencies only; --report imports pygments.
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    dependencies = pyproject["project"]["dependencies"]
    runtime = {re.split(r"[<>=!~ ]", dep)[0].lower() for dep in dependencies}
    assert "pygments" in runtime
