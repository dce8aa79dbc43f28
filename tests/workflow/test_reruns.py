"""Incremental re-runs of the finished tiny pipeline, read from Snakemake's own dry run.

Each test changes one thing (a config value through an extra --configfile, or one module
of src/igsed), asks Snakemake what it would run (`-n`), and compares the rules of the
"Job stats" table and the reasons Snakemake gives with what depends on that thing.
Nothing is executed, so the shared tiny run stays as it was.
"""

from __future__ import annotations

import base64
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.workflow import PIPELINE_RULES, planned_jobs, run_snakemake

from igsed.core.methods import GRADIENT_FAMILIES, METHOD_INFO
from igsed.formats.shards import read_shard

TINY = "workflow/presets/tiny.yaml"
# Rules downstream of the attribution shards, and of the evaluation tables.
REPORTING = {
    "evaluate",
    "statistics",
    "sed_view",
    "figures",
    "benchmark_figures",
    "report",
    "all",
}


def _checked(method: str) -> int:
    """Sanity jobs a change of `method`'s settings re-runs (gradient and layer methods)."""
    return int(METHOD_INFO[method].family in GRADIENT_FAMILIES)


def _dry_run(workdir: Path, change: dict | None = None) -> str:
    configfiles = [TINY]
    if change is not None:
        override = workdir / "rerun_change.yaml"
        override.write_text(yaml.safe_dump(change))
        configfiles.append(override.name)
    try:
        result = run_snakemake(workdir, "-n", "--cores", "2", "--configfile", *configfiles)
    finally:
        (workdir / "rerun_change.yaml").unlink(missing_ok=True)
    return result.stdout + result.stderr


def _reason_lines(output: str, rule: str) -> list[str]:
    """The `reason:` line Snakemake prints for each planned job of `rule`."""
    lines: list[str] = []
    current = None
    for line in output.splitlines():
        header = re.match(r"\s*(?:local)?(?:rule|checkpoint) (\w+):", line)
        if header:
            current = header.group(1)
        reason = re.match(r"\s*reason: (.+)", line)
        if reason and current == rule:
            lines.append(reason.group(1))
    return lines


def _reasons(output: str, rule: str) -> set[str]:
    """The kinds of reason (text before the first colon) given for the jobs of `rule`."""
    lines = _reason_lines(output, rule)
    assert lines, f"no planned job of rule {rule}"
    return {part.split(":")[0].strip() for line in lines for part in line.split(";")}


def _shards(workdir: Path, method: str = "*") -> list[Path]:
    return sorted((workdir / "results" / "main" / "cnn14" / "attribution").glob(f"{method}/*/*.h5"))


def test_no_change_plans_nothing(tiny_run: Path) -> None:
    # Also the tiny run's "a re-run has nothing to do" (once in test_workflow.py, the same
    # dry run).
    output = _dry_run(tiny_run)
    assert "Nothing to be done" in output
    assert planned_jobs(output) == {}


def _planned_shards(output: str) -> list[str]:
    return [path for path in re.findall(r"output: (\S+)", output) if path.endswith(".h5")]


def test_ig_steps_rerun_only_the_ig_shards_and_what_follows(tiny_run: Path) -> None:
    tiny = yaml.safe_load((tiny_run / TINY).read_text())["attribution"]["methods"]["ig"]
    steps = tiny["n_steps"]
    output = _dry_run(tiny_run, {"attribution": {"methods": {"ig": {"n_steps": steps + 1}}}})
    assert planned_jobs(output) == {
        "attribute": len(_shards(tiny_run, "ig")),
        "faithfulness": 1,
        "sanity": _checked("ig"),
        **dict.fromkeys(REPORTING, 1),
    }
    assert _reasons(output, "attribute") == {"Params have changed since last execution"}
    steps_changed = f"'n_steps': {steps}, .*now: .*'n_steps': {steps + 1},"
    assert all(re.search(steps_changed, line) for line in _reason_lines(output, "attribute"))
    assert all(
        path.startswith("results/main/cnn14/attribution/ig/") for path in _planned_shards(output)
    )
    assert "Input files updated by another job" in _reasons(output, "evaluate")


def test_a_method_parameter_reruns_only_that_methods_shards(tiny_run: Path) -> None:
    methods = yaml.safe_load((tiny_run / TINY).read_text())["attribution"]["methods"]
    n_samples = methods["smoothgrad"]["n_samples"]
    change = {"attribution": {"methods": {"smoothgrad": {"n_samples": n_samples + 1}}}}
    output = _dry_run(tiny_run, change)
    assert planned_jobs(output) == {
        "attribute": len(_shards(tiny_run, "smoothgrad")),
        "faithfulness": 1,
        "sanity": _checked("smoothgrad"),
        **dict.fromkeys(REPORTING, 1),
    }
    shards = _planned_shards(output)
    assert shards and all(
        path.startswith("results/main/cnn14/attribution/smoothgrad/") for path in shards
    )
    assert _reasons(output, "attribute") == {"Params have changed since last execution"}


