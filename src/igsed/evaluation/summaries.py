"""Summaries of the faithfulness curves and the sanity checks, shared by figures and report.

Deletion and insertion curves are averaged over the test instances after dividing each by
its clip's unmasked probability F_c(x) (the deletion curve at 0 %), so every curve starts
(deletion) or ends (insertion) at 1. Sanity correlations are summarised per randomisation
level by their median, quartiles and a clip-level bootstrap interval of the median.
Definitions: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from igsed.core.statistics import BootstrapSettings, bootstrap_median, clip_draws
from igsed.formats.faithfulness import read_curves
from igsed.formats.sanity import read_sanity

_INSTANCE = ["clip_id", "class"]


def relative_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """One method's curves with `relative` = probability / F_c(x) of the instance."""
    start = curves[
        (curves["curve"] == "deletion") & (curves["order"] == "morf") & (curves["fraction"] == 0)
    ]
    unmasked = start.set_index(_INSTANCE)["probability"].rename("unmasked")
    merged = curves.join(unmasked, on=_INSTANCE)
    return merged.assign(relative=merged["probability"] / merged["unmasked"])


def mean_curves(curves_csv: Mapping[str, Path]) -> pd.DataFrame:
    """method, curve, order, fraction, relative (mean over instances), n: every method's."""
    frames = []
    for method, path in curves_csv.items():
        relative = relative_curves(read_curves(path))
        grouped = relative.groupby(["curve", "order", "fraction"], sort=True)["relative"]
        frame = grouped.agg(relative="mean", n="count").reset_index()
        frames.append(frame.assign(method=method))
    columns = ["method", "curve", "order", "fraction", "relative", "n"]
    return (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )


def sanity_quartiles(sanity_csv: Mapping[str, Path]) -> pd.DataFrame:
    """method, level, layer, median, q25, q75, n (defined correlations) of every method."""
    rows = []
    for method, path in sanity_csv.items():
        frame = read_sanity(path)
        for (level, layer), group in frame.groupby(["level", "layer"], sort=False):
            values = group["spearman"].dropna().to_numpy(dtype=np.float64)
            q25, median, q75 = np.percentile(values, [25, 50, 75]) if values.size else (np.nan,) * 3
            rows.append(
                {
                    "method": method,
                    "level": int(level),
                    "layer": str(layer),
                    "median": float(median),
                    "q25": float(q25),
                    "q75": float(q75),
                    "n": int(values.size),
                }
            )
    columns = ["method", "level", "layer", "median", "q25", "q75", "n"]
    return pd.DataFrame(rows, columns=columns).sort_values(["method", "level"], kind="stable")


def sanity_intervals(sanity_csv: Mapping[str, Path], settings: BootstrapSettings) -> pd.DataFrame:
    """method, level, layer, median, ci_low, ci_high, n (defined correlations), instances:
    the median correlation per level with its percentile interval, resampling the subset's
    clips (the same draws for every level)."""
    rows = []
    for method, path in sanity_csv.items():
        frame = read_sanity(path)
        clip_ids = sorted(set(frame["clip_id"].astype(str)))
        draws = clip_draws(clip_ids, settings)
        for (level, layer), group in frame.groupby(["level", "layer"], sort=False):
            interval = bootstrap_median(
                group["spearman"].to_numpy(dtype=np.float64),
                group["clip_id"].astype(str).tolist(),
                clip_ids,
                draws,
                settings.level,
            )
            rows.append(
                {
                    "method": method,
                    "level": int(level),
                    "layer": str(layer),
                    "median": interval.value,
                    "ci_low": interval.low,
                    "ci_high": interval.high,
                    "n": interval.n,
                    "instances": len(group),
                }
            )
    columns = ["method", "level", "layer", "median", "ci_low", "ci_high", "n", "instances"]
    return pd.DataFrame(rows, columns=columns)


def flagged_methods(levels: pd.DataFrame, threshold: float) -> list[str]:
    """Methods whose median correlation at their deepest level stays above `threshold`."""
    flagged = []
    for method, group in levels.groupby("method", sort=False):
        deepest = group.sort_values("level").iloc[-1]
        if np.isfinite(deepest["median"]) and deepest["median"] > threshold:
            flagged.append(str(method))
    return flagged
