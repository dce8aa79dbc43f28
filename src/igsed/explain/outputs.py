"""What `igsed explain` writes per file: frame scores, events, a figure (each atomically).

- scores: sed_scores_eval's layout (`sed_scores_eval.io.read_sed_scores` reads it): a TSV
  with columns onset, offset, then one column per explained class; one row per 100 ms
  frame; each row's offset is the next row's onset, the last offset is the file's end.
- events: a TSV with columns onset, offset, event_label (the DCASE event list of one file).
- figure: the waveform, then one panel per class and method (Fig. 2 of the report, in rows).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from igsed.core.annotations import Event
from igsed.core.atomic import atomic_path
from igsed.core.constants import CLIP_SECONDS, SAMPLE_RATE
from igsed.core.methods import method_label
from igsed.explain.audio import Audio
from igsed.explain.detection import window_contexts
from igsed.formats.figures import class_color, save_figure

EVENT_COLUMNS: tuple[str, ...] = ("onset", "offset", "event_label")
_WAVEFORM_BINS = 2000
_MAX_FIGURE_INCHES = 30.0


class OutDirError(ValueError):
    """An output folder that cannot hold the outputs (a usage error, found before any work)."""


def require_writable_dir(out_dir: Path) -> None:
    """Raise OutDirError unless `out_dir` is, or can be created as, a writable folder.

    Creates nothing: a probe file is written into the folder, or into its nearest existing
    ancestor when the folder is still to be made, and removed again.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutDirError(f"--out {out_dir} is a file, not a folder")
    existing = out_dir
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutDirError(f"--out {out_dir}: {existing} is a file, so no folder can be made there")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        where = "" if existing == out_dir else f" (in {existing}, where it would be made)"
        raise OutDirError(
            f"--out {out_dir}: cannot write there{where}: {error.strerror or error}"
        ) from error


def write_scores(
    path: Path, frame_times: np.ndarray, scores: np.ndarray, classes: Sequence[str]
) -> None:
    """(k, n_frames) frame scores of `classes` as a sed_scores_eval scores file."""
    scores = np.asarray(scores, dtype=np.float64)
    frame = pd.DataFrame(
        {"onset": frame_times[:-1], "offset": frame_times[1:]}
        | {name: scores[row] for row, name in enumerate(classes)}
    )
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False)


def write_events(path: Path, events: Sequence[Event]) -> None:
    """onset, offset, event_label per event (header only when nothing was detected)."""
    frame = pd.DataFrame(
        [(e.onset, e.offset, e.label) for e in events], columns=list(EVENT_COLUMNS)
    )
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False)


def _waveform_panel(ax: Axes, audio: Audio, title: str) -> None:
    samples = audio.samples
    bins = min(_WAVEFORM_BINS, samples.shape[0])
    usable = samples[: (samples.shape[0] // bins) * bins].reshape(bins, -1)
    times = (np.arange(bins) + 0.5) * usable.shape[1] / SAMPLE_RATE
    ax.fill_between(times, usable.min(axis=1), usable.max(axis=1), color="0.25", linewidth=0)
    ax.set_xlim(0, audio.duration_s)
    ax.set_ylabel("amplitude")
    ax.set_title(title)


def window_scaled(scores: np.ndarray) -> np.ndarray:
    """(n_frames,) scores min-max scaled per 10 s window over the frames its events are
    chosen against (igsed.explain.detection), so that the curve shows what τ* compares."""
    scores = np.asarray(scores, dtype=np.float64)
    scaled = np.zeros_like(scores)
    for window, context in window_contexts(scores.shape[0]):
        low, high = float(scores[context].min()), float(scores[context].max())
        scaled[window] = (scores[window] - low) / (high - low if high > low else 1.0)
    return scaled


def _score_panel(
    ax: Axes, times: np.ndarray, scores: np.ndarray, events: Sequence[Event], color: object
) -> None:
    for event in events:
        ax.axvspan(event.onset, event.offset, color=color, alpha=0.3, linewidth=0)
    ax.stairs(window_scaled(scores), times, color="black", linewidth=0.9)
    for boundary in np.arange(CLIP_SECONDS, times[-1], CLIP_SECONDS):
        ax.axvline(boundary, color="0.5", linestyle=":", linewidth=0.8)
    ax.set_xlim(0, times[-1])
    ax.set_ylim(0, 1.05)
    ax.set_yticks([])


def _figure_size(duration_s: float, n_rows: int) -> tuple[float, float]:
    width = min(max(10.0, duration_s), _MAX_FIGURE_INCHES)  # an inch per second
    return width, 1.9 + 0.8 * n_rows


def _legend(fig: Figure, duration_s: float) -> None:
    handles = [
        Line2D([], [], color="black", label="frame scores (min-max per 10 s window)"),
        Patch(color="0.5", alpha=0.4, label="events at the method's τ* (per 10 s window)"),
    ]
    if duration_s > CLIP_SECONDS:
        handles.append(Line2D([], [], color="0.5", linestyle=":", label="10 s window boundaries"))
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=len(handles),
        fontsize="small",
        bbox_to_anchor=(0.5, -0.01),
    )


def explain_figure(
    audio: Audio,
    frame_times: np.ndarray,
    scores: Mapping[str, np.ndarray],
    events: Mapping[str, Sequence[Event]],
    classes: Sequence[str],
) -> Figure:
    """The waveform on top, then a panel per class and method on the same time axis.

    Fig. 2 of the report puts classes in columns; a file can be long and have ten
    classes, so here every panel spans the width and the rows go class by class.
    """
    methods = list(scores)
    panels = [(name, method) for name in classes for method in methods]
    fig = Figure(figsize=_figure_size(audio.duration_s, len(panels)))
    grid = fig.add_gridspec(len(panels) + 1, 1, height_ratios=[2] + [1] * len(panels))
    title = f"{audio.path.name}: waveform" + ("" if classes else "; no class explained")
    top = fig.add_subplot(grid[0])
    _waveform_panel(top, audio, title)
    for row, (name, method) in enumerate(panels, start=1):
        ax = fig.add_subplot(grid[row], sharex=top)
        row_scores = scores[method][classes.index(name)]
        kept = [e for e in events[method] if e.label == name]
        _score_panel(ax, frame_times, row_scores, kept, class_color(name))
        label = name if len(methods) == 1 else f"{name}\n{method_label(method)}"
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize="small")
    for ax in fig.axes[:-1]:
        ax.tick_params(labelbottom=False)
    fig.axes[-1].set_xlabel("time (s)")
    if panels:
        _legend(fig, audio.duration_s)
    fig.tight_layout(rect=(0, 0.04 if panels else 0, 1, 1))
    return fig


def write_figure(path: Path, fig: Figure) -> None:
    """`fig` as a PNG at `path` (the report's figures' resolution), written atomically."""
    save_figure(fig, path.parent, path.name.removesuffix(".png"), formats=("png",))
