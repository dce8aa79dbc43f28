"""Frame metrics: hand-computed cases, conventions, vectorised sweep, and sed_eval cross-check."""

from __future__ import annotations

import numpy as np
import pytest

from igsed.core.annotations import Event, frame_mask
from igsed.core.metrics import (
    best_tau,
    class_means,
    confusion_counts,
    frame_f1,
    frame_precision,
    frame_recall,
    iou,
    macro_average,
    macro_mean,
    percentile_mask,
    percentile_threshold,
    pointing_game,
    sweep,
)

FRAME = 0.1
N_FRAMES = 100


def _bool(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=bool)


# ---------------------------------------------------------------- hand-computed cases


def test_percentile_mask_uses_linear_interpolation() -> None:
    scores = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    # 30th percentile of 5 values: position 0.3 * 4 = 1.2 -> 1.2 (linear interpolation).
    assert percentile_threshold(scores, 30) == pytest.approx(1.2)
    assert percentile_mask(scores, 30).tolist() == [False, False, True, True, True]
    assert percentile_mask(scores, 25).tolist() == [False, True, True, True, True]
    assert percentile_mask(scores, 100).tolist() == [False, False, False, False, True]
    assert percentile_mask(scores, 0).all()


def test_percentile_mask_of_equal_scores_is_every_frame() -> None:
    scores = np.full(N_FRAMES, 0.37, dtype=np.float32)
    for tau in (1, 50, 99, 100):
        assert percentile_mask(scores, tau).all()


def test_percentile_mask_always_keeps_the_maximum() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random((200, N_FRAMES)).astype(np.float32)
    for tau in (99, 99.9, 100):
        mask = percentile_mask(scores, tau)
        assert mask[np.arange(200), scores.argmax(axis=1)].all()


def test_iou_f1_precision_recall_small_case() -> None:
    mask = _bool([1, 1, 0, 0, 1, 0])
    truth = _bool([0, 1, 1, 0, 1, 0])  # TP 2, FP 1, FN 1
    assert confusion_counts(mask, truth) == (2, 1, 1)
    assert iou(mask, truth) == pytest.approx(2 / 4)
    assert frame_f1(mask, truth) == pytest.approx(4 / 6)
    assert frame_precision(mask, truth) == pytest.approx(2 / 3)
    assert frame_recall(mask, truth) == pytest.approx(2 / 3)
    perfect = _bool([0, 1, 1, 0, 1, 0])
    assert iou(perfect, truth) == 1.0 and frame_f1(perfect, truth) == 1.0


def test_empty_mask_and_truth_conventions() -> None:
    empty = _bool([0, 0, 0, 0])
    some = _bool([0, 1, 1, 0])
    # Both empty: every ratio is 0/0 -> 0.0 (sed_eval reports NaN, "undefined").
    assert iou(empty, empty) == 0.0
    assert frame_f1(empty, empty) == 0.0
    # Empty ground truth (a counted false positive): no overlap possible.
    assert iou(some, empty) == 0.0 and frame_f1(some, empty) == 0.0
    assert frame_recall(some, empty) == 0.0 and frame_precision(some, empty) == 0.0
    # Empty mask: precision 0, recall 0.
    assert frame_precision(empty, some) == 0.0 and frame_recall(empty, some) == 0.0
    assert pointing_game(np.array([0.1, 0.9, 0.3, 0.2]), empty) == 0.0


def test_pointing_game_takes_the_first_of_tied_maxima() -> None:
    scores = np.array([0.2, 0.9, 0.9, 0.1])
    assert pointing_game(scores, _bool([0, 1, 0, 0])) == 1.0
    assert pointing_game(scores, _bool([0, 0, 1, 0])) == 0.0
    # All equal: the first frame is the pointed one.
    assert pointing_game(np.ones(4), _bool([1, 0, 0, 0])) == 1.0
    assert pointing_game(np.ones(4), _bool([0, 1, 1, 1])) == 0.0
    batch = pointing_game(np.stack([scores, scores]), np.stack([_bool([0, 1, 0, 0])] * 2))
    assert batch.tolist() == [1.0, 1.0]


def test_events_on_frame_boundaries() -> None:
    # [0.3, 0.7) covers frames 3..6: the offset on a boundary does not activate frame 7.
    mask = frame_mask([Event(0.3, 0.7, "Dog")], "Dog", FRAME, N_FRAMES)
    assert np.flatnonzero(mask).tolist() == [3, 4, 5, 6]
    # Off the grid: any overlap activates the frame.
    mask = frame_mask([Event(0.25, 0.71, "Dog")], "Dog", FRAME, N_FRAMES)
    assert np.flatnonzero(mask).tolist() == [2, 3, 4, 5, 6, 7]
    # A whole clip, and an event of another label.
    assert frame_mask([Event(0.0, 10.0, "Dog")], "Dog", FRAME, N_FRAMES).all()
    assert not frame_mask([Event(0.0, 10.0, "Cat")], "Dog", FRAME, N_FRAMES).any()


