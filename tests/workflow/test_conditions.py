"""Test conditions on the finished tiny run: a folder of recordings that holds only an
`eval/` half and lacks classes, explained by the run's models, and compared with main."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from support.workflow import MAIN_RUN, planned_jobs, run_snakemake

from igsed.core.constants import CLASSES
from igsed.formats.conditions import read_conditions_table
from igsed.formats.manifest import read_events, read_manifest

TINY = "workflow/presets/tiny.yaml"
PRESENT = ("Cat", "Dishes", "Speech", "Vacuum_cleaner")
# The rules a condition runs: main's, with {condition} (and its own soundbank's rule).
CONDITION_RULES = {
    "soundbank_condition",
    "synthesize",
    "split",
    "cache_features",
    "classify",
    "table1",
    "instances",
    "attribute",
    "evaluate",
    "statistics",
    "conditions",
}
# Where a condition's jobs write: its own folders, the comparison and the report.
CONDITION_OUTPUTS = (
    "results/rec/",
    "resources/soundbank/conditions/rec",
    "results/conditions/",
    "results/report/",
)


def _recordings(tiny_run: Path, root: Path) -> Path:
    """An eval-only folder soundbank with four classes, from the tiny run's eval half."""
    source = tiny_run / "resources" / "soundbank" / "synthetic" / "eval"
    for name in PRESENT:
        shutil.copytree(source / "foreground" / name, root / "eval" / "foreground" / name)
    shutil.copytree(source / "background", root / "eval" / "background")
    return root


def _with_conditions(workdir: Path, conditions: dict) -> list[str]:
    (workdir / "conditions.yaml").write_text(yaml.safe_dump({"conditions": conditions}))
    return ["--cores", "2", "--configfile", TINY, "conditions.yaml"]


@pytest.fixture(scope="module")
def condition_run(
    tiny_run: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str, str]:
    """A copy of the tiny run with condition `rec` run to the report; the output holding its
    plan (the "Job stats" table) and the run's output (the same text)."""
    workdir = tmp_path_factory.mktemp("conditions") / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    recordings = _recordings(tiny_run, workdir.parent / "recordings")
    args = _with_conditions(workdir, {"rec": {"soundbank": {"folder": str(recordings)}}})
    run = run_snakemake(workdir, *args, timeout=1200)
    output = run.stdout + run.stderr
    # The plan is the "Job stats" table the run prints before its first job, the table a dry
    # run (-n) prints: a separate dry run would only build the same DAG once more.
    assert output.count("Job stats:") == 1, output
    return workdir, output, output


def test_a_condition_reuses_the_models_and_reruns_only_the_report(
    condition_run: tuple[Path, str, str],
) -> None:
    _, plan, run = condition_run
    ran = set(re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):", run, re.MULTILINE))
    assert ran == CONDITION_RULES | {"report", "all"}, ran
    outputs = re.findall(r"^    output: (.+)$", run, re.MULTILINE)
    written = [path for line in outputs for path in line.split(", ")]
    assert written and all(path.startswith(CONDITION_OUTPUTS) for path in written), written
    planned = planned_jobs(plan)
    # The jobs after the condition's split checkpoint are planned once it has run.
    assert set(planned) <= CONDITION_RULES | {"report", "all"}, planned
    assert planned["split"] == 1 and planned["soundbank_condition"] == 1
    assert planned["synthesize"] == 2  # the tiny preset's eval-pool chunks


def test_missing_classes_are_named_and_never_occur(condition_run: tuple[Path, str, str]) -> None:
    workdir, _, _ = condition_run
    log = (workdir / "results" / "logs" / "conditions" / "rec" / "soundbank.log").read_text()
    missing = [name for name in CLASSES if name not in PRESENT]
    warning = next(line for line in log.splitlines() if "no foreground audio" in line)
    assert all(name in warning for name in missing), warning
    split_dir = workdir / "results" / "rec" / "split"
    manifest = read_manifest(split_dir / "manifest.tsv")
    # The train split is main's (it trained the models); val and test are the condition's.
    evaluated = manifest[manifest["split"] != "train"]
    assert evaluated["audio_path"].str.startswith("results/rec/synthesis/").all()
    events = read_events(split_dir / "events.tsv")
    evaluated_events = events[events["clip_id"].isin(evaluated["clip_id"])]
    assert len(evaluated_events) > 0
    assert set(evaluated_events["event_label"]) <= set(PRESENT)


