"""The sanity readers of the report and the figures on a cascade other than CNN14's: the
CRNN's six levels, labelled by the layer names the files hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.user_models import CRNN_CASCADE

from igsed.core.statistics import BootstrapSettings
from igsed.evaluation.benchmark_figures import _sanity
from igsed.evaluation.report import _sanity_section
from igsed.evaluation.summaries import flagged_methods, sanity_intervals, sanity_quartiles
from igsed.formats.sanity import SANITY_COLUMNS, write_sanity

INSTANCES = [("test_00000", "Dog"), ("test_00000", "Cat"), ("test_00001", "Dog")]
# Per method: the correlation of instance i at level k (None: undefined, a NaN cell).
CORRELATIONS = {
    "saliency": lambda k, i: 0.9 - 0.05 * k + 0.01 * i,  # stays above 0.5: flagged
    "gradcam": lambda k, i: None if (k, i) == (6, 2) else 0.9 - 0.15 * k - 0.1 * i,
}


def _value(method: str, level: int, index: int) -> float:
    value = CORRELATIONS[method](level, index)
    return np.nan if value is None else value


@pytest.fixture(scope="module")
def sanity(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sanity")
    paths = {}
    for method in CORRELATIONS:
        rows = [
            (level, layer, clip_id, name, _value(method, level, index))
            for level, layer in enumerate(CRNN_CASCADE, start=1)
            for index, (clip_id, name) in enumerate(INSTANCES)
        ]
        paths[method] = root / f"{method}.csv"
        write_sanity(paths[method], pd.DataFrame(rows, columns=list(SANITY_COLUMNS)))
    return paths


def _defined(method: str, level: int) -> np.ndarray:
    values = np.array([_value(method, level, i) for i in range(len(INSTANCES))])
    return values[np.isfinite(values)]


def test_quartiles_and_intervals_follow_the_files_cascade(sanity: dict[str, Path]) -> None:
    quartiles = sanity_quartiles(sanity)
    intervals = sanity_intervals(sanity, BootstrapSettings(n_resamples=50))
    for frame in (quartiles, intervals):
        for method in CORRELATIONS:
            rows = frame[frame["method"] == method].sort_values("level")
            assert rows["level"].tolist() == list(range(1, 7))
            assert tuple(rows["layer"]) == CRNN_CASCADE
            expected = [np.median(_defined(method, level)) for level in range(1, 7)]
            np.testing.assert_allclose(rows["median"], expected, atol=1e-6)
    gradcam = quartiles[(quartiles["method"] == "gradcam") & (quartiles["level"] == 6)]
    assert gradcam["n"].item() == 2
    q25, q75 = np.percentile(_defined("gradcam", 6), [25, 75])
    assert gradcam["q25"].item() == pytest.approx(q25, abs=1e-6)
    assert gradcam["q75"].item() == pytest.approx(q75, abs=1e-6)
    # Flagged at the cascade's deepest level, 6: saliency's median 0.61, Grad-CAM's -0.05.
    assert flagged_methods(intervals, 0.5) == ["saliency"]


def test_the_report_section_lists_the_six_levels(sanity: dict[str, Path]) -> None:
    config = {"metrics": {"bootstrap": {"n_resamples": 50}}, "sanity": {"flag_correlation": 0.5}}
    section = _sanity_section(sanity, config)
    labels = [f"{level}: {layer}" for level, layer in enumerate(CRNN_CASCADE, start=1)]
    cells = [line.split("|") for line in section.splitlines() if line.startswith("|")]
    rows = [line for line in cells if line[1].strip()[:1].isdigit()]  # not header, rule
    assert [row[1].strip() for row in rows] == labels
    assert rows[-1][3].strip().endswith("(2/3 defined)")  # Grad-CAM, the second method
    assert "**Flagged** (median correlation above 0.5 with every layer randomised): Saliency" in (
        section
    )


def test_the_figure_labels_the_levels_with_the_files_layers(sanity: dict[str, Path]) -> None:
    figure = _sanity(sanity_quartiles(sanity), list(CORRELATIONS), 0.5)
    axis = figure.axes[0]
    labels = [label.get_text() for label in axis.get_xticklabels()]
    assert labels == ["trained", *(f"+{layer}" for layer in CRNN_CASCADE)]
    assert list(axis.get_xticks()) == list(range(7))
