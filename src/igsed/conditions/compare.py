"""The comparison across test conditions (rule conditions): one table, one figure, markdown.

Each condition's figures are its own rule statistics' intervals.csv (Table II's IoU, F1 and
Pointing Game at that condition's τ*, and the threshold-free AUROC and AP, each with its
bootstrap interval over that condition's test clips). Conditions are ordered by the middle
of their SNR range, then as configured (main first), so an SNR sweep reads left to right.
A method without instances in a condition (its classifier detected nothing there) is a
result, not an error: its rows have n = 0 and no figures, and the markdown says "no
detected instances" for it. Beside the conditions, the markdown counts each condition's
test instances per class (from its Table III), what its macro averages and intervals rest
on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from igsed.core.atomic import write_text
from igsed.core.constants import CLASSES
from igsed.core.methods import method_label
from igsed.formats.conditions import (
    CONDITION_COLUMNS,
    CONDITION_METRICS,
    write_conditions_table,
)
from igsed.formats.figures import method_colors, save_figure
from igsed.formats.intervals import INTERVAL_COLUMNS, read_intervals
from igsed.formats.manifest import read_split_summary
from igsed.formats.tables import (
    NO_INSTANCES,
    NOT_AVAILABLE,
    class_instance_counts,
    format_number,
    markdown_table,
    read_table,
)

logger = logging.getLogger(__name__)

# The figure's panels: the paper's two threshold-tuned metrics and the threshold-free AUROC.
FIGURE_METRICS: dict[str, str] = {"iou": "IoU at τ*", "f1": "F1 at τ*", "auroc": "AUROC"}
TABLE_METRICS: dict[str, str] = {
    "iou": "Mean IoU at τ\\*",
    "f1": "F1 at τ\\*",
    "auroc": "AUROC (threshold-free)",
}


@dataclass(frozen=True)
class ConditionResults:
    """One condition: what it changes (conditions.settings.describe) and its outputs."""

    name: str
    description: Mapping[str, Any]
    intervals_csv: Path
    split_summary_json: Path
    # Its Table III (rule evaluate), for the instances per class; None: not counted.
    table3_csv: Path | None = None


@dataclass(frozen=True)
class ComparisonJob:
    conditions: Sequence[ConditionResults]
    methods: Sequence[str]
    table_csv: Path
    table_md: Path
    figure_dir: Path
    figure_name: str = "conditions"


def _is_recorded(condition: ConditionResults) -> bool:
    """Real recordings have no SNR range (igsed.conditions.settings.describe)."""
    return bool(np.isnan(condition.description["snr_db"]).all())


def ordered(conditions: Sequence[ConditionResults]) -> list[ConditionResults]:
    """By the middle of the SNR range, real recordings last (stable: ties keep the
    configured order)."""
    return sorted(
        conditions,
        key=lambda c: np.inf if _is_recorded(c) else float(np.mean(c.description["snr_db"])),
    )


def condition_rows(condition: ConditionResults, methods: Sequence[str]) -> pd.DataFrame:
    """One condition's rows of the cross-condition table."""
    intervals = read_intervals(condition.intervals_csv)
    intervals = intervals[
        intervals["method"].isin(list(methods)) & intervals["metric"].isin(CONDITION_METRICS)
    ]
    # A method without instances has no intervals: n = 0, no figures.
    undetected = [m for m in methods if m not in set(intervals["method"])]
    if undetected:
        logger.info("%s: no detected instances for %s", condition.name, ", ".join(undetected))
        empty = pd.DataFrame(
            [
                {
                    "method": m,
                    "metric": metric,
                    "value": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "n": 0,
                }
                for m in undetected
                for metric in CONDITION_METRICS
            ],
            columns=list(INTERVAL_COLUMNS),
        )
        intervals = pd.concat([intervals, empty], ignore_index=True) if len(intervals) else empty
    rank = {
        "method": {m: i for i, m in enumerate(methods)},
        "metric": {m: i for i, m in enumerate(CONDITION_METRICS)},
    }
    intervals = intervals.sort_values(
        ["method", "metric"], key=lambda column: column.map(rank[column.name]), kind="mergesort"
    )
    description = condition.description
    counts = read_split_summary(condition.split_summary_json)["counts"]
    return intervals.loc[:, list(INTERVAL_COLUMNS)].assign(
        condition=condition.name,
        snr_db_low=description["snr_db"][0],
        snr_db_high=description["snr_db"][1],
        n_events_low=description["n_events"][0],
        n_events_high=description["n_events"][1],
        ref_db=description["ref_db"],
        soundbank=description["soundbank"],
        test_clips=int(counts["test"]),
    )


def _snr_range(condition: ConditionResults) -> str:
    if _is_recorded(condition):
        return "real"
    low, high = condition.description["snr_db"]
    return f"{format_number(low, 0)} to {format_number(high, 0)}"


def _column_label(condition: ConditionResults) -> str:
    if _is_recorded(condition):
        return f"{condition.name} (recordings)"
    return f"{condition.name} ({_snr_range(condition)} dB)"


def _tick_label(condition: ConditionResults) -> str:
    if _is_recorded(condition):
        return f"{condition.name}\nrecordings"
    return f"{condition.name}\n{_snr_range(condition)} dB"


def _selected(table: pd.DataFrame, condition: str, method: str, metric: str) -> pd.DataFrame:
    """The row of one condition, method and metric (empty if the table has none)."""
    chosen = (
        (table["condition"] == condition)
        & (table["method"] == method)
        & (table["metric"] == metric)
    )
    return table[chosen]


def _undetected(table: pd.DataFrame, condition: str, method: str) -> bool:
    """Whether the method had no instance in the condition (n = 0 for every metric)."""
    rows = table[(table["condition"] == condition) & (table["method"] == method)]
    return not rows.empty and bool((rows["n"] == 0).all())


