"""The cross-condition table, markdown and figure from hand-made intervals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from igsed.conditions.compare import ComparisonJob, ConditionResults, compare_conditions, ordered
from igsed.formats.conditions import CONDITION_METRICS, read_conditions_table

METHODS = ("ig", "energy")


def _condition(root: Path, name: str, snr: list[float], level: float) -> ConditionResults:
    """A condition whose every figure is `level` (IG) or `level` - 0.1 (energy)."""
    folder = root / name
    folder.mkdir(parents=True)
    rows = []
    for method, value in (("ig", level), ("energy", level - 0.1), ("random", 0.0)):
        for metric in (*CONDITION_METRICS, "rma", "deletion_morf"):
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
    rows[0]["ci_low"] = rows[0]["ci_high"] = np.nan
    pd.DataFrame(rows).to_csv(folder / "intervals.csv", index=False)
    (folder / "summary.json").write_text(json.dumps({"counts": {"test": 11}}))
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


def test_a_method_without_intervals_is_named(tmp_path: Path) -> None:
    main = _condition(tmp_path, "main", [15, 25], 0.5)
    job = ComparisonJob([main], ["ig", "gradcam"], tmp_path / "t.csv", tmp_path / "t.md", tmp_path)
    with pytest.raises(ValueError, match=r"gradcam"):
        compare_conditions(job)