def test_the_comparison_holds_main_and_the_condition(condition_run: tuple[Path, str, str]) -> None:
    workdir, _, _ = condition_run
    config = yaml.safe_load((workdir / TINY).read_text())
    table = read_conditions_table(workdir / "results" / "conditions" / "cnn14" / "table.csv")
    assert list(dict.fromkeys(table["condition"])) == ["main", "rec"]
    assert list(dict.fromkeys(table["method"])) == config["attribution"]["run"]
    rec = table[table["condition"] == "rec"]
    assert rec["soundbank"].str.startswith("folder ").all()
    iou = table[(table["metric"] == "iou") & (table["method"] == "ig")]
    assert np.isfinite(iou["value"]).all()
    # Main's row is main's own Table II.
    main_iou = float(iou[iou["condition"] == "main"]["value"].iloc[0])
    table2 = (workdir / MAIN_RUN / "evaluation" / "table2.csv").read_text().splitlines()
    ig_row = next(line for line in table2 if line.startswith("ig,"))
    assert main_iou == pytest.approx(float(ig_row.split(",")[2]), abs=1e-6)
    summary = (workdir / "results" / "report" / "summary.md").read_text()
    assert "## Test conditions" in summary and "| rec |" in summary
    for ext in ("png", "svg"):
        assert (workdir / "results/conditions/cnn14" / f"conditions.{ext}").stat().st_size > 0


def test_the_snakemake_report_has_the_comparison(
    condition_run: tuple[Path, str, str], tmp_path: Path
) -> None:
    workdir, _, _ = condition_run
    args = _with_conditions(
        workdir,
        yaml.safe_load((workdir / "conditions.yaml").read_text())["conditions"],
    )
    html = tmp_path / "report.html"
    run_snakemake(workdir, "--report", str(html), *args[2:])
    text = html.read_text(encoding="utf-8", errors="replace")
    assert '"5. Test conditions"' in text
    assert "table.md" in text and "conditions.png" in text


def test_a_finished_condition_plans_nothing(condition_run: tuple[Path, str, str]) -> None:
    workdir, _, _ = condition_run
    args = _with_conditions(
        workdir,
        yaml.safe_load((workdir / "conditions.yaml").read_text())["conditions"],
    )
    assert planned_jobs(run_snakemake(workdir, "-n", *args).stdout) == {}


def test_a_condition_key_reruns_only_that_conditions_chain(
    condition_run: tuple[Path, str, str],
) -> None:
    workdir, _, _ = condition_run
    conditions = yaml.safe_load((workdir / "conditions.yaml").read_text())["conditions"]
    changed = {"rec": {**conditions["rec"], "snr_db": [0, 10]}}
    try:
        planned = planned_jobs(
            run_snakemake(workdir, "-n", *_with_conditions(workdir, changed)).stdout
        )
    finally:
        _with_conditions(workdir, conditions)
    # The soundbank stays (its folder did not change), and so does every model and main
    # rule; jobs that wait on the condition's split checkpoint are planned once it has run.
    assert set(planned) <= CONDITION_RULES - {"soundbank_condition"} | {"report", "all"}
    assert planned["synthesize"] == 2 and planned["split"] == 1
    assert "conditions" in planned


def test_a_folder_without_foreground_fails_naming_it(
    condition_run: tuple[Path, str, str], tmp_path: Path
) -> None:
    workdir, _, _ = condition_run
    empty = tmp_path / "empty"
    (empty / "eval" / "foreground" / "Cat").mkdir(parents=True)
    (empty / "eval" / "background").mkdir()
    shutil.copy(
        next((workdir.parent / "recordings" / "eval" / "background").iterdir()),
        empty / "eval" / "background",
    )
    args = _with_conditions(workdir, {"bare": {"soundbank": {"folder": str(empty)}}})
    # The target goes first: --configfile takes every word after it.
    result = run_snakemake(workdir, "resources/soundbank/conditions/bare", *args, check=False)
    assert result.returncode != 0
    log = (workdir / "results" / "logs" / "conditions" / "bare" / "soundbank.log").read_text()
    assert f"{empty.resolve()}/eval/foreground holds no foreground audio of any class" in log
    assert not (workdir / "resources" / "soundbank" / "conditions" / "bare").exists()
