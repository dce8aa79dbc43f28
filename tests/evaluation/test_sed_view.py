"""sed_view(): each method's test scores scored as a sound event detector's (sed_scores_eval).

Hand-computed figures on a two-clip toy, the score normalisation, a cross-check of
igsed.core.metrics against sed_scores_eval where their definitions coincide, the resampled
figures against sed_scores_eval's own on duplicated clips, and the rule end to end on fake
shards.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sed_scores_eval import segment_based
from support.fake_run import FAKE_METHODS, TEST_CLIPS, write_fake_run
from support.workflow import REPO

from igsed.core.annotations import Event, frame_labels
from igsed.core.checksums import file_digest
from igsed.core.constants import CLASSES, EVAL_FRAME_SECONDS, N_EVAL_FRAMES
from igsed.core.metrics import auroc, frame_f1, percentile_mask
from igsed.core.statistics import BootstrapSettings
from igsed.evaluation.scores import ShardSet
from igsed.evaluation.sed_view import (
    METRICS,
    MethodFigures,
    SedViewJob,
    SedViewSettings,
    detection_scores,
    ground_truth_events,
    method_frames,
    metric_deltas,
    package_values,
    paired_differences,
    resampled_values,
    score_frame,
    scored_classes,
    sed_view,
    sed_view_shards,
)
from igsed.formats.handover import seal
from igsed.formats.instances import Instance
from igsed.formats.sed_view import SED_VIEW_COLUMNS, read_sed_view, read_sed_view_differences
from igsed.formats.shards import ClipScores, ShardError, model_checksum, write_shard


def _plateaus(spans: dict[tuple[int, int], float]) -> np.ndarray:
    """100 frame scores: `value` on frames [start, stop), 0 elsewhere."""
    row = np.zeros(N_EVAL_FRAMES)
    for (start, stop), value in spans.items():
        row[start:stop] = value
    return row


# Toy: clip "a" holds one Dog event from 2 s to 4 s, clip "b" none.
TOY_TRUTH = {"a": [(2.0, 4.0, "Dog")], "b": []}
TOY_ROWS = {
    "a": _plateaus({(0, 20): 0.1, (20, 30): 0.9, (30, 40): 0.6, (40, 50): 0.3}),
    "b": _plateaus({(30, 40): 0.7}),
}


def _toy_deltas(settings: SedViewSettings) -> dict:
    frames = {clip: score_frame({"Dog": row}, ["Dog"]) for clip, row in TOY_ROWS.items()}
    return metric_deltas(frames, TOY_TRUTH, settings)


def test_toy_figures_by_hand() -> None:
    # Segment AUROC, 1 s segments scored by their highest frame: the Dog event covers
    # segments 2 and 3 of clip a (0.9, 0.6); the other 18 segments are negatives: a's 0.1,
    # 0.1, 0.3 and five 0s, b's 0.7 and nine 0s. 0.9 outscores all 18, 0.6 all but b's 0.7:
    # AUROC = (18 + 17) / 36.
    # Collar F1: a threshold in (0.3, 0.6] detects a's [2, 4) s (a hit: onset 0 s and offset
    # 0 s off) and b's [3, 4) s (a false positive): F1 = 2 TP / (2 TP + FP + FN) = 2 / 3.
    # Above 0.6 a's detection ends at 3 s (offset 1 s off > max(0.2, 0.2 x 2) s), below 0.3
    # at 5 s: no hit, so 2 / 3 is the best F1.
    # PSDS (max_efpr 200 per hour): only (0.3, 0.6] makes a's detection a true positive
    # (intersections 2/2 >= 0.7), with b's false positive: 1 FP in 20 s = 180 per hour. The
    # PSD-ROC is 0 up to 180 and 1 from 180 to 200 (one class: no spread): PSDS = 20 / 200.
    settings = SedViewSettings(max_efpr=200.0)
    deltas = _toy_deltas(settings)
    expected = {"psds1": 0.1, "segment_auroc": 35 / 36, "collar_f1": 2 / 3}
    assert package_values(deltas, TOY_TRUTH, settings) == pytest.approx(expected, abs=1e-12)
    own = resampled_values(deltas, TOY_TRUTH, np.ones((1, 2)), settings)
    assert {m: v[0] for m, v in own.items()} == pytest.approx(expected, abs=1e-12)


def test_toy_resamples_by_hand() -> None:
    # Clip a drawn twice: two Dog events, every negative segment below 0.6, no false
    # positive at (0.3, 0.6]: every figure is 1. Clip b drawn twice: no event, no class to
    # score: every figure is n/a.
    settings = SedViewSettings(max_efpr=200.0)
    deltas = _toy_deltas(settings)
    counts = np.array([[2.0, 0.0], [0.0, 2.0]])
    own = resampled_values(deltas, TOY_TRUTH, counts, settings)
    for metric in METRICS:
        assert own[metric][0] == pytest.approx(1.0) and math.isnan(own[metric][1])
        assert package_values(deltas, TOY_TRUTH, settings, counts[0])[metric] == pytest.approx(1)
        assert math.isnan(package_values(deltas, TOY_TRUTH, settings, counts[1])[metric])


def test_detection_scores_are_min_max_normalised_times_the_probability() -> None:
    assert detection_scores(np.array([2.0, 4.0, 6.0, 3.0]), 0.8) == pytest.approx(
        [0.0, 0.4, 0.8, 0.2]
    )
    assert detection_scores(np.array([-1.0, 1.0, 0.0]), 0.5) == pytest.approx([0.0, 0.5, 0.25])
    # Constant scores carry no timing: the whole clip at the probability.
    assert detection_scores(np.zeros(100), 0.7) == pytest.approx(np.full(100, 0.7))
    assert detection_scores(np.full(100, 0.05), 0.9) == pytest.approx(np.full(100, 0.9))


def test_score_frame_times_and_zero_for_undetected_classes() -> None:
    frame = score_frame({"Dog": np.linspace(0, 1, 100)}, ["Cat", "Dog"])
    assert list(frame.columns) == ["onset", "offset", "Cat", "Dog"]
    assert frame["onset"].iloc[[0, 1, 99]].tolist() == pytest.approx([0.0, 0.1, 9.9])
    assert frame["offset"].iloc[[0, 99]].tolist() == pytest.approx([0.1, 10.0])
    assert (frame["Cat"] == 0).all() and frame["Dog"].iloc[-1] == pytest.approx(1.0)


def test_method_frames_score_only_the_detected_instances() -> None:
    rows = np.vstack([np.arange(100.0), np.full(100, 3.0), np.arange(100.0)])
    clip = ClipScores("c", ["Cat", "Dog", "Speech"], rows)
    detections = [Instance("c", "Dog", 0.6, True), Instance("c", "Speech", 0.9, False)]
    frames = method_frames({"c": clip}, detections, ["Cat", "Dog"], "energy")
    # Cat is not detected: 0. Dog is constant: 0.6 everywhere. Speech is no scored class.
    assert list(frames["c"].columns) == ["onset", "offset", "Cat", "Dog"]
    assert (frames["c"]["Cat"] == 0).all()
    assert frames["c"]["Dog"].to_numpy() == pytest.approx(np.full(100, 0.6))
    missing = [Instance("c", "Frying", 0.9, False)]
    with pytest.raises(ValueError, match="energy: clip c: no scores for class Frying"):
        method_frames({"c": clip}, missing, ["Frying"], "energy")
    rows[0, 5] = np.nan
    with pytest.raises(ValueError, match="clip c, class Cat, method ig: .*1 non-finite"):
        method_frames({"c": clip}, [Instance("c", "Cat", 0.9, True)], ["Cat"], "ig")


def test_ground_truth_merges_one_class_and_cuts_to_the_clip() -> None:
    events = [
        Event(2.0, 4.0, "Dog"),
        Event(1.0, 3.0, "Dog"),
        Event(4.0, 5.0, "Dog"),  # touches the merged event: sed_scores_eval refuses that
        Event(9.0, 11.0, "Cat"),
        Event(6.0, 6.0, "Cat"),  # empty
    ]
    assert ground_truth_events(events) == [(9.0, 10.0, "Cat"), (1.0, 5.0, "Dog")]
    assert scored_classes([ground_truth_events(events), [(0.0, 1.0, "Alarm_bell_ringing")]]) == [
        "Alarm_bell_ringing",
        "Cat",
        "Dog",
    ]


def _one_class(scores: np.ndarray, events: list[Event]) -> tuple[dict, dict]:
    label = events[0].label
    return {"c": score_frame({label: scores}, [label])}, {"c": ground_truth_events(events)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frame_metrics_agree_with_sed_scores_eval_on_one_instance(seed: int) -> None:
    # Where the definitions coincide: one clip and one class, 100 ms segments (a segment is
    # active when an event overlaps it, as our frames). Frame F1 of a binary mask is the
    # segment-based F1 of 0/1 scores; our per-instance AUROC (ties count one half) is the
    # segment-based AUROC (trapezoids over the thresholds).
    rng = np.random.default_rng(seed)
    events = [Event(0.55, 2.05, "Dog"), Event(6.3, 7.0 + seed, "Dog")]
    truth = frame_labels(events, EVAL_FRAME_SECONDS, N_EVAL_FRAMES)[:, CLASSES.index("Dog")]
    scores = np.round(rng.random(N_EVAL_FRAMES) + 0.5 * truth, 1)  # ties on purpose
    mask = percentile_mask(scores, 70)
    frames, gt = _one_class(mask.astype(np.float64), events)
    f1 = segment_based.fscore(frames, gt, {"c": 10.0}, 0.5, segment_length=0.1)[0]["Dog"]
    assert f1 == pytest.approx(frame_f1(mask, truth), abs=1e-12)
    frames, gt = _one_class(scores, events)
    theirs = segment_based.auroc(frames, gt, {"c": 10.0}, segment_length=0.1)[0]["Dog"]
    assert theirs == pytest.approx(auroc(scores, truth), abs=1e-12)


def test_resampled_figures_are_sed_scores_eval_on_duplicated_clips() -> None:
    rng = np.random.default_rng(3)
    settings = SedViewSettings()
    truth, rows = {}, {}
    for k in range(12):
        labels = rng.choice(CLASSES[:4], size=2, replace=False)
        onsets = rng.uniform(0, 6, size=3)
        events = [
            Event(o, o + rng.uniform(0.3, 3.5), str(labels[i % 2])) for i, o in enumerate(onsets)
        ]
        truth[f"c{k}"] = ground_truth_events(events)
        # Detected: the first label (noisy scores around its events) and, in some clips, a
        # false positive class with constant scores.
        signal = frame_labels(events, EVAL_FRAME_SECONDS, N_EVAL_FRAMES)[
            :, CLASSES.index(labels[0])
        ]
        rows[f"c{k}"] = {str(labels[0]): detection_scores(signal + rng.random(100), 0.9)}
        if k % 3 == 0:
            rows[f"c{k}"][CLASSES[5]] = detection_scores(np.ones(100), 0.6)
    classes = scored_classes(truth.values())
    frames = {clip: score_frame(rows[clip], classes) for clip in truth}
    deltas = metric_deltas(frames, truth, settings)
    draws = np.vstack([np.ones(12), rng.multinomial(12, np.full(12, 1 / 12), size=5)])
    own = resampled_values(deltas, truth, draws, settings)
    for r, counts in enumerate(draws):
        theirs = package_values(deltas, truth, settings, None if r == 0 else counts)
        threshold_free = {m: v[r] for m, v in own.items() if m != "collar_f1"}
        assert threshold_free == pytest.approx(
            {m: v for m, v in theirs.items() if m != "collar_f1"}, abs=1e-12, nan_ok=True
        )
        # Collar F1 keeps the test set's best thresholds: the best F1 on the test set itself,
        # at most a resample's own best F1 elsewhere.
        if r == 0:
            assert own["collar_f1"][r] == pytest.approx(theirs["collar_f1"], abs=1e-12)
        else:
            assert own["collar_f1"][r] <= theirs["collar_f1"] + 1e-12


@pytest.fixture(scope="module")
def fake_sed_view(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    root = tmp_path_factory.mktemp("run")
    run = write_fake_run(root)
    job = SedViewJob(
        run.shards, run.instances["test"], run.manifest, run.events, root / "sv.csv", root / "d.csv"
    )
    frame = sed_view(job, SedViewSettings(), BootstrapSettings(n_resamples=300, seed=1))
    return frame, job.output


def test_end_to_end_writes_every_method_and_metric(fake_sed_view) -> None:
    frame, path = fake_sed_view
    written = read_sed_view(path)
    assert list(written.columns) == list(SED_VIEW_COLUMNS)
    assert list(zip(written["method"], written["metric"], strict=True)) == [
        (method, metric) for method in FAKE_METHODS for metric in METRICS
    ]
    assert (written["n"] == len(TEST_CLIPS)).all()
    values = written[["value", "ci_low", "ci_high"]].to_numpy()
    assert np.isfinite(values).all() and ((values >= 0) & (values <= 1)).all()
    assert (written["ci_low"] <= written["value"] + 1e-12).all()
    assert (written["value"] <= written["ci_high"] + 1e-12).all()
    assert np.allclose(frame["value"], written["value"], atol=1e-6)


def test_end_to_end_ranks_perfect_scores_above_flat_ones(fake_sed_view) -> None:
    frame, _ = fake_sed_view
    value = frame.set_index(["method", "metric"])["value"]
    # IG's fake scores are 1 on event frames and 0 elsewhere; energy's are flat, so every
    # detected class covers its whole clip.
    assert value["ig", "segment_auroc"] > value["energy", "segment_auroc"]
    assert value["ig", "collar_f1"] > value["energy", "collar_f1"]


def test_end_to_end_differences_are_paired_against_ig_and_the_best_baseline(
    fake_sed_view,
) -> None:
    frame, path = fake_sed_view
    differences = read_sed_view_differences(path.with_name("d.csv"))
    value = frame.set_index(["method", "metric"])["value"]
    for metric in METRICS:
        rows = differences[differences["metric"] == metric]
        # energy or random, whichever scores higher (either on a tie), is the baseline.
        best = max(value[m, metric] for m in ("random", "energy"))
        baselines = {m for m in ("random", "energy") if value[m, metric] == best}
        assert len(set(rows["reference"]) - {"ig"}) == 1
        for row in rows.itertuples():
            assert row.reference in {"ig", *baselines} and row.method != row.reference
            expected = value[row.method, metric] - value[row.reference, metric]
            # The CSV holds 6 decimals.
            assert row.difference == pytest.approx(expected, abs=1e-6)
            assert row.ci_low - 1e-6 <= row.difference <= row.ci_high + 1e-6
        against_ig = set(rows.loc[rows["reference"] == "ig", "method"])
        assert against_ig == set(FAKE_METHODS) - {"ig"}


def _figures(point: float, resampled: list[float]) -> MethodFigures:
    return MethodFigures({"psds1": point}, {"psds1": np.array(resampled)}, n=3)


def test_a_paired_difference_subtracts_resample_by_resample() -> None:
    figures = {
        "ig": _figures(0.5, [0.3, 0.5, 0.5]),
        "gradcam": _figures(0.6, [0.4, 0.5, 0.6]),
    }
    table = pd.DataFrame({"method": ["ig", "gradcam"], "metric": "psds1", "value": [0.5, 0.6]})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("igsed.evaluation.sed_view.METRICS", ("psds1",))
        rows = paired_differences(figures, table, level=0.95)
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["method"], row["reference"], row["metric"]) == ("gradcam", "ig", "psds1")
    # Resample by resample: 0.1, 0.0, 0.1. np.percentile's linear interpolation at 2.5 %
    # and 97.5 % of three sorted values (0, 0.1, 0.1): 0 + 0.05 x 0.1 and 0.1. Unpaired,
    # the same resamples would give other bounds.
    assert row["difference"] == pytest.approx(0.1)
    assert row["ci_low"] == pytest.approx(0.005) and row["ci_high"] == pytest.approx(0.1)
    assert bool(row["excludes_zero"]) and row["n"] == 3


def _config_settings() -> SedViewSettings:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    return SedViewSettings.from_config(config["metrics"]["sed_view"])


def test_settings_from_the_config_and_alpha_ct() -> None:
    assert _config_settings() == SedViewSettings()
    with pytest.raises(ValueError, match="alpha_ct"):
        SedViewSettings(alpha_ct=0.5)


def _current_ig_shard(tmp_path: Path, instances: Path, checksum: str) -> Path:
    path = tmp_path / "ig" / "test" / "shard.h5"
    events, _ = TEST_CLIPS["test_001"]
    clip = ClipScores("test_001", ["Speech"], frame_labels(events, 0.1, 100)[:, [8]].T * 1.0)
    write_shard(
        path,
        [clip],
        method="ig",
        split="test",
        model_checksum=checksum,
        instances_checksum=file_digest(instances),
        settings={"n_steps": 50},
    )
    return path


def test_stale_shards_are_named(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path)
    instances = run.instances["test"]
    models = {"backbone": run.manifest, "clip_head": run.events}
    current = _current_ig_shard(tmp_path, instances, checksum=model_checksum(models))
    plan = {"ig": {"val": [], "test": [current]}}
    sed_view_shards(plan, {"ig": {"n_steps": 50}}, instances, models).require_current(("test",))
    stale = run.shards.of("ig", "test")  # n_steps 8, no instances checksum
    shards = sed_view_shards({"ig": {"test": stale}}, {"ig": {"n_steps": 50}}, instances, models)
    job = SedViewJob(
        shards, instances, run.manifest, run.events, tmp_path / "sv.csv", tmp_path / "d.csv"
    )
    with pytest.raises(ShardError, match=re.escape(str(stale[0]))) as error:
        sed_view(job, SedViewSettings(), BootstrapSettings(n_resamples=10))
    assert "n_steps = 8 (configured: 50)" in str(error.value)
    assert not job.output.exists()
    other = {"backbone": run.events, "clip_head": run.manifest}
    with pytest.raises(ShardError, match="made with other model files"):
        sed_view_shards(plan, {"ig": {"n_steps": 50}}, instances, other).require_current(("test",))


def test_missing_shard_is_named(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path)
    paths = {m: {"test": list(by["test"])} for m, by in run.shards.paths.items()}
    missing = paths["random"]["test"][2]
    missing.unlink()
    job = SedViewJob(
        ShardSet(paths), run.instances["test"], run.manifest, run.events, tmp_path, tmp_path / "d"
    )
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        sed_view(job, SedViewSettings(), BootstrapSettings(n_resamples=10))


def test_reader_refuses_other_tables(tmp_path: Path) -> None:
    path = tmp_path / "sed_view.csv"
    pd.DataFrame({"method": ["ig"], "metric": ["psds2"], "value": [0.1]}).to_csv(path)
    seal(path)
    with pytest.raises(ValueError, match="missing columns"):
        read_sed_view(path)
    row = dict.fromkeys(SED_VIEW_COLUMNS, 0.0) | {"method": "ig", "metric": "psds2"}
    pd.DataFrame([row]).to_csv(path, index=False)
    seal(path)
    with pytest.raises(ValueError, match=r"unknown metrics \['psds2'\]"):
        read_sed_view(path)
