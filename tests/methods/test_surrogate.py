"""The surrogate method against Captum's KernelShap and a direct scikit-learn forest, in float64.

The kernel_shap fit is Captum's KernelShap on the masks Captum itself drew (recorded as it
draws them); the random_forest fit is scikit-learn's forest on log-odds from one forward
per mask. Both share the masked copies of one batch across all classes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from captum.attr import KernelShap
from sklearn.ensemble import RandomForestRegressor
from support.explained import (  # one_torch_thread: an autouse fixture
    EQUIVALENCE_SAMPLES,
    EQUIVALENCE_TARGETS,
    assert_close,
    one_torch_thread,  # noqa: F401
)
from torch import nn

from igsed.methods.surrogate import (
    ENDPOINT_WEIGHT,
    LOG_ODDS_EPS,
    SURROGATE_FITS,
    SurrogateSettings,
    _surrogate,
    masked_log_odds,
    segment_masks,
    shapley_masks,
    surrogate,
)
from igsed.models.explained import ExplainedModel

N_SAMPLES = EQUIVALENCE_SAMPLES
SEGMENT = 3_200
N_SEGMENTS = N_SAMPLES // SEGMENT
TARGETS = EQUIVALENCE_TARGETS


def _plain_log_odds(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """The forward function the references explain: log p - log(1 - p), p clamped.

    The clamp is part of the definition: masked copies drive some classes of these random
    models to p within 1e-7 of 0 or 1.
    """

    def forward(batch: torch.Tensor) -> torch.Tensor:
        p = model(batch).clamp(LOG_ODDS_EPS, 1 - LOG_ODDS_EPS)
        return torch.log(p) - torch.log1p(-p)

    return forward


def _repeating_last(
    forward: Callable[[torch.Tensor], torch.Tensor],
) -> Callable[[torch.Tensor], torch.Tensor]:
    """`forward`, answering a batch equal to the previous one from memory.

    Captum's call for the second target evaluates the very batch of masked copies of the
    first; at full width this saves a third of the test's time.
    """
    last: list[torch.Tensor] = []

    def remembering(batch: torch.Tensor) -> torch.Tensor:
        if not (last and torch.equal(last[0], batch)):
            last[:] = [batch.clone(), forward(batch)]
        return last[1]

    return remembering


def _captum_kernel_shap(
    forward: Callable[[torch.Tensor], torch.Tensor],
    clip: np.ndarray,
    target: int,
    n_samples: int,
    seed: int,
) -> tuple[torch.Tensor, np.ndarray]:
    """Captum's KernelShap coefficients for one target and the (n_samples, M) masks it drew.

    The masks are recorded by wrapping KernelShap's similarity function, which Captum calls
    with every interpretable sample it draws. Captum casts its fitting data to float32
    (`.float()` in LimeBase.attribute), which alone moves these coefficients by up to ~1e-6
    relative; `.float()` is made a float64 cast for the call, so that the comparison
    measures the method rather than float32 rounding (the returned coefficients are still
    float32, ~1e-7).
    """
    explainer = KernelShap(forward)
    drawn: list[torch.Tensor] = []
    similarity = explainer.similarity_func

    def recording(
        inputs: object, perturbed: object, sample: torch.Tensor, **kwargs: object
    ) -> torch.Tensor:
        drawn.append(sample.clone())
        return similarity(inputs, perturbed, sample, **kwargs)

    explainer.similarity_func = recording
    x = torch.from_numpy(clip).reshape(1, -1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.Tensor, "float", torch.Tensor.double)
        torch.manual_seed(seed)
        coefficients = explainer.attribute(
            x,
            baselines=0.0,
            target=target,
            feature_mask=torch.arange(N_SAMPLES).reshape(1, -1) // SEGMENT,
            n_samples=n_samples,
            perturbations_per_eval=n_samples,
            return_input_shape=False,
        )
    return coefficients, torch.cat(drawn).numpy().astype(bool)


def test_kernel_shap_with_captums_masks_is_captums(model: ExplainedModel, clip: np.ndarray) -> None:
    n_samples = 12  # >= M + 1 = 11 unknowns; seed 4 draws masks that determine the fit
    settings = SurrogateSettings(n_masks=n_samples, fit="kernel_shap", batch_size=5)
    forward = _repeating_last(_plain_log_odds(model))
    references, drawn = [], []
    for target in TARGETS:
        # The same seed per target: Captum draws the same masks, as our one batch assumes.
        coefficients, masks = _captum_kernel_shap(forward, clip, target, n_samples, seed=4)
        references.append(coefficients)
        drawn.append(masks)
    np.testing.assert_array_equal(drawn[0], drawn[1])
    design = np.column_stack([np.ones(n_samples), drawn[0]])
    assert np.linalg.matrix_rank(design) == N_SEGMENTS + 1
    ours = _surrogate(model, clip, TARGETS, drawn[0], settings, SEGMENT)
    assert ours.shape == (len(TARGETS), N_SEGMENTS)
    for row, reference in enumerate(references):
        assert_close(reference, ours[row])


def test_random_forest_is_sklearns_on_single_forwards(
    narrow: ExplainedModel, clip: np.ndarray
) -> None:
    """The batched log-odds are a per-mask loop's; the forest on them is sklearn's.

    The forest is checked on the method's own log-odds, bit for bit: its importances jump
    where two segments split a node's masks identically (an exact tie in the split
    criterion), and which segment wins such a tie turns on the last bits of the log-odds,
    which batched and single forwards round differently (~1e-12 here).
    """
    settings = SurrogateSettings(n_masks=24, fit="random_forest", n_trees=10, batch_size=7)
    masks = segment_masks(settings.n_masks, N_SEGMENTS, 0.5, np.random.default_rng(5))
    ours = _surrogate(narrow, clip, TARGETS, masks, settings, SEGMENT, random_state=9)
    odds = masked_log_odds(narrow, clip, masks, SEGMENT, settings.batch_size)
    forward = _plain_log_odds(narrow)
    with torch.no_grad():
        single = [
            forward(torch.from_numpy(clip * np.repeat(mask, SEGMENT))[None]) for mask in masks
        ]
    assert_close(torch.cat(single), odds)
    for row, target in enumerate(TARGETS):
        forest = RandomForestRegressor(n_estimators=10, random_state=9)
        reference = forest.fit(masks.astype(float), odds[:, target]).feature_importances_
        np.testing.assert_array_equal(ours[row], reference)
    assert (ours >= 0).all() and np.allclose(ours.sum(axis=1), 1.0)


def test_masked_log_odds_zero_fill_the_dropped_segments() -> None:
    model = _Probe(segment=0)
    x = torch.arange(1, 13, dtype=torch.float64)
    masks = np.array([[True, False, True], [False, True, False]])
    masked_log_odds(model, x, masks, segment_samples=4, batch_size=1)
    assert [copy.tolist() for copy in model.seen] == [
        [[1, 2, 3, 4, 0, 0, 0, 0, 9, 10, 11, 12]],
        [[0, 0, 0, 0, 5, 6, 7, 8, 0, 0, 0, 0]],
    ]


class _Probe(nn.Module):
    """F_c = sigmoid(s_c x energy of one segment / unit - 1), s_c in [1, 2]; records inputs."""

    def __init__(self, segment: int, segment_samples: int = 4, unit: float = 1.0) -> None:
        super().__init__()
        self.window = slice(segment * segment_samples, (segment + 1) * segment_samples)
        self.scale = nn.Parameter(torch.linspace(1.0, 2.0, 10, dtype=torch.float64) / unit)
        self.seen: list[torch.Tensor] = []

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        self.seen.append(batch.clone())
        energy = batch[:, self.window].pow(2).mean(dim=1, keepdim=True)
        return torch.sigmoid(self.scale * energy - 1)


@pytest.mark.parametrize("fit", SURROGATE_FITS)
def test_the_one_segment_the_model_hears_scores_highest(clip: np.ndarray, fit: str) -> None:
    unit = float(np.mean(clip[7 * SEGMENT : 8 * SEGMENT] ** 2))  # log-odds in [-1, 1]
    model = _Probe(segment=7, segment_samples=SEGMENT, unit=unit)
    settings = SurrogateSettings(n_masks=40, fit=fit, n_trees=10, batch_size=40)
    scores = surrogate(model, clip, [1, 9], settings, np.random.default_rng(0), SEGMENT)
    assert scores.shape == (2, N_SEGMENTS)
    assert (scores.argmax(axis=1) == 7).all()
    others = np.delete(scores, 7, axis=1)
    np.testing.assert_allclose(others, 0.0, atol=1e-9 * np.abs(scores).max())


@pytest.mark.parametrize("fit", SURROGATE_FITS)
def test_seeded_surrogate_repeats_and_differs_by_seed(
    narrow: ExplainedModel, clip: np.ndarray, fit: str
) -> None:
    settings = SurrogateSettings(n_masks=12, fit=fit, n_trees=5, batch_size=12)

    def run(seed: int) -> np.ndarray:
        return surrogate(narrow, clip, TARGETS, settings, np.random.default_rng(seed), SEGMENT)

    first, again, other = run(1), run(1), run(2)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.shape == (len(TARGETS), N_SEGMENTS)


def test_one_forward_batch_serves_every_class(narrow: ExplainedModel, clip: np.ndarray) -> None:
    calls = []
    handle = narrow.register_forward_hook(lambda *_: calls.append(1))
    try:
        settings = SurrogateSettings(n_masks=6, batch_size=6)
        scores = surrogate(narrow, clip, [0, 3, 7], settings, np.random.default_rng(0), SEGMENT)
    finally:
        handle.remove()
    assert len(calls) == 1 and scores.shape == (3, N_SEGMENTS)


def test_no_targets_give_no_rows_and_no_forwards(clip: np.ndarray) -> None:
    model = _Probe(segment=0, segment_samples=SEGMENT)
    for fit in SURROGATE_FITS:
        settings = SurrogateSettings(fit=fit)
        scores = surrogate(model, clip, [], settings, np.random.default_rng(0), SEGMENT)
        assert scores.shape == (0, N_SEGMENTS)
    assert model.seen == []


def test_shapley_masks_draw_sizes_by_the_kernel() -> None:
    n_segments = 6
    masks = shapley_masks(20_000, n_segments, np.random.default_rng(0))
    assert masks.dtype == bool and masks.shape == (20_000, n_segments)
    assert masks[0].all() and not masks[1].any()
    sizes = masks[2:].sum(axis=1)
    k = np.arange(1, n_segments)
    expected = 1.0 / (k * (n_segments - k))
    expected /= expected.sum()
    observed = np.bincount(sizes, minlength=n_segments + 1)[1:n_segments] / len(sizes)
    assert sizes.min() >= 1 and sizes.max() <= n_segments - 1
    np.testing.assert_allclose(observed, expected, atol=0.01)
    # Within a size, every segment is equally likely to be kept.
    np.testing.assert_allclose(masks[2:][sizes == 2].mean(axis=0), 2 / n_segments, atol=0.02)


def test_segment_masks_keep_each_segment_with_the_probability() -> None:
    masks = segment_masks(5_000, 8, 0.3, np.random.default_rng(0))
    assert masks.dtype == bool and masks.shape == (5_000, 8)
    np.testing.assert_allclose(masks.mean(axis=0), 0.3, atol=0.03)


def test_kernel_shap_pins_the_all_and_none_masks(narrow: ExplainedModel, clip: np.ndarray) -> None:
    # With ENDPOINT_WEIGHT on both, the coefficients sum to log-odds(x) - log-odds(silence).
    masks = shapley_masks(14, N_SEGMENTS, np.random.default_rng(1))
    settings = SurrogateSettings(n_masks=14, batch_size=14)
    scores = _surrogate(narrow, clip, TARGETS, masks, settings, SEGMENT)
    odds = masked_log_odds(narrow, clip, masks[:2], SEGMENT, batch_size=2)[:, TARGETS]
    np.testing.assert_allclose(scores.sum(axis=1), odds[0] - odds[1], rtol=10 / ENDPOINT_WEIGHT)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n_masks", 1),
        ("n_masks", 2.5),
        ("keep_probability", 0.0),
        ("keep_probability", 1.0),
        ("fit", "lasso"),
        ("n_trees", 0),
        ("batch_size", 0),
    ],
)
def test_bad_settings_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        SurrogateSettings(**{field: value})


def test_a_clip_of_partial_segments_or_bad_targets_is_refused(clip: np.ndarray) -> None:
    model = _Probe(segment=0, segment_samples=SEGMENT)
    settings = SurrogateSettings(n_masks=2)
    with pytest.raises(ValueError, match="whole number"):
        surrogate(model, clip[:-1], [0], settings, np.random.default_rng(0), SEGMENT)
    with pytest.raises(ValueError, match="targets"):
        surrogate(model, clip, [10], settings, np.random.default_rng(0), SEGMENT)
