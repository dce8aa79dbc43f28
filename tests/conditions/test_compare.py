"""The cross-condition table, markdown and figure from hand-made intervals."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from igsed.conditions.compare import ComparisonJob, ConditionResults, compare_conditions, ordered
from igsed.core.constants import CLASSES
from igsed.core.statistics import BootstrapSettings
from igsed.evaluation.statistics import StatisticsJob, statistics
from igsed.formats.conditions import CONDITION_METRICS, read_conditions_table
from igsed.formats.handover import DamagedFileError
from igsed.formats.intervals import FAITHFULNESS_METRICS, INSTANCE_METRICS, write_intervals
from igsed.formats.manifest import write_manifest, write_split_summary
from igsed.formats.tables import write_csv

METHODS = ("ig", "energy")
ALL = ("ig", "energy", "random")


def _condition(
    root: Path, name: str, snr: list[float], level: float, methods: tuple[str, ...] = ALL
) -> ConditionResults:
    """A condition whose every figure is `level` (IG) or `level` - 0.1 (energy); `methods`:
    those with instances (the others have no intervals, as rule statistics writes them)."""
    folder = root / name
    folder.mkdir(parents=True)
    rows = []
    values = {"ig": level, "energy": level - 0.1, "random": 0.0}
    for method in methods:
        value = values[method]
        for metric in (*INSTANCE_METRICS, *FAITHFULNESS_METRICS):
            rows.append(
                {
                    "method": method,
                    "metric": metric,
                    "value": value,
                    "ci_low": value - 0.05,
                    "ci_high": value + 0.05,
                    "n": 7,
                }
            )
    # A metric without an interval (too few instances) stays an empty cell.
    if rows:
        rows[0]["ci_low"] = rows[0]["ci_high"] = np.nan
    write_intervals(pd.DataFrame(rows), folder / "intervals.csv")
    write_split_summary({"counts": {"val": 9, "test": 11}}, folder / "summary.json")
    description = {"snr_db": snr, "n_events": [1, 3], "ref_db": -55.0, "soundbank": "synthetic"}
    return ConditionResults(name, description, folder / "intervals.csv", folder / "summary.json")


@pytest.fixture
def compared(tmp_path: Path) -> tuple[pd.DataFrame, Path]:
    conditions = [
        _condition(tmp_path, "main", [15, 25], 0.5),
        _condition(tmp_path, "low", [-5, 5], 0.2),
        _condition(tmp_path, "high", [25, 35], 0.6),
    ]
    job = ComparisonJob(
        conditions=conditions,
        methods=list(METHODS),
        table_csv=tmp_path / "out" / "table.csv",
        table_md=tmp_path / "out" / "table.md",
        figure_dir=tmp_path / "figures",
    )
    return compare_conditions(job), tmp_path


def test_the_table_holds_every_condition_method_and_metric(
    compared: tuple[pd.DataFrame, Path],
) -> None:
    table, root = compared
    read = read_conditions_table(root / "out" / "table.csv")
    assert list(dict.fromkeys(read["condition"])) == ["low", "main", "high"]
    assert list(dict.fromkeys(read["method"])) == list(METHODS)
    assert len(read) == 3 * len(METHODS) * len(CONDITION_METRICS)
    iou = read[read["metric"] == "iou"].set_index(["condition", "method"])["value"]
    assert iou[("low", "ig")] == pytest.approx(0.2)
    assert iou[("high", "energy")] == pytest.approx(0.5)
    low = read[read["condition"] == "low"].iloc[0]
    assert (low["snr_db_low"], low["snr_db_high"], low["test_clips"]) == (-5, 5, 11)
    first = read[(read["method"] == "ig") & (read["metric"] == "iou")].iloc[0]
    assert np.isnan(first["ci_low"])
    pd.testing.assert_frame_equal(read, table.reset_index(drop=True), check_dtype=False)


def test_markdown_and_figure_are_written(compared: tuple[pd.DataFrame, Path]) -> None:
    _, root = compared
    markdown = (root / "out" / "table.md").read_text(encoding="utf-8")
    assert "| low | -5 to 5 |" in markdown
    assert "| IG | 0.20 | 0.50 | 0.60 |" in markdown  # IoU: no interval given
    assert (
        "| Energy baseline | 0.10 [0.05, 0.15] | 0.40 [0.35, 0.45] | 0.50 [0.45, 0.55] |"
        in markdown
    )
    assert (root / "figures" / "conditions.png").stat().st_size > 0
    assert (root / "figures" / "conditions.svg").stat().st_size > 0


def test_conditions_are_ordered_by_snr_then_as_configured(tmp_path: Path) -> None:
    a = _condition(tmp_path, "a", [0, 10], 0.1)
    b = _condition(tmp_path, "b", [-10, 20], 0.1)
    c = _condition(tmp_path, "c", [-20, 0], 0.1)
    assert [x.name for x in ordered([a, b, c])] == ["c", "a", "b"]


def test_a_condition_without_detected_instances_is_a_result(tmp_path: Path) -> None:
    """Issue 26 item 2: rule statistics writes a header-only intervals.csv for a condition
    whose classifier detected nothing; the comparison says so instead of failing."""
    conditions = [
        _condition(tmp_path, "main", [15, 25], 0.5),
        _condition(tmp_path, "dogs", [-5, 5], 0.2, methods=()),
        _condition(tmp_path, "quiet", [25, 35], 0.6, methods=("ig",)),
    ]
    assert (tmp_path / "dogs" / "intervals.csv").read_text().strip() == (
        "method,metric,value,ci_low,ci_high,n"
    )
    job = ComparisonJob(
        conditions, list(METHODS), tmp_path / "t.csv", tmp_path / "t.md", tmp_path / "figures"
    )
    compare_conditions(job)
    read = read_conditions_table(tmp_path / "t.csv")
    dogs = read[read["condition"] == "dogs"]
    assert len(dogs) == len(METHODS) * len(CONDITION_METRICS)
    assert (dogs["n"] == 0).all() and dogs["value"].isna().all()
    assert (dogs["test_clips"] == 11).all()
    markdown = (tmp_path / "t.md").read_text(encoding="utf-8")
    assert "| IG | no detected instances | 0.50 | 0.60 |" in markdown
    assert (
        "| Energy baseline | no detected instances | 0.40 [0.35, 0.45] | no detected instances |"
        in markdown
    )
    assert "dogs: no detected instances" in markdown
    assert (tmp_path / "figures" / "conditions.png").stat().st_size > 0


def test_damaged_intervals_are_refused_with_their_rebuild_command(tmp_path: Path) -> None:
    """Issue 26 item 3: intervals.csv cut to a few rows is not read as if whole."""
    main = _condition(tmp_path, "main", [15, 25], 0.5)
    lines = main.intervals_csv.read_text().splitlines(keepends=True)
    main.intervals_csv.write_text("".join(lines[:8]))
    job = ComparisonJob([main], list(METHODS), tmp_path / "t.csv", tmp_path / "t.md", tmp_path)
    with pytest.raises(DamagedFileError) as error:
        compare_conditions(job)
    message = str(error.value)
    assert f"{main.intervals_csv} is damaged: it holds 8 lines" in message
    assert f"--rerun-incomplete --forcerun {main.intervals_csv}" in message


def test_statistics_and_comparison_of_a_condition_without_instances(tmp_path: Path) -> None:
    """Issue 26 item 2, the failing chain: rule statistics on an instances_test.csv without
    rows (the classifier detected nothing), then rule conditions on what it wrote."""
    columns = ["clip_id", "class", "method", "present", "tau_iou", "tau_f1", *INSTANCE_METRICS]
    write_csv(pd.DataFrame(columns=columns), tmp_path / "instances_test.csv")
    manifest = {"clip_id": ["t1"], "split": ["test"], "audio_path": ["a"], "jams_path": ["b"]}
    write_manifest(pd.DataFrame(manifest | {"n_events": [1], "polyphony": [1]}), tmp_path / "m.tsv")
    intervals, differences = tmp_path / "intervals.csv", tmp_path / "differences.csv"
    job = StatisticsJob(
        tmp_path / "instances_test.csv", tmp_path / "m.tsv", {}, intervals, differences
    )
    assert statistics(job, BootstrapSettings(n_resamples=10)) == {"intervals": 0, "differences": 0}
    write_split_summary({"counts": {"val": 1, "test": 1}}, tmp_path / "summary.json")
    description = {"snr_db": [0, 10], "n_events": [1, 3], "ref_db": -55.0, "soundbank": "folder"}
    dogs = ConditionResults("dogs", description, intervals, tmp_path / "summary.json")
    compare_conditions(
        ComparisonJob([dogs], ["ig"], tmp_path / "t.csv", tmp_path / "t.md", tmp_path / "fig")
    )
    markdown = (tmp_path / "t.md").read_text(encoding="utf-8")
    assert markdown.count("| IG | no detected instances |") == 3
    assert "dogs: no detected instances" in markdown


def _table3(path: Path, counts: dict[str, list[int]]) -> Path:
    """A Table III whose only content that matters here is each method's count per class
    (`counts`: method -> ten counts in class order)."""
    frame = pd.DataFrame({"class": list(CLASSES)})
    for method, per_class in counts.items():
        frame[f"{method}_n"] = per_class
        frame[f"{method}_iou"] = frame[f"{method}_f1"] = 0.5
    write_csv(frame, path)
    return path


def test_each_condition_counts_its_test_instances_per_class(tmp_path: Path) -> None:
    main = _condition(tmp_path, "main", [15, 25], 0.5)
    low = _condition(tmp_path, "low", [-5, 5], 0.2)
    high = _condition(tmp_path, "high", [25, 35], 0.6)
    same = [3, 1, 0, 7, 2, 5, 5, 9, 12, 4]
    own = [2, 1, 0, 7, 2, 5, 6, 9, 12, 4]  # energy with its own detections in "low"
    main = replace(main, table3_csv=_table3(tmp_path / "main.csv", dict.fromkeys(ALL, same)))
    counts = {"ig": same, "energy": own, "random": [0] * 10}  # random is not compared
    low = replace(low, table3_csv=_table3(tmp_path / "low.csv", counts))
    job = ComparisonJob(
        [main, low, high], list(METHODS), tmp_path / "t.csv", tmp_path / "t.md", tmp_path / "f"
    )
    compare_conditions(job)
    markdown = (tmp_path / "t.md").read_text(encoding="utf-8")
    assert "**Test instances per class**" in markdown
    # Columns in the table's order (by SNR): low, main, high (no Table III given).
    assert "| Class | low | main | high |" in markdown
    assert f"| {CLASSES[0]} | 2 to 3 | 3 | n/a |" in markdown
    assert f"| {CLASSES[1]} | 1 | 1 | n/a |" in markdown
    assert f"| {CLASSES[2]} | 0 | 0 | n/a |" in markdown
    assert f"| {CLASSES[6]} | 5 to 6 | 5 | n/a |" in markdown
    # Without any Table III the comparison has no such table (as before).
    compare_conditions(replace(job, conditions=[high], table_md=tmp_path / "u.md"))
    assert "instances per class" not in (tmp_path / "u.md").read_text(encoding="utf-8")