def test_adding_a_method_runs_only_its_shards_and_the_evaluation(
    tiny_run: Path, tmp_path: Path
) -> None:
    """As if the run had first been made without `occlusion`: its shards and records gone."""
    workdir = tmp_path / "without_occlusion"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    removed = _shards(workdir, "occlusion")
    for path in removed:
        record = base64.urlsafe_b64encode(str(path.relative_to(workdir)).encode()).decode()
        path.unlink()
        (workdir / ".snakemake" / "metadata" / record).unlink()
    output = _dry_run(workdir)
    assert planned_jobs(output) == {
        "attribute": len(removed),
        "faithfulness": 1,
        **dict.fromkeys(REPORTING, 1),
    }
    assert _reasons(output, "attribute") == {"Missing output files"}
    # Dropping a method from `run` re-runs the evaluation alone.
    run = yaml.safe_load((tiny_run / TINY).read_text())["attribution"]["run"]
    fewer = [name for name in run if name != "occlusion"]
    output = _dry_run(tiny_run, {"attribution": {"run": fewer}})
    assert planned_jobs(output) == dict.fromkeys(REPORTING, 1)
    assert "Params have changed since last execution" in _reasons(output, "evaluate")


def test_metrics_setting_reruns_evaluation_and_report_only(tiny_run: Path) -> None:
    output = _dry_run(tiny_run, {"metrics": {"count_false_positives": True}})
    # The SED view scores the classifier's detections: the instances option is not its.
    assert planned_jobs(output) == dict.fromkeys(REPORTING - {"sed_view"}, 1)
    assert _reasons(output, "evaluate") == {"Params have changed since last execution"}
    assert _reasons(output, "figures") == {"Input files updated by another job"}


def test_a_bootstrap_setting_reruns_the_intervals_and_the_report_only(tiny_run: Path) -> None:
    output = _dry_run(tiny_run, {"metrics": {"bootstrap": {"n_resamples": 321}}})
    planned = {"statistics", "sed_view", "benchmark_figures", "report", "all"}
    assert planned_jobs(output) == dict.fromkeys(planned, 1)
    assert _reasons(output, "statistics") == {"Params have changed since last execution"}
    assert _reasons(output, "sed_view") == {"Params have changed since last execution"}


def test_a_sed_view_setting_reruns_only_the_sed_view_and_the_report(tiny_run: Path) -> None:
    output = _dry_run(tiny_run, {"metrics": {"sed_view": {"segment_length_s": 0.5}}})
    assert planned_jobs(output) == {"sed_view": 1, "report": 1, "all": 1}


def test_a_faithfulness_setting_reruns_only_the_curves_and_what_reads_them(
    tiny_run: Path,
) -> None:
    run = yaml.safe_load((tiny_run / TINY).read_text())["attribution"]["run"]
    steps = yaml.safe_load((tiny_run / TINY).read_text())["faithfulness"]["steps"]
    output = _dry_run(tiny_run, {"faithfulness": {"steps": steps + 1}})
    assert planned_jobs(output) == {
        "faithfulness": len(run),
        **dict.fromkeys({"statistics", "benchmark_figures", "report", "all"}, 1),
    }
    assert _reasons(output, "faithfulness") == {"Params have changed since last execution"}


def test_a_sanity_setting_reruns_only_the_sanity_checks_and_what_reads_them(
    tiny_run: Path,
) -> None:
    run = yaml.safe_load((tiny_run / TINY).read_text())["attribution"]["run"]
    output = _dry_run(tiny_run, {"sanity": {"n_instances": 3}})
    # The intervals read the sanity jobs' robustness tables.
    assert planned_jobs(output) == {
        "sanity": sum(map(_checked, run)),
        **dict.fromkeys({"statistics", "benchmark_figures", "report", "all"}, 1),
    }
    # The flag threshold is the report's alone.
    output = _dry_run(tiny_run, {"sanity": {"flag_correlation": 0.4}})
    assert planned_jobs(output) == dict.fromkeys({"benchmark_figures", "report", "all"}, 1)
    # Agreement seeds add a retrained head each and an agreement job per checked method,
    # which the intervals read; no cascade re-runs.
    output = _dry_run(tiny_run, {"sanity": {"agreement_seeds": [1, 2]}})
    assert planned_jobs(output) == {
        "train_seed_head": 2,
        "agreement": sum(map(_checked, run)),
        **dict.fromkeys({"statistics", "benchmark_figures", "report", "all"}, 1),
    }


