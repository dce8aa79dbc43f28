"""Rule statistics on a small, unbalanced test set written by hand: the resampling that
config chooses reaches intervals.csv, and only the wild one stays centred on the point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from igsed.core.constants import CLASSES
from igsed.core.statistics import (
    BootstrapSettings,
    InstanceValues,
    bootstrap_macro,
    clip_draws,
)
from igsed.evaluation.statistics import StatisticsJob, statistics
from igsed.formats.intervals import (
    INSTANCE_METRICS,
    ROBUSTNESS_METRICS,
    read_differences,
    read_intervals,
)
from igsed.formats.manifest import write_manifest
from igsed.formats.sanity import (
    AGREEMENT_COLUMNS,
    ROBUSTNESS_COLUMNS,
    write_agreement,
    write_robustness,
)
from igsed.formats.tables import write_csv

N_CLIPS = 24


def _instances() -> pd.DataFrame:
    """IG and energy on 24 clips: Cat (0.8 to 0.5) on every clip, Dog (0.6 to 0.3) on every
    other, and one instance each of Alarm_bell_ringing (IG 0.0) and Blender (IG 0.1), as a
    real annotated set gives; energy 0.1 below IG everywhere."""
    rng = np.random.default_rng(3)
    rows = []
    for j in range(N_CLIPS):
        pairs = [("Cat", 0.65 + 0.15 * rng.uniform(-1, 1))]
        if j % 2 == 0:
            pairs.append(("Dog", 0.45 + 0.15 * rng.uniform(-1, 1)))
        pairs += [(CLASSES[0], 0.0)] * (j == 3) + [(CLASSES[1], 0.1)] * (j == 10)
        for name, value in pairs:
            for method, shift in (("ig", 0.0), ("energy", -0.1)):
                row = {"clip_id": f"t{j:02d}", "class": name, "method": method, "present": True}
                row |= {"tau_iou": 90, "tau_f1": 90}
                rows.append(row | {metric: value + shift for metric in INSTANCE_METRICS})
    return pd.DataFrame(rows)


def _run(tmp_path: Path, resampling: str) -> pd.DataFrame:
    frame = _instances()
    write_csv(frame, tmp_path / "instances_test.csv")
    clips = [f"t{j:02d}" for j in range(N_CLIPS)]
    manifest = {"clip_id": clips, "split": ["test"] * N_CLIPS, "audio_path": clips}
    manifest |= {"jams_path": clips, "n_events": [1] * N_CLIPS, "polyphony": [1] * N_CLIPS}
    write_manifest(pd.DataFrame(manifest), tmp_path / "m.tsv")
    out = tmp_path / resampling
    out.mkdir()
    job = StatisticsJob(
        tmp_path / "instances_test.csv",
        tmp_path / "m.tsv",
        {},
        out / "intervals.csv",
        out / "differences.csv",
    )
    statistics(job, BootstrapSettings(n_resamples=2000, seed=1, resampling=resampling))
    return read_intervals(out / "intervals.csv").set_index(["method", "metric"])


def test_the_configured_resampling_reaches_the_intervals(tmp_path: Path) -> None:
    frame = _instances()
    ig = frame[frame["method"] == "ig"]
    means = ig.groupby("class")["iou"].mean()
    clips_table, wild_table = _run(tmp_path, "clips"), _run(tmp_path, "wild")
    for table in (clips_table, wild_table):
        assert table.loc[("ig", "iou"), "value"] == pytest.approx(means.mean(), abs=1e-6)
        assert table.loc[("ig", "iou"), "n"] == len(ig)
    # "clips" is the old computation, draws and all.
    clips = sorted(ig["clip_id"].unique())
    classes = np.array([CLASSES.index(c) for c in ig["class"]])
    old = bootstrap_macro(
        InstanceValues(ig["iou"].to_numpy(), ig["clip_id"].tolist(), classes),
        clips,
        clip_draws(clips, BootstrapSettings(n_resamples=2000, seed=1)),
        0.95,
        len(CLASSES),
    )
    # intervals.csv holds six decimals.
    clips_row = clips_table.loc[("ig", "iou")]
    assert (clips_row["ci_low"], clips_row["ci_high"]) == pytest.approx(
        (old.low, old.high), abs=1e-6
    )
    # Resamples that lose the two low singletons lift the old interval above its point;
    # the wild one keeps all four classes and is centred on it.
    point = means.mean()
    assert (clips_row["ci_low"] + clips_row["ci_high"]) / 2 - point > 0.04
    wild_row = wild_table.loc[("ig", "iou")]
    assert wild_row["ci_low"] < point < wild_row["ci_high"]
    assert abs((wild_row["ci_low"] + wild_row["ci_high"]) / 2 - point) < 0.02


def test_robustness_and_agreement_tables_get_intervals_and_differences(tmp_path: Path) -> None:
    """Only the methods with a robustness or agreement table (the sanity subset) get their
    metrics; the point value is the macro mean of the subset, and each is compared with IG,
    paired, except the heads' spread, which is the same for every method."""
    write_csv(_instances(), tmp_path / "instances_test.csv")
    clips = [f"t{j:02d}" for j in range(N_CLIPS)]
    manifest = {"clip_id": clips, "split": ["test"] * N_CLIPS, "audio_path": clips}
    manifest |= {"jams_path": clips, "n_events": [1] * N_CLIPS, "polyphony": [1] * N_CLIPS}
    write_manifest(pd.DataFrame(manifest), tmp_path / "m.tsv")
    subset = [("t00", "Cat", 0.2), ("t01", "Cat", 0.4), ("t02", "Dog", 0.9)]
    tables, agreement = {}, {}
    for method, shift in (("ig", 0.0), ("saliency", 0.05)):
        rows = [(c, name, "Frying", rho + shift, 2 * rho) for c, name, rho in subset]
        tables[method] = tmp_path / f"{method}_robustness.csv"
        write_robustness(tables[method], pd.DataFrame(rows, columns=list(ROBUSTNESS_COLUMNS)))
        rows = [(c, name, rho - shift, rho / 10) for c, name, rho in subset]
        agreement[method] = tmp_path / f"{method}_agreement.csv"
        write_agreement(agreement[method], pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS)))
    frame = _instances()
    extra = frame[frame["method"] == "ig"].assign(method="saliency")
    write_csv(pd.concat([frame, extra]), tmp_path / "instances_test.csv")
    job = StatisticsJob(
        tmp_path / "instances_test.csv",
        tmp_path / "m.tsv",
        {},
        tmp_path / "intervals.csv",
        tmp_path / "differences.csv",
        robustness=tables,
        agreement=agreement,
    )
    statistics(job, BootstrapSettings(n_resamples=500, seed=1))
    intervals = read_intervals(tmp_path / "intervals.csv").set_index(["method", "metric"])
    # Macro mean: Cat (0.2 + 0.4) / 2 and Dog 0.9, averaged over the two classes.
    assert intervals.loc[("ig", "random_logit"), "value"] == pytest.approx(0.6, abs=1e-6)
    assert intervals.loc[("ig", "max_sensitivity"), "value"] == pytest.approx(1.2, abs=1e-6)
    assert intervals.loc[("ig", "random_logit"), "n"] == 3
    assert ("energy", "random_logit") not in intervals.index
    differences = read_differences(tmp_path / "differences.csv")
    row = differences[
        (differences["method"] == "saliency") & (differences["metric"] == "random_logit")
    ]
    assert row["reference"].tolist() == ["ig"]
    assert row["difference"].item() == pytest.approx(0.05, abs=1e-6)
    assert not (
        differences["metric"].isin(ROBUSTNESS_METRICS) & (differences["method"] == "energy")
    ).any()
    # Seed agreement: Cat (0.2 + 0.4) / 2 and Dog 0.9 again; the spread a tenth of it.
    assert intervals.loc[("ig", "seed_agreement"), "value"] == pytest.approx(0.6, abs=1e-6)
    for method in ("ig", "saliency"):
        assert intervals.loc[(method, "head_spread"), "value"] == pytest.approx(0.06, abs=1e-6)
    agree = differences[differences["metric"] == "seed_agreement"]
    assert agree["method"].tolist() == ["saliency"]
    assert agree["difference"].item() == pytest.approx(-0.05, abs=1e-6)
    assert "head_spread" not in set(differences["metric"])
