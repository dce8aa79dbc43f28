"""Figures of the report: Fig. 2 (one clip, every method), Fig. 3 (threshold sweep), per-class IoU.

Drawing and saving conventions: igsed.formats.figures. The methods come from the
evaluation's outputs and the shards; none is named here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from igsed.core.audio import load_clip
from igsed.core.constants import (
    CLASS_INDEX,
    CLIP_SECONDS,
    EVAL_FRAME_SECONDS,
    N_EVAL_FRAMES,
    SAMPLE_RATE,
)
from igsed.core.methods import method_label
from igsed.core.metrics import percentile_threshold
from igsed.evaluation.scores import ShardSet
from igsed.formats.figures import class_color, empty_figure, method_colors, save_figure
from igsed.formats.instances import read_instances
from igsed.formats.manifest import read_events, read_manifest
from igsed.formats.shards import ClipScores, find_clip
from igsed.formats.tables import read_table, table3_methods
from igsed.formats.tau_star import TauStar, read_tau_star

logger = logging.getLogger(__name__)

FIGURE_NAMES: tuple[str, ...] = ("fig2_attribution", "fig3_threshold", "per_class_iou")
GT_COLOR = "tab:green"
# |a| per sample is smoothed over 10 ms and drawn at 5 ms resolution (2000 points per clip).
_SMOOTH_SAMPLES = 320
_PLOT_STEP_SAMPLES = 160
_WAVEFORM_BINS = 2000
_MAX_CLASS_PANELS = 3


def _envelope(signal: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    usable = signal[: (signal.size // bins) * bins].reshape(bins, -1)
    times = (np.arange(bins) + 0.5) * usable.shape[1] / SAMPLE_RATE
    return times, usable.min(axis=1), usable.max(axis=1)


def _smoothed_magnitude(signed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    magnitude = np.abs(np.asarray(signed, dtype=np.float64))
    kernel = np.full(_SMOOTH_SAMPLES, 1.0 / _SMOOTH_SAMPLES)
    smoothed = np.convolve(magnitude, kernel, mode="same")[::_PLOT_STEP_SAMPLES]
    times = np.arange(smoothed.size) * _PLOT_STEP_SAMPLES / SAMPLE_RATE
    return times, smoothed


def _unit_range(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Values min-max scaled to [0, 1] (constant values -> 0), with the scale used."""
    values = np.asarray(values, dtype=np.float64)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    span = high - low if high > low else 1.0
    return (values - low) / span, low, span


def _audio_path(manifest: pd.DataFrame, clip_id: str, manifest_path: Path) -> Path:
    rows = manifest[manifest["clip_id"] == clip_id]
    if rows.empty:
        raise KeyError(f"{manifest_path}: no manifest row for figure clip {clip_id!r}")
    path = Path(str(rows.iloc[0]["audio_path"]))
    if not path.is_file():
        raise FileNotFoundError(f"audio of figure clip {clip_id} not found: {path}")
    return path


def _waveform_panel(ax: Axes, audio: np.ndarray, clip_events: pd.DataFrame, clip_id: str) -> None:
    times, low, high = _envelope(audio, _WAVEFORM_BINS)
    ax.fill_between(times, low, high, color="0.25", linewidth=0)
    handles = []
    for label in sorted(set(clip_events["event_label"].astype(str))):
        color = class_color(label) if label in CLASS_INDEX else GT_COLOR
        for row in clip_events[clip_events["event_label"] == label].itertuples(index=False):
            ax.axvspan(float(row.onset), float(row.offset), color=color, alpha=0.25)
        handles.append(Patch(color=color, alpha=0.4, label=f"{label} (ground truth)"))
    ax.set_ylabel("amplitude")
    ax.set_xlim(0, CLIP_SECONDS)
    ax.set_title(f"Test clip {clip_id}: waveform and ground-truth events")
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize="small", framealpha=0.9)


def _score_panel(
    ax: Axes,
    clip: ClipScores,
    class_name: str,
    events: pd.DataFrame,
    tau: int | None,
    color: Any,
) -> None:
    for event in events[events["event_label"] == class_name].itertuples(index=False):
        ax.axvspan(float(event.onset), float(event.offset), color=GT_COLOR, alpha=0.25)
    if class_name not in clip.classes:
        ax.text(5, 0.5, "not scored", ha="center", va="center", fontsize="small")
        return
    row = clip.classes.index(class_name)
    scaled, low, span = _unit_range(clip.scores[row])
    if clip.signed is not None:
        t, smooth = _smoothed_magnitude(clip.signed[row])
        peak = float(smooth.max()) if smooth.size and smooth.max() > 0 else 1.0
        ax.fill_between(t, 0, smooth / peak, color=color, alpha=0.35, linewidth=0)
    frame_times = np.arange(N_EVAL_FRAMES + 1) * EVAL_FRAME_SECONDS
    ax.stairs(scaled, frame_times, color="black", linewidth=0.9)
    if tau is not None:
        level = (float(percentile_threshold(clip.scores[row], tau)) - low) / span
        ax.axhline(level, color="black", linestyle=":", linewidth=0.9)
    ax.set_ylim(0, 1.05)
    ax.set_yticks([])


