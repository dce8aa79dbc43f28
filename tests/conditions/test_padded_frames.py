"""Padded frames of short clips enter no metric and no choice of tau*; whole clips are unchanged.

A recordings condition's clip shorter than 10 s is zero-padded; the manifest's
`valid_seconds` says how much of it is audio. Hand-computed cases (a 7 s clip: frames
70-99 ignored), an independent per-instance loop, sed_scores_eval on clips of their own
durations, and byte-identical outputs for whole clips.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from support.fake_run import write_fake_run

from igsed.core.annotations import Event, frame_labels
from igsed.core.constants import CLASSES, EVAL_FRAME_SECONDS, N_EVAL_FRAMES
from igsed.core.metrics import auroc, on_valid_frames, pointing_game, sweep
from igsed.core.statistics import BootstrapSettings
from igsed.evaluation.evaluate import EvaluationInputs, MetricSettings, evaluate
from igsed.evaluation.sed_view import (
    METRICS,
    SedViewJob,
    SedViewSettings,
    detection_scores,
    ground_truth_events,
    method_frames,
    metric_deltas,
    package_values,
    resampled_values,
    score_frame,
    scored_classes,
    sed_view,
)
from igsed.formats.instances import Instance
from igsed.formats.manifest import read_manifest, write_manifest
from igsed.formats.shards import ClipScores


def _seven_second_clip() -> tuple[np.ndarray, np.ndarray]:
    """Event on frames 10-29; the padded frames 70-99 score highest and hold stray truth."""
    scores = np.zeros(N_EVAL_FRAMES)
    scores[10:30] = 1.0
    scores[70:] = 5.0
    truth = np.zeros(N_EVAL_FRAMES, dtype=bool)
    truth[10:30] = True
    truth[75:80] = True
    return scores, truth


def test_a_seven_second_clip_is_scored_on_frames_0_to_69_by_hand() -> None:
    scores, truth = _seven_second_clip()
    # Over 70 frames (50 zeros, 20 ones) the 80th percentile lies at rank 0.8 x 69 = 55.2,
    # a 1: the mask is the event, IoU = F1 = 1. Over all 100 frames it lies at rank 79.2,
    # a 5: the mask is frames 70-99, TP 5 (75-79), FP 25, FN 20: IoU = 5 / 50.
    padded = sweep(scores[None], truth[None], [80], valid_frames=np.array([70]))
    assert padded.iou[0, 0] == 1.0 and padded.f1[0, 0] == 1.0
    plain = sweep(scores[None], truth[None], [80])
    assert plain.iou[0, 0] == pytest.approx(5 / 50)
    # Pointing Game: the first arg-max among frames 0-69 is frame 10; over 100 frames it is
    # padded frame 70, not ground truth.
    assert on_valid_frames(pointing_game, scores[None], truth[None], np.array([70])) == [1.0]
    assert on_valid_frames(pointing_game, scores[None], truth[None]) == [0.0]
    assert on_valid_frames(auroc, scores[None], truth[None], np.array([70]))[0] == 1.0
    assert roc_auc_score(truth[:70], scores[:70]) == 1.0


def test_sweep_with_valid_frames_matches_an_independent_loop() -> None:
    rng = np.random.default_rng(0)
    n = 40
    scores = np.round(rng.random((n, N_EVAL_FRAMES)), 2)
    truth = rng.random((n, N_EVAL_FRAMES)) < 0.3
    valid = rng.choice([100, 70, 30, 1, 55], size=n)
    taus = np.array([1.0, 25.0, 50.0, 93.0, 99.0])
    result = sweep(scores, truth, taus, valid)
    for i in range(n):
        row, gt = scores[i, : valid[i]], truth[i, : valid[i]]
        for t, tau in enumerate(taus):
            mask = row >= np.percentile(row, tau)
            union = np.sum(mask | gt)
            expected = np.sum(mask & gt) / union if union else 0.0
            assert result.iou[t, i] == pytest.approx(expected, abs=1e-12)
    whole = np.full(n, N_EVAL_FRAMES)
    plain = sweep(scores, truth, taus)
    assert np.array_equal(sweep(scores, truth, taus, whole).iou, plain.iou)
    with pytest.raises(ValueError, match="integers in"):
        sweep(scores, truth, taus, np.full(n, 101))


def _manifest_with(run_manifest: Path, path: Path, valid: dict[str, float]) -> Path:
    frame = read_manifest(run_manifest)
    frame["valid_seconds"] = [valid.get(c, 10.0) for c in frame["clip_id"]]
    write_manifest(frame, path)
    return path


def _outputs(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_whole_clips_give_byte_identical_evaluations(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path)
    evaluate(run.inputs(), MetricSettings(), tmp_path / "plain")
    whole = _manifest_with(run.manifest, tmp_path / "whole.tsv", {})
    for name, manifest in (("old", run.manifest), ("whole", whole)):
        inputs = EvaluationInputs(run.shards, run.instances, run.events, run.expected, manifest)
        evaluate(inputs, MetricSettings(), tmp_path / name)
        assert _outputs(tmp_path / name) == _outputs(tmp_path / "plain"), name


def test_padded_frames_leave_the_metrics_and_the_val_instances(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path)
    # test_001: Speech on 3-7 s, cut to 7 s. val_000: Speech on 5.05-6 s lies past 5 s.
    manifest = _manifest_with(
        run.manifest, tmp_path / "padded.tsv", {"test_001": 7.0, "val_000": 5.0}
    )
    inputs = EvaluationInputs(run.shards, run.instances, run.events, run.expected, manifest)
    out = tmp_path / "out"
    evaluate(inputs, MetricSettings(), out)
    instances = pd.read_csv(out / "instances_test.csv").set_index(["method", "clip_id", "class"])
    # Energy is flat: its mask is every valid frame. 40 event frames of 70, not of 100.
    energy = instances.loc[("energy", "test_001", "Speech")]
    assert energy["iou"] == pytest.approx(40 / 70)
    assert energy["f1"] == pytest.approx(80 / 110)
    assert instances.loc[("ig", "test_001", "Speech"), "iou"] == 1.0
    assert instances.loc[("energy", "test_000", "Dog"), "iou"] == pytest.approx(0.10)
    # val_000's Speech has no frame inside its 50 valid frames: no longer a val instance.
    tau_star = json.loads((out / "tau_star.json").read_text())
    assert tau_star["methods"]["ig"]["n_val_instances"] == 3
    plain = tmp_path / "plain"
    evaluate(run.inputs(), MetricSettings(), plain)
    assert (
        json.loads((plain / "tau_star.json").read_text())["methods"]["ig"]["n_val_instances"] == 4
    )


def _toy(durations: dict[str, float], settings: SedViewSettings):
    rows = {"a": np.zeros(N_EVAL_FRAMES), "b": np.zeros(N_EVAL_FRAMES)}
    rows["a"][:20], rows["a"][20:30], rows["a"][30:40], rows["a"][40:50] = 0.1, 0.9, 0.6, 0.3
    rows["b"][30:40] = 0.7
    rows["b"][50:] = 0.95  # padding of a 5 s clip: must be invisible
    truth = {"a": [(2.0, 4.0, "Dog")], "b": []}
    frames = {
        clip: score_frame({"Dog": row}, ["Dog"], durations[clip]) for clip, row in rows.items()
    }
    return metric_deltas(frames, truth, settings, durations), truth


def test_a_five_second_clip_by_hand_in_sed_scores_eval_and_the_vectorised_path() -> None:
    # As the whole-clip toy of tests/evaluation/test_sed_view.py, with clip b 5 s long:
    # segment AUROC has 8 + 5 negative segments, 0.9 outscores all 13 and 0.6 all but b's
    # 0.7: (13 + 12) / 26. PSDS (max_efpr 300): b's one false positive in 15 s is 240 per
    # hour, so the PSD-ROC is 1 from 240 to 300: 60 / 300. Collar F1 stays 2 / 3. b's
    # padded frames (0.95) would otherwise be a false positive above every threshold.
    settings = SedViewSettings(max_efpr=300.0)
    durations = {"a": 10.0, "b": 5.0}
    deltas, truth = _toy(durations, settings)
    expected = {"psds1": 0.2, "segment_auroc": 25 / 26, "collar_f1": 2 / 3}
    theirs = package_values(deltas, truth, settings, durations=durations)
    assert theirs == pytest.approx(expected, abs=1e-12)
    own = resampled_values(deltas, truth, np.ones((1, 2)), settings, durations)
    assert {m: v[0] for m, v in own.items()} == pytest.approx(expected, abs=1e-12)


def test_score_frames_ground_truth_and_normalisation_stop_at_the_audio() -> None:
    frame = score_frame({"Dog": np.linspace(0, 1, 100)}, ["Dog"], 7.0)
    assert len(frame) == 70 and frame["offset"].iloc[-1] == 7.0
    assert frame["Dog"].iloc[-1] == pytest.approx(69 / 99)
    odd = score_frame({}, ["Dog"], 7.05)
    assert len(odd) == 71 and odd["onset"].iloc[-1] == 7.0 and odd["offset"].iloc[-1] == 7.05
    assert ground_truth_events([Event(6.0, 7.04, "Dog")], 7.0) == [(6.0, 7.0, "Dog")]
    scores = np.r_[np.linspace(0.0, 2.0, 70), np.full(30, 100.0)]
    clip = ClipScores("c", ["Dog"], scores[None, :])
    frames = method_frames(
        {"c": clip}, [Instance("c", "Dog", 0.8, True)], ["Dog"], "energy", {"c": 7.0}
    )
    assert frames["c"]["Dog"].to_numpy() == pytest.approx(detection_scores(scores[:70], 0.8))
    assert frames["c"]["Dog"].max() == pytest.approx(0.8)


def test_resamples_of_clips_of_different_lengths_are_sed_scores_eval_on_duplicates() -> None:
    rng = np.random.default_rng(5)
    settings = SedViewSettings(max_efpr=400.0)
    truth, frames, durations = {}, {}, {}
    for k in range(10):
        durations[f"c{k}"] = float(rng.choice([10.0, 7.0, 3.0, 5.55]))
        onsets = rng.uniform(0, durations[f"c{k}"] - 0.5, size=2)
        label = CLASSES[k % 3]
        events = [Event(o, o + rng.uniform(0.3, 2.5), label) for o in onsets]
        truth[f"c{k}"] = ground_truth_events(events, durations[f"c{k}"])
        signal = frame_labels(events, EVAL_FRAME_SECONDS, N_EVAL_FRAMES)[:, CLASSES.index(label)]
        rows = {label: detection_scores(signal + rng.random(100), 0.9)}
        frames[f"c{k}"] = rows
    classes = scored_classes(truth.values())
    frames = {c: score_frame(frames[c], classes, durations[c]) for c in truth}
    deltas = metric_deltas(frames, truth, settings, durations)
    draws = np.vstack([np.ones(10), rng.multinomial(10, np.full(10, 0.1), size=6)])
    own = resampled_values(deltas, truth, draws, settings, durations)
    for r, counts in enumerate(draws):
        theirs = package_values(deltas, truth, settings, None if r == 0 else counts, durations)
        for metric in ("psds1", "segment_auroc"):
            assert own[metric][r] == pytest.approx(theirs[metric], abs=1e-12, nan_ok=True)
    assert not math.isnan(own["psds1"][0])


def test_whole_clips_give_a_byte_identical_sed_view(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path)
    whole = _manifest_with(run.manifest, tmp_path / "whole.tsv", {})
    written = {}
    for name, manifest in (("old", run.manifest), ("whole", whole)):
        job = SedViewJob(
            run.shards,
            run.instances["test"],
            manifest,
            run.events,
            tmp_path / name,
            tmp_path / f"d{name}",
        )
        sed_view(job, SedViewSettings(), BootstrapSettings(n_resamples=50, seed=1))
        written[name] = (tmp_path / name).read_bytes()
    assert written["old"] == written["whole"]
    padded = _manifest_with(run.manifest, tmp_path / "padded.tsv", {"test_001": 7.0})
    job = SedViewJob(
        run.shards,
        run.instances["test"],
        padded,
        run.events,
        tmp_path / "p.csv",
        tmp_path / "d.csv",
    )
    frame = sed_view(job, SedViewSettings(), BootstrapSettings(n_resamples=50, seed=1))
    assert list(frame["metric"][: len(METRICS)]) == list(METRICS)
    assert (tmp_path / "p.csv").read_bytes() != written["old"]
