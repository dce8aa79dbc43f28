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


def method_colors(methods: Sequence[str]) -> dict[str, Any]:
    """One colour per method, in the given (table) order."""
    palette = matplotlib.colormaps["tab20" if len(methods) > 10 else "tab10"]
    return {method: palette(i % palette.N) for i, method in enumerate(methods)}


def empty_figure(message: str) -> Figure:
    """A figure that says why there is nothing to draw (the rule's outputs must exist)."""
    fig = Figure(figsize=(10, 2.5))
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    return fig


def save_figure(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    """`name`.png and `name`.svg in `out_dir`, each written atomically."""
    FigureCanvasAgg(fig)
    written = []
    with matplotlib.rc_context({"svg.hashsalt": "igsed", "svg.fonttype": "path"}):
        for fmt, kwargs in (("png", {"dpi": 150}), ("svg", {"metadata": {"Date": None}})):
            target = Path(out_dir) / f"{name}.{fmt}"
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=fmt, bbox_inches="tight", **kwargs)
            written.append(target)
    return written