def _figure2(
    clip_id: str | None,
    method_clips: Mapping[str, ClipScores],
    classes: Sequence[str],
    manifest_path: Path,
    events_path: Path,
    tau_star: TauStar,
) -> Figure:
    if clip_id is None or not classes:
        return empty_figure("No test clip has an attributed class (classifier detected nothing).")
    manifest = read_manifest(manifest_path)
    events = read_events(events_path)
    events = events[events["clip_id"] == clip_id]
    audio = load_clip(_audio_path(manifest, clip_id, manifest_path))
    methods = list(method_clips)
    colors = method_colors(methods)
    fig = Figure(figsize=(4.0 * len(classes) + 1.5, 1.9 + 0.9 * len(methods)))
    grid = fig.add_gridspec(len(methods) + 1, len(classes), height_ratios=[2] + [1] * len(methods))
    _waveform_panel(fig.add_subplot(grid[0, :]), audio, events, clip_id)
    for row, method in enumerate(methods, start=1):
        for column, class_name in enumerate(classes):
            ax = fig.add_subplot(grid[row, column])
            tau = tau_star.tau(method, "iou")
            _score_panel(ax, method_clips[method], class_name, events, tau, colors[method])
            ax.set_xlim(0, CLIP_SECONDS)
            if column == 0:
                ax.set_ylabel(method_label(method), rotation=0, ha="right", va="center")
            if row == 1:
                ax.set_title(class_name, fontsize="medium")
            if row < len(methods):
                ax.set_xticklabels([])
            else:
                ax.set_xlabel("time (s)")
    fig.legend(
        handles=[
            Patch(color=GT_COLOR, alpha=0.4, label="ground truth of the class"),
            Line2D([], [], color="black", label="frame scores (min-max per panel)"),
            Line2D([], [], color="black", linestyle=":", label="threshold at the method's τ*_IoU"),
            Patch(color="0.5", alpha=0.35, label="|attribution| per sample, 10 ms mean"),
        ],
        loc="lower center",
        ncol=4,
        fontsize="small",
        bbox_to_anchor=(0.5, -0.01),
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def _figure3(sweeps: dict[str, pd.DataFrame], tau_star: TauStar) -> Figure:
    methods = list(dict.fromkeys(sweeps["val"]["method"].astype(str)))
    colors = method_colors(methods)
    fig = Figure(figsize=(12, 4.6))
    axes = fig.subplots(1, len(sweeps), sharey=True, squeeze=False)[0]
    for ax, (split, frame) in zip(axes, sweeps.items(), strict=True):
        for method in methods:
            rows = frame[frame["method"] == method].sort_values("tau")
            if rows.empty:
                continue
            color = colors[method]
            taus = rows["tau"].to_numpy(dtype=float)
            for metric, style in (("iou", "-"), ("f1", "--")):
                values = pd.to_numeric(rows[metric], errors="coerce").to_numpy(dtype=float)
                ax.plot(taus, values, linestyle=style, color=color)
                tau = tau_star.tau(method, metric)
                if tau is not None and np.any(taus == tau):
                    value = values[taus == tau][0]
                    if math.isfinite(value):
                        marker = "o" if metric == "iou" else "s"
                        ax.plot(
                            [tau],
                            [value],
                            marker=marker,
                            color=color,
                            markersize=6,
                            markerfacecolor="white" if metric == "f1" else color,
                        )
        ax.set_title(f"{split} split (τ* chosen on val)")
        ax.set_xlabel("percentile threshold τ")
        ax.set_xlim(0, 100)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("macro-averaged score")
    handles = [Line2D([], [], color=colors[m], label=method_label(m)) for m in methods]
    handles += [
        Line2D([], [], color="0.3", linestyle="-", label="IoU"),
        Line2D([], [], color="0.3", linestyle="--", label="frame F1"),
        Line2D([], [], color="0.3", marker="o", linestyle="", label="τ* for IoU"),
        Line2D(
            [],
            [],
            color="0.3",
            marker="s",
            markerfacecolor="white",
            linestyle="",
            label="τ* for F1",
        ),
    ]
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    fig.suptitle("Threshold sensitivity: IoU (solid) and frame F1 (dashed) vs percentile τ")
    fig.tight_layout()
    return fig


def _per_class_figure(table3: pd.DataFrame) -> Figure:
    """Per-class test IoU as a heatmap: a row per class (with its instance count), a column
    per method, each cell annotated; grey where the class has no instance."""
    methods = table3_methods(table3)
    values = np.array(
        [pd.to_numeric(table3[f"{m}_iou"], errors="coerce").to_numpy(float) for m in methods]
    ).T.reshape(len(table3), len(methods))
    fig = Figure(figsize=(max(6.0, 1.0 + 0.75 * len(methods)), 1.2 + 0.42 * len(table3)))
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(values), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    image.cmap.set_bad("0.85")
    for (row, column), value in np.ndenumerate(values):
        text = f"{value:.2f}" if np.isfinite(value) else "–"
        color = "0.35" if not np.isfinite(value) else "black" if value > 0.6 else "white"
        ax.text(column, row, text, ha="center", va="center", fontsize="small", color=color)
    counts = table3[f"{methods[0]}_n"].astype(int).to_list() if methods else [0] * len(table3)
    ax.set_yticks(np.arange(len(table3)))
    ax.set_yticklabels(
        [f"{c.replace('_', ' ')} (n={n})" for c, n in zip(table3["class"], counts, strict=True)],
        fontsize="small",
    )
    ax.set_xticks(np.arange(len(methods)))
    ax.set_xticklabels([method_label(m) for m in methods], rotation=35, ha="right")
    ax.set_title("Per-class test IoU at τ* for IoU (grey: no instance of the class)")
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label="IoU")
    fig.tight_layout()
    return fig