# ---------------------------------------------------------------- sweep and aggregation


def test_sweep_matches_per_instance_loop() -> None:
    rng = np.random.default_rng(1)
    scores = rng.random((40, N_FRAMES))
    scores[0] = 0.5  # all equal
    scores[1, :50] = scores[1, 50:]  # every value twice
    truth = rng.random((40, N_FRAMES)) > 0.7
    truth[2] = False  # empty ground truth
    taus = np.arange(1, 100)
    result = sweep(scores, truth, taus)
    assert result.iou.shape == result.f1.shape == (99, 40)
    for t_index in (0, 33, 55, 98):
        for n in range(40):
            mask = percentile_mask(scores[n], taus[t_index])
            assert result.iou[t_index, n] == pytest.approx(iou(mask, truth[n]))
            assert result.f1[t_index, n] == pytest.approx(frame_f1(mask, truth[n]))
    assert np.all(result.iou[:, 0] == truth[0].mean())  # all-equal scores: mask = every frame
    assert np.all(result.iou[:, 2] == 0.0)


def test_sweep_of_perfect_scores_reaches_one_above_the_plateau() -> None:
    truth = np.zeros((1, N_FRAMES), dtype=bool)
    truth[0, 10:40] = True  # 30 active frames
    result = sweep(truth.astype(float), truth, np.arange(1, 100))
    # The mask is exactly the event once tau * 0.99 > 69, i.e. from tau = 70 on.
    assert np.all(result.iou[69:, 0] == 1.0)
    assert np.all(result.iou[:69, 0] == pytest.approx(0.3))


def test_class_means_and_macro_average() -> None:
    values = np.array([1.0, 0.0, 0.5, 0.25])
    classes = np.array([0, 0, 2, 2])
    means, counts = class_means(values, classes, 4)
    assert counts.tolist() == [2, 0, 2, 0]
    assert means[0] == 0.5 and means[2] == 0.375
    assert np.isnan(means[1]) and np.isnan(means[3])
    # Macro over the two classes with instances, not over all four.
    assert macro_average(means, counts) == pytest.approx((0.5 + 0.375) / 2)
    assert macro_mean(values, classes, 4) == pytest.approx(0.4375)
    # Per-tau curves: leading axes broadcast.
    curves = macro_mean(np.stack([values, 2 * values]), classes, 4)
    assert np.allclose(curves, [0.4375, 0.875])
    assert np.isnan(macro_average(np.full(3, np.nan), np.zeros(3, dtype=int)))


def test_best_tau_breaks_ties_towards_the_lowest_tau() -> None:
    taus = np.arange(1, 8)
    assert best_tau(taus, np.array([0.1, 0.3, 0.5, 0.5, 0.2, 0.5, 0.0])) == 2
    assert best_tau(taus, np.full(7, 0.4)) == 0
    assert best_tau(taus, np.full(7, np.nan)) is None
    with pytest.raises(ValueError):
        best_tau(taus, np.array([0.1, np.nan, 0.2, 0.2, 0.2, 0.2, 0.2]))


# ---------------------------------------------------------------- cross-check with sed_eval

# sed_eval turns a time t into a segment with floor(t * 1 / 0.1) and ceil(...), evaluated left
# to right in floating point: 0.3 * 1 / 0.1 = 2.9999999999999996, so an event starting at 0.3 s
# also activates segment 2 (likewise 0.6, 0.7, 1.2, ... s). Our frame_span snaps values within
# 1e-6 of a boundary onto it. To compare the same intervals, times given to sed_eval move 1 ns
# inward.
_INWARD = 1e-9


def _sed_eval_list(events: list[Event]):
    import dcase_util

    return dcase_util.containers.MetaDataContainer(
        [
            {
                "filename": "clip.wav",
                "event_label": e.label,
                "onset": e.onset + _INWARD,
                "offset": e.offset - _INWARD,
            }
            for e in events
        ]
    )


def _events_from_mask(mask: np.ndarray, label: str) -> list[Event]:
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    starts = np.flatnonzero(np.diff(padded) == 1)
    stops = np.flatnonzero(np.diff(padded) == -1)
    return [Event(start / 10, stop / 10, label) for start, stop in zip(starts, stops, strict=True)]


