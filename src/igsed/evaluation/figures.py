"""Figures of the report: Fig. 2 (one clip's attributions), Fig. 3 (threshold sweep), per-class IoU.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display), saved as PNG
and SVG. SVG ids use a fixed hash salt and no date, so the same inputs give the same files.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from igsed.core.atomic import atomic_path, read_json
from igsed.core.audio import load_clip
from igsed.core.constants import (
    CLASS_INDEX,
    CLIP_SECONDS,
    EVAL_FRAME_SECONDS,
    N_EVAL_FRAMES,
    SAMPLE_RATE,
)
from igsed.core.metrics import percentile_threshold
from igsed.formats.manifest import read_events, read_manifest
from igsed.formats.shards import (
    ClipAttribution,
    ShardExpectation,
    iter_clips,
    require_current_shards,
)

logger = logging.getLogger(__name__)

FIGURE_NAMES: tuple[str, ...] = ("fig2_attribution", "fig3_threshold", "per_class_iou")
CURVE_METHODS: tuple[str, ...] = ("ig", "fw_weak", "fw_strong")
METHOD_LABELS: dict[str, str] = {"ig": "IG", "fw_weak": "FW-WS", "fw_strong": "FW-SS"}
METHOD_COLORS: dict[str, str] = {"ig": "tab:red", "fw_weak": "tab:blue", "fw_strong": "tab:purple"}
GT_COLOR = "tab:green"
# |IG| per sample is smoothed over 10 ms and drawn at 5 ms resolution (2000 points per clip).
_SMOOTH_SAMPLES = 320
_PLOT_STEP_SAMPLES = 160
_WAVEFORM_BINS = 2000
_MAX_CLASS_PANELS = 6


def _class_color(class_name: str) -> tuple[float, float, float, float]:
    return matplotlib.colormaps["tab10"](CLASS_INDEX[class_name] % 10)


def _save(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    FigureCanvasAgg(fig)
    written = []
    with matplotlib.rc_context({"svg.hashsalt": "igsed", "svg.fonttype": "path"}):
        for fmt, kwargs in (("png", {"dpi": 150}), ("svg", {"metadata": {"Date": None}})):
            target = out_dir / f"{name}.{fmt}"
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=fmt, bbox_inches="tight", **kwargs)
            written.append(target)
    return written


@dataclass
class _FigureClip:
    clip: ClipAttribution
    shard: Path


def _pick_clip(test_shards: Sequence[Path], figure_clip: str | None) -> _FigureClip | None:
    best: tuple[tuple[int, ...], _FigureClip] | None = None
    for shard in test_shards:
        for clip in iter_clips([shard]):
            if figure_clip is not None:
                if clip.clip_id == figure_clip:
                    return _FigureClip(clip, Path(shard))
                continue
            present = np.asarray(clip.ground_truth).astype(bool).any(axis=0)
            n_attributed = len(clip.attributed_classes)
            n_hits = sum(bool(present[CLASS_INDEX[c]]) for c in clip.attributed_classes)
            key = (
                int(n_attributed >= 2),
                int(clip.ig_signed is not None),
                int(n_hits >= 2),
                min(n_hits, _MAX_CLASS_PANELS),
            )
            if n_attributed and (best is None or key > best[0]):
                best = (key, _FigureClip(clip, Path(shard)))
    if figure_clip is not None:
        raise KeyError(f"figure clip {figure_clip!r} is in none of the {len(test_shards)} shards")
    return None if best is None else best[1]


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


def _normalised(values: np.ndarray) -> np.ndarray:
    peak = float(np.max(values)) if values.size else 0.0
    return values / peak if peak > 0 else values


def _audio_path(manifest: pd.DataFrame, clip_id: str, manifest_path: Path) -> Path:
    rows = manifest[manifest["clip_id"] == clip_id]
    if rows.empty:
        raise KeyError(f"{manifest_path}: no manifest row for figure clip {clip_id!r}")
    path = Path(str(rows.iloc[0]["audio_path"]))
    if not path.is_file():
        raise FileNotFoundError(f"audio of figure clip {clip_id} not found: {path}")
    return path


def _figure2(
    chosen: _FigureClip | None,
    manifest_path: Path,
    events_path: Path,
    tau_iou: int | None,
) -> Figure:
    if chosen is None:
        fig = Figure(figsize=(10, 2.5))
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(
            0.5,
            0.5,
            "No test clip has an attributed class (classifier detected nothing).",
            ha="center",
            va="center",
        )
        return fig
    clip = chosen.clip
    manifest = read_manifest(manifest_path)
    clip_events = read_events(events_path)
    clip_events = clip_events[clip_events["clip_id"] == clip.clip_id]
    audio = load_clip(_audio_path(manifest, clip.clip_id, manifest_path))
    classes = list(clip.attributed_classes)[:_MAX_CLASS_PANELS]
    if len(clip.attributed_classes) > _MAX_CLASS_PANELS:
        logger.warning(
            "figure clip %s: showing %d of %d attributed classes",
            clip.clip_id,
            _MAX_CLASS_PANELS,
            len(clip.attributed_classes),
        )
    fig = Figure(figsize=(10, 2.0 + 1.6 * (len(classes) + 1)))
    axes = fig.subplots(len(classes) + 1, 1, sharex=True, squeeze=False)[:, 0]
    wave_ax = axes[0]
    times, low, high = _envelope(audio, _WAVEFORM_BINS)
    wave_ax.fill_between(times, low, high, color="0.25", linewidth=0)
    handles = []
    for label in sorted(set(clip_events["event_label"].astype(str))):
        color = _class_color(label) if label in CLASS_INDEX else GT_COLOR
        for row in clip_events[clip_events["event_label"] == label].itertuples(index=False):
            wave_ax.axvspan(float(row.onset), float(row.offset), color=color, alpha=0.25)
        handles.append(Patch(color=color, alpha=0.4, label=f"{label} (ground truth)"))
    wave_ax.set_ylabel("amplitude")
    wave_ax.set_title(f"Test clip {clip.clip_id}: waveform and ground-truth events")
    if handles:
        wave_ax.legend(handles=handles, loc="upper right", fontsize="small", framealpha=0.9)
    frame_times = np.arange(N_EVAL_FRAMES + 1) * EVAL_FRAME_SECONDS
    signed = clip.ig_signed
    for ax, class_name in zip(axes[1:], classes, strict=True):
        row = clip.attributed_classes.index(class_name)
        for event in clip_events[clip_events["event_label"] == class_name].itertuples(index=False):
            ax.axvspan(float(event.onset), float(event.offset), color=GT_COLOR, alpha=0.25)
        frame_scores = np.asarray(clip.ig[row], dtype=np.float64)
        scale = float(np.max(frame_scores)) if frame_scores.size else 0.0
        scale = scale if scale > 0 else 1.0
        if signed is not None:
            t, smooth = _smoothed_magnitude(signed[row])
            ax.fill_between(t, 0, _normalised(smooth), color="tab:red", alpha=0.6, linewidth=0)
        ax.stairs(frame_scores / scale, frame_times, color="black", linewidth=1.0)
        if tau_iou is not None:
            level = float(percentile_threshold(frame_scores, tau_iou)) / scale
            ax.axhline(level, color="black", linestyle=":", linewidth=1.0)
        probability = float(clip.probabilities[CLASS_INDEX[class_name]])
        present = bool(np.asarray(clip.ground_truth)[:, CLASS_INDEX[class_name]].any())
        status = "in ground truth" if present else "not in ground truth: false positive"
        ax.set_title(
            f"IG for {class_name} (clip probability {probability:.2f}, {status})", fontsize="medium"
        )
        ax.set_ylabel("|IG| (norm.)")
        ax.set_ylim(0, 1.05)
    legend = [
        Patch(color=GT_COLOR, alpha=0.4, label="ground truth of the class"),
        Line2D([], [], color="black", label="mean |IG| per 100 ms frame"),
    ]
    if signed is not None:
        legend.insert(1, Patch(color="tab:red", alpha=0.6, label="|IG| per sample, 10 ms mean"))
    if tau_iou is not None:
        legend.append(
            Line2D(
                [], [], color="black", linestyle=":", label=f"IG threshold at τ*_IoU = {tau_iou}"
            )
        )
    if len(axes) > 1:
        axes[1].legend(handles=legend, loc="upper right", fontsize="small", framealpha=0.9)
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(0, CLIP_SECONDS)
    fig.tight_layout()
    return fig


def _tau_of(tau_star: dict[str, Any], method: str, metric: str) -> int | None:
    value = tau_star.get("methods", {}).get(method, {}).get(metric, {}).get("tau")
    return None if value is None else int(value)


def _figure3(sweeps: dict[str, pd.DataFrame], tau_star: dict[str, Any]) -> Figure:
    fig = Figure(figsize=(11, 4.2))
    axes = fig.subplots(1, len(sweeps), sharey=True, squeeze=False)[0]
    for ax, (split, frame) in zip(axes, sweeps.items(), strict=True):
        for method in CURVE_METHODS:
            rows = frame[frame["method"] == method].sort_values("tau")
            if rows.empty:
                continue
            color = METHOD_COLORS[method]
            taus = rows["tau"].to_numpy(dtype=float)
            for metric, style in (("iou", "-"), ("f1", "--")):
                values = pd.to_numeric(rows[metric], errors="coerce").to_numpy(dtype=float)
                ax.plot(taus, values, linestyle=style, color=color)
                tau = _tau_of(tau_star, method, metric)
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
    handles = [
        Line2D([], [], color=METHOD_COLORS[m], label=METHOD_LABELS[m]) for m in CURVE_METHODS
    ]
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
    axes[-1].legend(handles=handles, loc="best", fontsize="small")
    fig.suptitle("Threshold sensitivity: IoU (solid) and frame F1 (dashed) vs percentile τ")
    fig.tight_layout()
    return fig


def _per_class_figure(table3: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(12, 4.8))
    ax = fig.add_subplot()
    width = 0.8 / len(CURVE_METHODS)
    positions = np.arange(len(table3))
    values = {
        method: pd.to_numeric(table3[f"{method}_iou"], errors="coerce").to_numpy(dtype=float)
        for method in CURVE_METHODS
    }
    no_instance = ~np.any([np.isfinite(v) for v in values.values()], axis=0)
    for offset, method in enumerate(CURVE_METHODS):
        x = positions - 0.4 + width * (offset + 0.5)
        finite = np.isfinite(values[method])
        ax.bar(
            x[finite],
            values[method][finite],
            width,
            color=METHOD_COLORS[method],
            label=METHOD_LABELS[method],
        )
        for xi in x[~finite & ~no_instance]:
            ax.text(xi, 0.01, "n/a", rotation=90, ha="center", va="bottom", fontsize="x-small")
    for xi in positions[no_instance]:
        ax.text(xi, 0.02, "no instance", rotation=90, ha="center", va="bottom", fontsize="small")
    counts = table3["ig_n"].astype(int).to_list()
    ax.set_xticks(positions)
    ax.set_xticklabels(
        [
            f"{name.replace('_', ' ')}\n(n={n})"
            for name, n in zip(table3["class"], counts, strict=True)
        ],
        rotation=30,
        ha="right",
        fontsize="small",
    )
    ax.set_xlim(-0.6, len(table3) - 0.4)
    ax.set_ylabel("test IoU at τ* for IoU")
    ax.set_ylim(0, 1.05)
    ax.set_title("Per-class temporal detection IoU (test set; n = IG instances)")
    ax.legend(loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def figures(
    test_shards: list[Path],
    manifest_path: Path,
    events_path: Path,
    sweep_val_csv: Path,
    sweep_test_csv: Path,
    tau_star_json: Path,
    table3_csv: Path,
    out_dir: Path,
    *,
    figure_clip: str | None = None,
    shards_made_with: ShardExpectation | None = None,
) -> None:
    """Write fig2_attribution, fig3_threshold and per_class_iou (.png and .svg) into out_dir.

    Fig. 2 shows `figure_clip`, or else the first test clip with the most to show: at least two
    attributed classes, signed IG kept in its shard, two of them present in the ground truth.
    With `shards_made_with`, first refuses shards made with other models or settings.
    """
    out_dir = Path(out_dir)
    if shards_made_with is not None:
        require_current_shards(test_shards, shards_made_with)
    tau_star = read_json(tau_star_json)
    chosen = _pick_clip([Path(p) for p in test_shards], figure_clip)
    if chosen is not None:
        logger.info("Fig. 2 shows clip %s (from %s)", chosen.clip.clip_id, chosen.shard)
        if len(chosen.clip.attributed_classes) < 2:
            logger.warning(
                "Fig. 2 clip %s has fewer than two attributed classes", chosen.clip.clip_id
            )
    figures = {
        "fig2_attribution": _figure2(
            chosen, Path(manifest_path), Path(events_path), _tau_of(tau_star, "ig", "iou")
        ),
        "fig3_threshold": _figure3(
            {"val": pd.read_csv(sweep_val_csv), "test": pd.read_csv(sweep_test_csv)}, tau_star
        ),
        "per_class_iou": _per_class_figure(pd.read_csv(table3_csv)),
    }
    for name, fig in figures.items():
        _save(fig, out_dir, name)
    logger.info("wrote %d figures to %s", len(figures), out_dir)