def _figure_classes(instances_test: Path, clip_id: str | None) -> list[str]:
    """The figure clip's instance classes in the ground truth first, at most three."""
    rows = [i for i in read_instances(instances_test) if i.clip_id == clip_id]
    rows.sort(key=lambda i: (not i.present, CLASS_INDEX[i.class_name]))
    if len(rows) > _MAX_CLASS_PANELS:
        logger.warning(
            "figure clip %s: showing %d of %d attributed classes",
            clip_id,
            _MAX_CLASS_PANELS,
            len(rows),
        )
    return [i.class_name for i in rows[:_MAX_CLASS_PANELS]]


def _figure_clip_scores(shards: ShardSet, clip_id: str | None) -> dict[str, ClipScores]:
    found: dict[str, ClipScores] = {}
    if clip_id is None:
        return found
    for method in shards.methods:
        clip = find_clip(shards.of(method, "test"), clip_id)
        if clip is None:
            raise KeyError(f"figure clip {clip_id!r} is in none of the {method} test shards")
        found[method] = clip
    return found


def figures(
    shards: ShardSet,
    evaluation_dir: Path,
    *,
    manifest_path: Path,
    events_path: Path,
    instances_test: Path,
    out_dir: Path,
    figure_clip: str | None = None,
) -> None:
    """Write fig2_attribution, fig3_threshold and per_class_iou (.png and .svg) into out_dir.

    Reads the evaluation's sweep_{val,test}.csv, tau_star.json and table3.csv from
    `evaluation_dir`. Fig. 2 shows `figure_clip` (chosen from the split before attribution,
    so its shards keep per-sample attributions): the frame scores of every method (rows) for
    up to three of its attributed classes (columns). Refuses stale shards first.
    """
    out_dir = Path(out_dir)
    evaluation_dir = Path(evaluation_dir)
    shards.require_current(splits=("test",))
    tau_star = read_tau_star(evaluation_dir / "tau_star.json")
    classes = _figure_classes(Path(instances_test), figure_clip)
    logger.info("Fig. 2 shows clip %s, classes %s", figure_clip, classes)
    sweeps = {split: read_table(evaluation_dir / f"sweep_{split}.csv") for split in ("val", "test")}
    figures = {
        "fig2_attribution": _figure2(
            figure_clip,
            _figure_clip_scores(shards, figure_clip),
            classes,
            Path(manifest_path),
            Path(events_path),
            tau_star,
        ),
        "fig3_threshold": _figure3(sweeps, tau_star),
        "per_class_iou": _per_class_figure(read_table(evaluation_dir / "table3.csv")),
    }
    for name, fig in figures.items():
        save_figure(fig, out_dir, name)
    logger.info("wrote %d figures to %s", len(figures), out_dir)
