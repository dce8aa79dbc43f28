"""Two models' hand-built outputs on main (cnn14, crnn), written with the real writers.

The figures are chosen so the models rank the methods differently: on IoU Grad-CAM beats IG
on cnn14 but not on crnn, and the top three by point value differ; on PSDS1 Grad-CAM's
paired difference from IG excludes 0 on cnn14 only; on deletion MoRF the two agree. Each model skips
the methods igsed.core.model_kinds.skip_reason says it cannot run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from igsed.core.methods import METHOD_INFO
from igsed.core.model_kinds import skip_reason
from igsed.evaluation.models import ModelResults
from igsed.formats.intervals import (
    FAITHFULNESS_METRICS,
    INSTANCE_METRICS,
    write_differences,
    write_intervals,
)
from igsed.formats.sanity import CASCADE_LAYERS, write_sanity
from igsed.formats.sed_view import SED_VIEW_METRICS, write_sed_view, write_sed_view_differences

METHODS: tuple[str, ...] = (
    "ig",
    "gradcam",
    "fw_weak",
    "fw_strong",
    "model_frames",
    "energy",
    "random",
)
Figure = tuple[float, float, float]
# model -> method -> metric -> (value, ci_low, ci_high); the other metrics get defaults.
INTERVALS: dict[str, dict[str, dict[str, Figure]]] = {
    "cnn14": {
        "ig": {"iou": (0.50, 0.45, 0.55), "auroc": (0.80, 0.76, 0.84),
               "deletion_morf": (0.30, 0.27, 0.33)},
        "gradcam": {"iou": (0.56, 0.50, 0.62), "auroc": (0.78, 0.74, 0.82),
                    "deletion_morf": (0.25, 0.21, 0.29)},
        "fw_weak": {"iou": (0.60, 0.55, 0.65), "auroc": (0.90, 0.87, 0.93)},
        "fw_strong": {"iou": (0.58, 0.52, 0.64), "auroc": (0.88, 0.85, 0.91)},
        "energy": {"iou": (0.30, 0.25, 0.35), "auroc": (0.50, 0.50, 0.50),
                   "deletion_morf": (0.45, 0.41, 0.49)},
        "random": {"iou": (0.20, 0.15, 0.25), "auroc": (0.50, 0.47, 0.53),
                   "deletion_morf": (0.50, 0.46, 0.54)},
    },
    "crnn": {
        "ig": {"iou": (0.40, 0.35, 0.45), "auroc": (0.78, 0.74, 0.82),
               "deletion_morf": (0.35, 0.31, 0.39)},
        "gradcam": {"iou": (0.39, 0.33, 0.45), "auroc": (0.70, 0.65, 0.75),
                    "deletion_morf": (0.33, 0.29, 0.37)},
        "model_frames": {"iou": (0.55, 0.50, 0.60), "auroc": (0.88, 0.85, 0.91)},
        "energy": {"iou": (0.25, 0.20, 0.30), "auroc": (0.50, 0.50, 0.50),
                   "deletion_morf": (0.45, 0.40, 0.50)},
        "random": {"iou": (0.18, 0.13, 0.23), "auroc": (0.49, 0.46, 0.52),
                   "deletion_morf": (0.52, 0.47, 0.57)},
    },
}  # fmt: skip
# model -> (method, reference, metric, difference, ci_low, ci_high): the paired differences.
DIFFERENCES: dict[str, list[tuple[str, str, str, float, float, float]]] = {
    "cnn14": [
        ("gradcam", "ig", "iou", 0.06, 0.02, 0.09),
        ("fw_weak", "ig", "iou", 0.10, 0.05, 0.15),
        ("fw_strong", "ig", "iou", 0.08, -0.01, 0.16),
        ("energy", "ig", "iou", -0.20, -0.25, -0.15),
        ("random", "ig", "iou", -0.30, -0.35, -0.25),
        ("ig", "energy", "iou", 0.20, 0.15, 0.25),
        ("gradcam", "energy", "iou", 0.26, 0.20, 0.31),
        ("fw_weak", "energy", "iou", 0.30, 0.24, 0.36),
        ("fw_strong", "energy", "iou", 0.28, 0.21, 0.35),
        ("random", "energy", "iou", -0.10, -0.14, -0.06),
        ("gradcam", "ig", "auroc", -0.02, -0.05, 0.01),
        ("fw_weak", "ig", "auroc", 0.10, 0.06, 0.14),
        ("ig", "random", "auroc", 0.30, 0.26, 0.34),
        ("gradcam", "random", "auroc", 0.28, 0.23, 0.33),
        ("gradcam", "ig", "deletion_morf", -0.05, -0.10, 0.01),
        ("ig", "energy", "deletion_morf", -0.15, -0.20, -0.10),
        ("gradcam", "energy", "deletion_morf", -0.20, -0.26, -0.14),
        ("random", "energy", "deletion_morf", 0.05, -0.01, 0.11),
    ],
    "crnn": [
        ("gradcam", "ig", "iou", -0.01, -0.04, 0.02),
        ("model_frames", "ig", "iou", 0.15, 0.10, 0.20),
        ("energy", "ig", "iou", -0.15, -0.20, -0.10),
        ("ig", "energy", "iou", 0.15, 0.10, 0.20),
        ("gradcam", "energy", "iou", 0.14, 0.08, 0.20),
        ("model_frames", "energy", "iou", 0.30, 0.25, 0.35),
        ("gradcam", "ig", "auroc", -0.08, -0.12, -0.04),
        ("model_frames", "ig", "auroc", 0.10, 0.06, 0.14),
        ("ig", "energy", "auroc", 0.28, 0.24, 0.32),
        ("gradcam", "energy", "auroc", 0.20, 0.15, 0.25),
        ("gradcam", "ig", "deletion_morf", -0.02, -0.05, 0.01),
        ("ig", "energy", "deletion_morf", -0.10, -0.15, -0.05),
        ("gradcam", "energy", "deletion_morf", -0.12, -0.18, -0.06),
        ("random", "energy", "deletion_morf", 0.07, -0.02, 0.16),
    ],
}
PSDS1: dict[str, dict[str, Figure]] = {
    "cnn14": {
        "ig": (0.30, 0.25, 0.35),
        "gradcam": (0.40, 0.36, 0.44),
        "fw_weak": (0.50, 0.45, 0.55),
        "fw_strong": (0.45, 0.40, 0.50),
        "energy": (0.10, 0.05, 0.15),
        "random": (0.05, 0.02, 0.08),
    },
    "crnn": {
        "ig": (0.32, 0.27, 0.37),
        "gradcam": (0.35, 0.30, 0.40),
        "model_frames": (0.60, 0.55, 0.65),
        "energy": (0.12, 0.08, 0.16),
        "random": (0.06, 0.03, 0.09),
    },
}
# cnn14's sanity checks at full randomisation: one correlation per (clip, class) instance.
SANITY_END: dict[str, list[float]] = {
    "ig": [0.05, 0.10, -0.20, 0.30, 0.00, 0.12],
    "gradcam": [0.70, 0.60, 0.90, 0.80, 0.75, np.nan],
}
SANITY_INSTANCES: list[tuple[str, str]] = [
    ("test_000", "Dog"),
    ("test_000", "Cat"),
    ("test_001", "Speech"),
    ("test_002", "Dog"),
    ("test_003", "Frying"),
    ("test_004", "Cat"),
]
N_INSTANCES = 40
N_CLIPS = 50


def skipped(model: str) -> dict[str, str]:
    """The methods of METHODS that `model` (named after its kind) cannot run, with why."""
    reasons = {m: skip_reason(METHOD_INFO[m], {"kind": model}) for m in METHODS}
    return {m: reason for m, reason in reasons.items() if reason is not None}


def interval_rows(model: str) -> list[dict[str, object]]:
    rows = []
    for method, figures in INTERVALS[model].items():
        metrics = [*INSTANCE_METRICS]
        if "deletion_morf" in figures:
            metrics += FAITHFULNESS_METRICS
        for metric in metrics:
            value, low, high = figures.get(metric, (0.5, 0.4, 0.6))
            rows.append(
                {
                    "method": method,
                    "metric": metric,
                    "value": value,
                    "ci_low": low,
                    "ci_high": high,
                    "n": N_INSTANCES,
                }
            )
    return rows


# The half-width of every PSDS1 paired difference's interval.
PSDS1_HALF_WIDTH = 0.05


def _psds1_differences(model: str) -> pd.DataFrame:
    """Each method minus IG and minus the energy baseline (the best on PSDS1 on both models),
    within PSDS1_HALF_WIDTH of the difference."""
    figures = PSDS1[model]
    rows = []
    for method, (value, _, _) in figures.items():
        for reference in ("ig", "energy"):
            if reference == method:
                continue
            difference = value - figures[reference][0]
            low, high = difference - PSDS1_HALF_WIDTH, difference + PSDS1_HALF_WIDTH
            rows.append(
                {
                    "method": method,
                    "reference": reference,
                    "metric": "psds1",
                    "difference": difference,
                    "ci_low": low,
                    "ci_high": high,
                    "n": N_CLIPS,
                    "excludes_zero": low > 0 or high < 0,
                }
            )
    return pd.DataFrame(rows)


def _sed_rows(model: str) -> list[dict[str, object]]:
    rows = []
    for method, figure in PSDS1[model].items():
        for metric in SED_VIEW_METRICS:
            value, low, high = figure if metric == "psds1" else (0.7, 0.6, 0.8)
            rows.append(
                {
                    "method": method,
                    "metric": metric,
                    "value": value,
                    "ci_low": low,
                    "ci_high": high,
                    "n": N_CLIPS,
                }
            )
    return rows


def _sanity_rows(end: list[float]) -> pd.DataFrame:
    rows = []
    for level, layer in enumerate(CASCADE_LAYERS, start=1):
        for (clip_id, name), last in zip(SANITY_INSTANCES, end, strict=True):
            share = level / len(CASCADE_LAYERS)
            rows.append(
                {
                    "level": level,
                    "layer": layer,
                    "clip_id": clip_id,
                    "class": name,
                    "spearman": 1.0 + (last - 1.0) * share,
                }
            )
    return pd.DataFrame(rows)


def write_model(root: Path, model: str) -> ModelResults:
    """One model's intervals, differences, SED view (and cnn14's sanity) under root/model."""
    folder = root / model / "evaluation"
    write_intervals(pd.DataFrame(interval_rows(model)), folder / "intervals.csv")
    differences = pd.DataFrame(
        [
            {
                "method": method,
                "reference": reference,
                "metric": metric,
                "difference": difference,
                "ci_low": low,
                "ci_high": high,
                "n": N_INSTANCES,
                "excludes_zero": low > 0 or high < 0,
            }
            for method, reference, metric, difference, low, high in DIFFERENCES[model]
        ]
    )
    write_differences(differences, folder / "differences.csv")
    write_sed_view(pd.DataFrame(_sed_rows(model)), folder / "sed_view.csv")
    write_sed_view_differences(_psds1_differences(model), folder / "sed_view_differences.csv")
    sanity = {}
    if model == "cnn14":
        for method, end in SANITY_END.items():
            sanity[method] = root / model / "sanity" / f"{method}.csv"
            write_sanity(sanity[method], _sanity_rows(end))
    return ModelResults(
        intervals_csv=folder / "intervals.csv",
        differences_csv=folder / "differences.csv",
        sed_view_csv=folder / "sed_view.csv",
        sed_view_differences_csv=folder / "sed_view_differences.csv",
        sanity=sanity,
        skipped=skipped(model),
    )


def write_models(root: Path) -> dict[str, ModelResults]:
    return {model: write_model(root, model) for model in ("cnn14", "crnn")}
