"""What every figure of the report shares: method colours, the empty figure, saving.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display), saved as PNG
and SVG. SVG ids use a fixed hash salt and no date, so the same inputs give the same files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from igsed.core.atomic import atomic_path
from igsed.core.constants import CLASS_INDEX


def method_colors(methods: Sequence[str]) -> dict[str, Any]:
    """One colour per method, in the given (table) order."""
    palette = matplotlib.colormaps["tab20" if len(methods) > 10 else "tab10"]
    return {method: palette(i % palette.N) for i, method in enumerate(methods)}


def class_color(class_name: str) -> tuple[float, float, float, float]:
    """One colour per sound class, the same in every figure."""
    return matplotlib.colormaps["tab10"](CLASS_INDEX[class_name] % 10)


def empty_figure(message: str) -> Figure:
    """A figure that says why there is nothing to draw (the rule's outputs must exist)."""
    fig = Figure(figsize=(10, 2.5))
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    return fig


_SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "png": {"dpi": 150},
    "svg": {"metadata": {"Date": None}},
}


def save_figure(
    fig: Figure, out_dir: Path, name: str, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """`name`.png and `name`.svg (or `formats`) in `out_dir`, each written atomically."""
    FigureCanvasAgg(fig)
    written = []
    with matplotlib.rc_context({"svg.hashsalt": "igsed", "svg.fonttype": "path"}):
        for fmt in formats:
            kwargs = _SAVE_OPTIONS[fmt]
            target = Path(out_dir) / f"{name}.{fmt}"
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=fmt, bbox_inches="tight", **kwargs)
            written.append(target)
    return written
