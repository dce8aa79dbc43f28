"""The summary's findings, from hand-made intervals and paired differences."""

from __future__ import annotations

import pandas as pd

from igsed.evaluation.findings import findings, metric_findings
from igsed.formats.intervals import DIFFERENCE_COLUMNS, INTERVAL_COLUMNS


def _intervals(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(m, k, v, v - 0.1, v + 0.1, 10) for m, k, v in rows],
        columns=list(INTERVAL_COLUMNS),
    )


def _differences(rows: list[tuple[str, str, str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(m, r, k, d, lo, hi, 10, lo > 0 or hi < 0) for m, r, k, d, lo, hi in rows],
        columns=list(DIFFERENCE_COLUMNS),
    )


def test_better_and_worse_follow_the_metrics_direction() -> None:
    intervals = _intervals([("ig", "deletion_morf", 0.30), ("gradcam", "deletion_morf", 0.20)])
    differences = _differences(
        [
            ("gradcam", "ig", "deletion_morf", -0.10, -0.15, -0.05),  # lower: more faithful
            ("saliency", "ig", "deletion_morf", 0.04, 0.01, 0.07),
            ("smoothgrad", "ig", "deletion_morf", 0.02, -0.01, 0.05),  # includes 0: unnamed
            ("ig", "energy", "deletion_morf", -0.03, -0.05, -0.01),
            ("gradcam", "energy", "deletion_morf", -0.13, -0.2, -0.06),
        ]
    )
    (line,) = metric_findings("deletion_morf", intervals, differences)
    assert line.startswith("**Deletion MoRF area**: best point value Grad-CAM 0.20 [0.10, 0.30].")
    assert "Better than IG: Grad-CAM -0.1 [-0.15, -0.05]." in line
    assert "Worse than IG: Saliency +0.04 [+0.01, +0.07]." in line
    assert "SmoothGrad" not in line
    assert (
        "Better than the best baseline (Energy baseline): Grad-CAM -0.13 [-0.2, -0.06]; "
        "IG -0.03 [-0.05, -0.01]." in line
    )


def test_higher_is_better_for_iou_and_none_is_said() -> None:
    intervals = _intervals([("ig", "iou", 0.46), ("energy", "iou", 0.42)])
    differences = _differences(
        [
            ("energy", "ig", "iou", -0.043, -0.08, -0.005),
            ("ig", "energy", "iou", 0.043, 0.005, 0.08),
        ]
    )
    (line,) = metric_findings("iou", intervals, differences)
    assert "best point value IG 0.46" in line
    assert "Better than IG: none. Worse than IG: Energy baseline -0.043 [-0.08, -0.005]." in line
    assert "Better than the best baseline (Energy baseline): IG +0.043 [+0.005, +0.08]." in line


def test_a_run_without_instances_has_no_findings() -> None:
    empty = _intervals([])
    assert findings(empty, _differences([])) == (
        "No findings: no detected instances in the test split.\n"
    )
