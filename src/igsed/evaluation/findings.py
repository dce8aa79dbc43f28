"""The summary's opening findings, generated from the paired intervals, never written by hand.

For each headline metric: which methods are better or worse than IG, and which beat the best
baseline, where the paired 95 % interval of the difference excludes 0 (rule statistics'
differences.csv); and which method leads on its point value. "Better" follows the metric's
direction (a lower deletion MoRF area is better).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from igsed.core.methods import REFERENCE_METHOD, method_label
from igsed.formats.tables import format_number

# The metrics the findings speak of, with their names and whether higher is better.
HEADLINE_METRICS: dict[str, tuple[str, bool]] = {
    "iou": ("mean IoU", True),
    "auroc": ("AUROC", True),
    "deletion_morf": ("deletion MoRF area", False),
}


def _difference(record: Mapping[str, object]) -> str:
    def signed(value: object) -> str:
        # Two significant digits: a small difference that excludes 0 never prints as 0.00.
        return f"{float(value):+.2g}"  # type: ignore[arg-type]

    return (
        f"{method_label(str(record['method']))} {signed(record['difference'])} "
        f"[{signed(record['ci_low'])}, {signed(record['ci_high'])}]"
    )


def _better(frame: pd.DataFrame, higher_is_better: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    excluding = frame[frame["excludes_zero"].astype(str) == "True"]
    positive = excluding["difference"].astype(float) > 0
    better = positive if higher_is_better else ~positive
    return excluding[better], excluding[~better]


def _listed(frame: pd.DataFrame) -> str:
    ordered = frame.sort_values("difference", key=lambda d: -d.astype(float).abs())
    return "; ".join(_difference(r) for r in ordered.to_dict("records"))


def metric_findings(metric: str, intervals: pd.DataFrame, differences: pd.DataFrame) -> list[str]:
    """The finding lines of one metric (none when the run has no figures for it)."""
    name, higher_is_better = HEADLINE_METRICS[metric]
    values = intervals[intervals["metric"] == metric].dropna(subset=["value"])
    if values.empty:
        return []
    numbers = values["value"].astype(float)
    best = values.loc[numbers.idxmax() if higher_is_better else numbers.idxmin()]
    lines = [
        f"**{name[0].upper()}{name[1:]}**: best point value {method_label(str(best['method']))} "
        f"{format_number(best['value'], 2)} [{format_number(best['ci_low'], 2)}, "
        f"{format_number(best['ci_high'], 2)}]."
    ]
    rows = differences[differences["metric"] == metric]
    against_ig = rows[rows["reference"] == REFERENCE_METHOD]
    better, worse = _better(against_ig, higher_is_better)
    ig = method_label(REFERENCE_METHOD)
    if not against_ig.empty:
        lines.append(
            f"Better than {ig}: {_listed(better) or 'none'}. Worse than {ig}: "
            f"{_listed(worse) or 'none'}."
        )
    against_baseline = rows[rows["reference"] != REFERENCE_METHOD]
    if not against_baseline.empty:
        baseline = method_label(str(against_baseline["reference"].iloc[0]))
        beat, _ = _better(against_baseline, higher_is_better)
        lines.append(f"Better than the best baseline ({baseline}): {_listed(beat) or 'none'}.")
    return [" ".join(lines)]


def findings(intervals: pd.DataFrame, differences: pd.DataFrame) -> str:
    """The summary's findings as markdown bullets (a line saying there are none if so)."""
    lines = [
        line
        for metric in HEADLINE_METRICS
        for line in metric_findings(metric, intervals, differences)
    ]
    if not lines:
        return "No findings: no detected instances in the test split.\n"
    intro = (
        "Generated from the paired bootstrap intervals (95 %, over test clips): a method is "
        "named better or worse only where the interval of its difference excludes 0.\n\n"
    )
    return intro + "".join(f"- {line}\n" for line in lines)
