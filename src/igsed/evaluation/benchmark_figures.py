"""Figures of the benchmark's outputs: a forest plot, deletion/insertion curves, sanity curves.

- forest: each method's test IoU and AUROC with their bootstrap intervals (intervals.csv);
- faithfulness_curves: the mean relative deletion and insertion curves of every method,
  MoRF solid and LeRF dashed (igsed.evaluation.summaries.mean_curves);
- sanity_curves: the median Spearman correlation per randomisation level of every gradient
  or layer method, with its interquartile band and the flag threshold.

Methods are drawn in the order given (the run's table order); none is named here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from igsed.core.methods import method_label
from igsed.evaluation.summaries import mean_curves, sanity_quartiles
from igsed.formats.figures import empty_figure, method_colors, save_figure
from igsed.formats.intervals import read_intervals

logger = logging.getLogger(__name__)

BENCHMARK_FIGURE_NAMES: tuple[str, ...] = ("forest", "faithfulness_curves", "sanity_curves")
FOREST_METRICS: dict[str, str] = {"iou": "IoU at τ*", "auroc": "AUROC"}
_CURVE_STYLES: dict[str, str] = {"morf": "-", "lerf": "--"}


@dataclass(frozen=True)
class BenchmarkFigureInputs:
    intervals_csv: Path
    # The faithfulness rule's curves.csv and the sanity rule's CSV, by method in table order.
    faithfulness_curves: Mapping[str, Path]
    sanity: Mapping[str, Path]
    flag_correlation: float


def _forest(intervals: pd.DataFrame, methods: Sequence[str]) -> Figure:
    if intervals.empty:
        return empty_figure("No detected instances: no interval to draw.")
    fig = Figure(figsize=(10, 1.2 + 0.35 * len(methods)))
    axes = fig.subplots(1, len(FOREST_METRICS), sharey=True)
    positions = np.arange(len(methods))[::-1]
    colors = method_colors(methods)
    for ax, (metric, title) in zip(axes, FOREST_METRICS.items(), strict=True):
        rows = intervals[intervals["metric"] == metric].set_index("method")
        for y, method in zip(positions, methods, strict=True):
            if method not in rows.index or not np.isfinite(rows.loc[method, "value"]):
                continue
            value, low, high = rows.loc[method, ["value", "ci_low", "ci_high"]].astype(float)
            ax.errorbar(
                value,
                y,
                xerr=[[value - low], [high - value]],
                fmt="o",
                color=colors[method],
                capsize=3,
            )
        ax.set_title(f"{title} (test, bootstrap interval)")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(positions)
    axes[0].set_yticklabels([method_label(m) for m in methods])
    fig.tight_layout()
    return fig


def _faithfulness(curves: pd.DataFrame, methods: Sequence[str]) -> Figure:
    if curves.empty:
        return empty_figure("No faithfulness curves (no test instance).")
    fig = Figure(figsize=(12, 4.5))
    axes = fig.subplots(1, 2, sharey=True)
    colors = method_colors(methods)
    for ax, curve in zip(axes, ("deletion", "insertion"), strict=True):
        for method in methods:
            for order, style in _CURVE_STYLES.items():
                rows = curves[
                    (curves["method"] == method)
                    & (curves["curve"] == curve)
                    & (curves["order"] == order)
                ]
                label = method_label(method) if order == "morf" else None
                ax.plot(
                    100 * rows["fraction"],
                    rows["relative"],
                    style,
                    color=colors[method],
                    label=label,
                )
        ax.set_title(f"{curve.capitalize()}: MoRF solid, LeRF dashed")
        ax.set_xlabel(f"% of the 100 ms frames {'zeroed' if curve == 'deletion' else 'restored'}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("F_c / F_c(x), mean over test instances")
    axes[1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    fig.tight_layout()
    return fig


def _sanity(levels: pd.DataFrame, methods: Sequence[str], flag: float) -> Figure:
    if levels.empty:
        return empty_figure("No sanity check: the run has no gradient or layer method.")
    checked = list(dict.fromkeys(levels["method"]))
    ordered = [m for m in methods if m in checked] + [m for m in checked if m not in methods]
    colors = method_colors([*methods, *(m for m in ordered if m not in methods)])
    fig = Figure(figsize=(10, 4.5))
    ax = fig.add_subplot()
    for method in ordered:
        rows = levels[levels["method"] == method].sort_values("level")
        # Level 0, the trained model, correlates perfectly with itself.
        x = np.r_[0, rows["level"].to_numpy()]
        ax.plot(
            x, np.r_[1.0, rows["median"]], "o-", color=colors[method], label=method_label(method)
        )
        ax.fill_between(
            x, np.r_[1.0, rows["q25"]], np.r_[1.0, rows["q75"]], color=colors[method], alpha=0.15
        )
    ticks = levels.drop_duplicates("level").sort_values("level")
    ax.set_xticks(np.r_[0, ticks["level"].to_numpy()])
    ax.set_xticklabels(
        ["trained", *(f"+{layer}" for layer in ticks["layer"])], rotation=30, ha="right"
    )
    ax.axhline(flag, color="grey", linestyle=":", label=f"flag threshold {flag:g}")
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("Spearman with the trained model's scores")
    ax.set_title("Cascading randomisation (median, interquartile band)")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def benchmark_figures(inputs: BenchmarkFigureInputs, methods: Sequence[str], out_dir: Path) -> None:
    """Write forest, faithfulness_curves and sanity_curves (.png and .svg) into `out_dir`."""
    intervals = read_intervals(inputs.intervals_csv)
    figures = {
        "forest": _forest(intervals, methods),
        "faithfulness_curves": _faithfulness(mean_curves(inputs.faithfulness_curves), methods),
        "sanity_curves": _sanity(sanity_quartiles(inputs.sanity), methods, inputs.flag_correlation),
    }
    for name, fig in figures.items():
        save_figure(fig, Path(out_dir), name)
    logger.info("wrote %d figures to %s", len(figures), out_dir)
