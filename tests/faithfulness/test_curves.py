"""The maths of the curves: frame orders and their ties, step counts, masks, areas."""

from __future__ import annotations

import numpy as np
import pytest

from igsed.faithfulness.curves import (
    CURVE_KEYS,
    curve_masks,
    distinct_masks,
    frame_order,
    kept_frames,
    normalised_area,
    normalised_areas,
    step_counts,
    step_fractions,
)


def test_ties_go_to_the_lower_frame_index_in_both_orders() -> None:
    scores = np.array([1.0, 3.0, 3.0, 0.0, 3.0, 1.0])
    assert frame_order(scores, "morf").tolist() == [1, 2, 4, 0, 5, 3]
    assert frame_order(scores, "lerf").tolist() == [3, 0, 5, 1, 2, 4]
    flat = np.zeros(7)
    assert (
        frame_order(flat, "morf").tolist() == frame_order(flat, "lerf").tolist() == list(range(7))
    )


def test_lerf_is_morf_reversed_without_ties() -> None:
    scores = np.random.default_rng(0).random(100)
    np.testing.assert_array_equal(frame_order(scores, "lerf"), frame_order(scores, "morf")[::-1])


@pytest.mark.parametrize(
    "scores", [np.array([1.0, np.nan]), np.ones((2, 3)), np.array([np.inf, 0.0])]
)
def test_orders_refuse_scores_that_are_not_one_finite_row(scores: np.ndarray) -> None:
    with pytest.raises(ValueError, match="one finite row"):
        frame_order(scores, "morf")


def test_unknown_order_and_curve_are_refused() -> None:
    with pytest.raises(ValueError, match="order must be"):
        frame_order(np.zeros(3), "random")
    with pytest.raises(ValueError, match="curve must be"):
        kept_frames(np.arange(3), np.array([0, 3]), "erasure")


@pytest.mark.parametrize(
    ("n_frames", "steps", "expected"),
    [
        (100, 10, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
        (100, 3, [0, 33, 67, 100]),
        (10, 4, [0, 3, 5, 8, 10]),  # 2.5 and 7.5 round half up
        (5, 2, [0, 3, 5]),
        (100, 1, [0, 100]),
    ],
)
def test_step_counts_round_half_up(n_frames: int, steps: int, expected: list[int]) -> None:
    assert step_counts(n_frames, steps).tolist() == expected
    assert len(step_fractions(steps)) == len(expected)


def test_steps_must_be_positive() -> None:
    with pytest.raises(ValueError, match="steps"):
        step_fractions(0)
    with pytest.raises(ValueError, match="steps"):
        step_counts(100, 0)


def test_deletion_and_insertion_masks_are_complements() -> None:
    order = np.array([2, 0, 3, 1])
    deletion = kept_frames(order, np.array([0, 1, 2, 4]), "deletion")
    insertion = kept_frames(order, np.array([0, 1, 2, 4]), "insertion")
    assert deletion.astype(int).tolist() == [[1, 1, 1, 1], [1, 1, 0, 1], [0, 1, 0, 1], [0, 0, 0, 0]]
    np.testing.assert_array_equal(insertion, ~deletion)


def test_the_endpoints_of_all_four_curves_are_two_inputs() -> None:
    masks = curve_masks(np.random.default_rng(1).random(100), steps=10)
    assert set(masks) == set(CURVE_KEYS)
    for curve, _ in CURVE_KEYS:
        full, empty = (0, -1) if curve == "deletion" else (-1, 0)
        assert all(row.all() for row in (m[full] for k, m in masks.items() if k[0] == curve))
        assert not any(row.any() for row in (m[empty] for k, m in masks.items() if k[0] == curve))
    unique, inverse = distinct_masks(np.concatenate([masks[k] for k in CURVE_KEYS]))
    # Without ties, insertion MoRF at f is deletion LeRF at 1 - f (and LeRF at f, MoRF at
    # 1 - f): 2 x 9 interior points and the two endpoints.
    assert len(unique) == 20
    np.testing.assert_array_equal(unique[inverse], np.concatenate([masks[k] for k in CURVE_KEYS]))


def test_normalised_area_is_the_trapezoid_over_the_reference() -> None:
    fractions = step_fractions(4)
    assert normalised_area(fractions, np.array([1.0, 0.5, 0.5, 0.0, 0.0]), 2.0) == pytest.approx(
        (0.75 + 0.5 + 0.25) * 0.25 / 2.0
    )
    assert np.isnan(normalised_area(fractions, np.zeros(5), 0.0))
    areas = normalised_areas(fractions, {key: 1.0 - fractions for key in CURVE_KEYS}, 1.0)
    assert areas == pytest.approx(dict.fromkeys(areas, 0.5))
    assert list(areas) == ["deletion_morf", "deletion_lerf", "insertion_morf", "insertion_lerf"]