def test_table1_threshold_reruns_only_table1_and_the_report(tiny_run: Path) -> None:
    """The instances use attribution.threshold: Table I's threshold re-runs no attribution."""
    output = _dry_run(tiny_run, {"classify": {"threshold": 0.6}})
    assert planned_jobs(output) == {"table1": 1, "report": 1, "all": 1}
    assert _reasons(output, "table1") == {"Params have changed since last execution"}


def test_synthesis_seed_reruns_everything_from_synthesis(tiny_run: Path) -> None:
    output = _dry_run(tiny_run, {"synthesis": {"seed": 1234}})
    planned = planned_jobs(output)
    chunks = yaml.safe_load((tiny_run / TINY).read_text())["synthesis"]["chunks"]
    assert "soundbank" not in planned
    assert planned["synthesize"] == 3 * chunks  # pretrain, train, evalpool
    assert _reasons(output, "synthesize") == {"Params have changed since last execution"}
    # Everything downstream runs again. Which shards (and the FW heads they need) exist is
    # only known once the split checkpoint has run, so the dry run lists every other rule;
    # Snakemake adds the attribute jobs after the split.
    assert set(planned) == set(PIPELINE_RULES) - {"soundbank", "attribute"} | {"all"}
    assert "Input files updated by another job" in _reasons(output, "split")
    assert "Input files updated by another job" in _reasons(output, "backbone")


@pytest.fixture
def edited_metrics_module(tiny_run: Path) -> Iterator[Path]:
    """src/igsed/core/metrics.py of the tiny run's workflow copy with one comment added."""
    module = tiny_run / "src" / "igsed" / "core" / "metrics.py"
    original = module.read_bytes()
    module.write_bytes(original + b"\n# an edit that changes the module's digest\n")
    try:
        yield module
    finally:
        module.write_bytes(original)


def test_code_change_reruns_its_stage(tiny_run: Path, edited_metrics_module: Path) -> None:
    output = _dry_run(tiny_run)
    # The SED view's figures are sed_scores_eval's: it does not import igsed's metrics.
    assert planned_jobs(output) == dict.fromkeys(REPORTING - {"sed_view"}, 1)
    # params.code carries the digest of the modules the evaluate rule runs.
    assert _reasons(output, "evaluate") == {"Params have changed since last execution"}


def _unsigned_test_clip(workdir: Path) -> str:
    """A test clip whose IG shard keeps no per-sample attributions."""
    for path in _shards(workdir, "ig"):
        for clip in read_shard(path).clips:
            if path.parent.name == "test" and clip.signed is None:
                return clip.clip_id
    raise AssertionError("every test clip keeps signed IG")


def _test_shard_of(workdir: Path, method: str, clip_id: str) -> str:
    """The name of the method's test shard that holds the clip (light methods hold the
    whole split in one shard, the others `clips_per_shard` clips each)."""
    return next(
        path.name
        for path in _shards(workdir, method)
        if path.parent.name == "test" and any(c.clip_id == clip_id for c in read_shard(path).clips)
    )


def test_a_new_signed_clip_reruns_only_its_waveform_shards(tiny_run: Path) -> None:
    clip_id = _unsigned_test_clip(tiny_run)
    output = _dry_run(tiny_run, {"attribution": {"signed_clips": [clip_id]}})
    waveform = [m for m, info in METHOD_INFO.items() if info.waveform]
    assert planned_jobs(output) == {
        "attribute": len(waveform),
        "faithfulness": len(waveform),
        **dict.fromkeys(REPORTING, 1),
    }
    assert _reasons(output, "attribute") == {"Params have changed since last execution"}
    for method in waveform:
        shard = _test_shard_of(tiny_run, method, clip_id)
        assert f"output: results/main/cnn14/attribution/{method}/test/{shard}" in output


def test_an_unknown_signed_clip_is_named_before_any_job(tiny_run: Path) -> None:
    override = tiny_run / "unknown_clip.yaml"
    override.write_text(yaml.safe_dump({"attribution": {"signed_clips": ["test_999x"]}}))
    try:
        result = run_snakemake(
            tiny_run, "-n", "--cores", "2", "--configfile", TINY, override.name, check=False
        )
    finally:
        override.unlink()
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "attribution.signed_clips" in output and "['test_999x']" in output