def _cell(rows: pd.DataFrame, undetected: bool = False) -> str:
    if undetected:
        return NO_INSTANCES
    if rows.empty:
        return format_number(None)
    record = rows.iloc[0]
    value = format_number(record["value"])
    if not np.isfinite(record["ci_low"]):
        return value
    return f"{value} [{format_number(record['ci_low'])}, {format_number(record['ci_high'])}]"


def comparison_markdown(
    table: pd.DataFrame, conditions: Sequence[ConditionResults], methods: Sequence[str]
) -> str:
    """One markdown table per metric of TABLE_METRICS: methods down, conditions across."""
    sections = [_conditions_table(table, conditions), *_class_counts_table(conditions, methods)]
    header = ["Method", *(_column_label(c) for c in conditions)]
    for metric, title in TABLE_METRICS.items():
        rows = [
            [method_label(method)]
            + [
                _cell(
                    _selected(table, c.name, method, metric),
                    _undetected(table, c.name, method),
                )
                for c in conditions
            ]
            for method in methods
        ]
        sections.append(
            f"**{title}** (test, with bootstrap intervals)\n\n" + markdown_table(header, rows)
        )
    empty = [c.name for c in conditions if all(_undetected(table, c.name, m) for m in methods)]
    if empty:
        sections.append(
            f"{', '.join(empty)}: {NO_INSTANCES} (the classifier detected no class in "
            f"{'its' if len(empty) == 1 else 'their'} test clips), so no method has a figure "
            "there.\n"
        )
    return "\n".join(sections)


def _conditions_table(table: pd.DataFrame, conditions: Sequence[ConditionResults]) -> str:
    """What each condition changes, and its number of test clips."""
    header = [
        "Condition",
        "SNR (dB)",
        "Events per clip",
        "Background ref (dB)",
        "Soundbank",
        "Test clips",
    ]
    rows = []
    for condition in conditions:
        description = condition.description
        low, high = description["n_events"]
        events = "as recorded" if _is_recorded(condition) else f"{low} to {high}"
        test_clips = table.loc[table["condition"] == condition.name, "test_clips"].iloc[0]
        rows.append(
            [
                condition.name,
                _snr_range(condition),
                events,
                format_number(description["ref_db"], 0),
                description["soundbank"],
                int(test_clips),
            ]
        )
    return markdown_table(header, rows)


def _class_counts_table(
    conditions: Sequence[ConditionResults], methods: Sequence[str]
) -> list[str]:
    """Each condition's test instances per class (none if no condition has a Table III)."""
    if all(c.table3_csv is None for c in conditions):
        return []
    counts = {
        c.name: class_instance_counts(read_table(c.table3_csv), methods)
        for c in conditions
        if c.table3_csv is not None
    }
    header = ["Class", *(c.name for c in conditions)]
    rows = [
        [name, *(counts.get(c.name, {}).get(name, NOT_AVAILABLE) for c in conditions)]
        for name in CLASSES
    ]
    return [
        "**Test instances per class** (what each macro average and its interval rest on; "
        '"a to b": the methods\' counts differ; docs/metrics.md, "Intervals on small, '
        'unbalanced sets")\n\n' + markdown_table(header, rows)
    ]


def comparison_figure(
    table: pd.DataFrame, conditions: Sequence[ConditionResults], methods: Sequence[str]
) -> Figure:
    """Each method's metric against the condition, with its bootstrap interval."""
    # Wide enough that each condition's two-line tick label stays clear of its neighbours'.
    panel_width = max(4.2, 1.5 * len(conditions))
    fig = Figure(figsize=(panel_width * len(FIGURE_METRICS), 4.2))
    axes = fig.subplots(1, len(FIGURE_METRICS), sharex=True)
    colors = method_colors(methods)
    positions = np.arange(len(conditions), dtype=float)
    # A small offset per method keeps the error bars of close values apart.
    offsets = np.linspace(-0.15, 0.15, len(methods)) if len(methods) > 1 else np.zeros(1)
    for ax, (metric, title) in zip(axes, FIGURE_METRICS.items(), strict=True):
        for offset, method in zip(offsets, methods, strict=True):
            values = [_selected(table, c.name, method, metric) for c in conditions]
            point = np.array([v["value"].iloc[0] if len(v) else np.nan for v in values], float)
            low = np.array([v["ci_low"].iloc[0] if len(v) else np.nan for v in values], float)
            high = np.array([v["ci_high"].iloc[0] if len(v) else np.nan for v in values], float)
            ax.errorbar(
                positions + offset,
                point,
                yerr=np.nan_to_num(np.vstack([point - low, high - point])),
                fmt="o-",
                color=colors[method],
                capsize=2,
                label=method_label(method),
            )
        ax.set_title(title)
        ax.set_xticks(positions, [_tick_label(c) for c in conditions])
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("test, macro over classes")
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return fig


def compare_conditions(job: ComparisonJob) -> pd.DataFrame:
    """Write the cross-condition table (CSV and markdown) and figure; return the table."""
    conditions = ordered(job.conditions)
    table = pd.concat([condition_rows(c, job.methods) for c in conditions], ignore_index=True)
    table = table.loc[:, list(CONDITION_COLUMNS)]
    write_conditions_table(table, job.table_csv)
    write_text(job.table_md, comparison_markdown(table, conditions, job.methods))
    save_figure(comparison_figure(table, conditions, job.methods), job.figure_dir, job.figure_name)
    logger.info(
        "compared %d conditions (%s) over %d methods",
        len(conditions),
        ", ".join(c.name for c in conditions),
        len(job.methods),
    )
    return table
