"""The robustness measures by hand (igsed.core.robustness)."""

from __future__ import annotations

import numpy as np
import pytest

from igsed.core.robustness import absent_class, max_sensitivity, noisy_copies


def test_max_sensitivity_by_hand() -> None:
    reference = np.array([3.0, 4.0])  # norm 5
    perturbed = [np.array([3.0, 5.0]), np.array([0.0, 0.0]), np.array([6.0, 8.0])]
    # Changes: 1, 5, 5 -> max 5, divided by 5.
    assert max_sensitivity(reference, perturbed) == 1.0
    assert max_sensitivity(reference, perturbed[:1]) == pytest.approx(0.2)
    assert np.isnan(max_sensitivity(reference, []))
    assert np.isnan(max_sensitivity(np.zeros(2), perturbed))


def test_the_absent_class_is_never_detected_and_is_seeded() -> None:
    classes = ["a", "b", "c", "d"]
    draws = {absent_class(["b", "d"], classes, np.random.default_rng(s)) for s in range(40)}
    assert draws == {"a", "c"}
    assert absent_class(["a"], classes, np.random.default_rng(7)) == absent_class(
        ["a"], classes, np.random.default_rng(7)
    )
    assert absent_class(classes, classes, np.random.default_rng(0)) is None


def test_noisy_copies_scale_with_the_clip_peak() -> None:
    waveform = np.zeros(200_000, dtype=np.float32)
    waveform[0] = -0.5
    copies = noisy_copies(waveform, 3, 0.01, np.random.default_rng(1))
    assert len(copies) == 3 and all(c.dtype == np.float32 for c in copies)
    noise = copies[1][1:] - waveform[1:]
    assert np.std(noise) == pytest.approx(0.005, rel=0.01)
    assert not np.array_equal(copies[0], copies[1])
    assert noisy_copies(waveform, 0, 0.01, np.random.default_rng(1)) == []