def _random_time(rng: np.random.Generator, on_grid: bool) -> float:
    frame = int(rng.integers(0, N_FRAMES))
    if on_grid:
        return frame / 10
    return round(frame / 10 + rng.uniform(0.003, 0.097), 3)


def _random_events(rng: np.random.Generator, labels: list[str]) -> list[Event]:
    events = []
    for label in labels:
        for _ in range(int(rng.integers(0, 4))):
            onset = _random_time(rng, on_grid=bool(rng.random() < 0.5))
            offset = _random_time(rng, on_grid=bool(rng.random() < 0.5))
            onset, offset = min(onset, offset), max(onset, offset)
            if offset - onset >= 0.001:
                events.append(Event(onset, offset, label))
    return events


def test_boundary_float_artifact_of_sed_eval_is_why_times_move_inward() -> None:
    import sed_eval

    exact = [Event(0.3, 0.7, "Dog")]
    roll = sed_eval.util.event_list_to_event_roll(_sed_eval_list(exact), ["Dog"], FRAME)
    assert np.flatnonzero(roll[:, 0]).tolist() == [3, 4, 5, 6]
    import dcase_util

    raw = dcase_util.containers.MetaDataContainer(
        [{"filename": "clip.wav", "event_label": "Dog", "onset": 0.3, "offset": 0.7}]
    )
    raw_roll = sed_eval.util.event_list_to_event_roll(raw, ["Dog"], FRAME)
    assert np.flatnonzero(raw_roll[:, 0]).tolist() == [2, 3, 4, 5, 6]
    assert np.flatnonzero(frame_mask(exact, "Dog", FRAME, N_FRAMES)).tolist() == [3, 4, 5, 6]


def test_frame_metrics_equal_sed_eval_segment_metrics_at_100_ms() -> None:
    import sed_eval

    rng = np.random.default_rng(2024)
    all_labels = ["Dog", "Cat", "Speech", "Dishes"]
    compared = undefined = 0
    for _ in range(60):
        labels = list(rng.choice(all_labels, size=int(rng.integers(1, 4)), replace=False))
        reference = _random_events(rng, labels)
        if not reference:
            reference = [Event(1.234, 2.5, labels[0])]
        estimated: list[Event] = []
        masks: dict[str, np.ndarray] = {}
        for label in labels:
            density = rng.choice([0.0, 0.1, 0.4, 0.8, 1.0])
            masks[label] = rng.random(N_FRAMES) < density
            estimated += _events_from_mask(masks[label], label)
        reference_list = _sed_eval_list(reference)
        # The segment grid must span the whole clip on both sides.
        metrics = sed_eval.sound_event.SegmentBasedMetrics(
            event_label_list=labels, time_resolution=FRAME
        )
        metrics.evaluate(
            reference_event_list=reference_list,
            estimated_event_list=_sed_eval_list(estimated),
            evaluated_length_seconds=10.0,
        )
        class_wise = metrics.results_class_wise_metrics()
        roll = sed_eval.util.event_list_to_event_roll(reference_list, labels, FRAME)
        roll = np.pad(roll, ((0, N_FRAMES - roll.shape[0]), (0, 0)))
        for column, label in enumerate(labels):
            truth = frame_mask(reference, label, FRAME, N_FRAMES)
            assert np.array_equal(truth, roll[:, column].astype(bool)), (reference, label)
            mask = masks[label]
            tp, fp, fn = confusion_counts(mask, truth)
            counts = metrics.class_wise[label]
            assert (tp, fp, fn) == (counts["Ntp"], counts["Nfp"], counts["Nfn"])
            expected = class_wise[label]["f_measure"]
            ours = {
                "precision": frame_precision(mask, truth),
                "recall": frame_recall(mask, truth),
                "f_measure": frame_f1(mask, truth),
            }
            for name, value in ours.items():
                if np.isnan(expected[name]):
                    # sed_eval: undefined (empty system output or reference); ours: 0/0 -> 0.
                    assert value == 0.0 and tp == 0
                    undefined += 1
                else:
                    assert value == pytest.approx(expected[name], abs=1e-9), (name, label)
            compared += 1
    assert compared >= 100 and undefined >= 5


def test_sweep_in_blocks_equals_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    import igsed.core.metrics

    rng = np.random.default_rng(3)
    scores = rng.random((50, N_FRAMES))
    truth = rng.random((50, N_FRAMES)) > 0.5
    whole = sweep(scores, truth, [10, 50, 90])
    monkeypatch.setattr(igsed.core.metrics, "_SWEEP_BLOCK", 7)
    blocked = sweep(scores, truth, [10, 50, 90])
    assert np.array_equal(whole.iou, blocked.iou) and np.array_equal(whole.f1, blocked.f1)
