"""Surrogate attributions: a simple model fitted to the classifier on randomly masked clips.

The clip is cut into 100 ms segments. Each of `n_masks` binary masks z keeps some segments
and zero-fills the others; the classifier's log-odds log F_c - log(1 - F_c) on every masked
copy are then fitted, per class c, on the masks (explain_where, Bolaños et al., Interspeech
2025). A segment's score for class c is

- `kernel_shap`:   phi_i of the weighted least-squares fit log-odds_c(z) ~ phi_0 + sum_i
                   phi_i z_i, i.e. Kernel SHAP (Captum `KernelShap` with a 100 ms
                   `feature_mask`, baseline 0 and the log-odds as forward function); signed.
- `random_forest`: the impurity-based `feature_importances_` of a
                   `sklearn.ensemble.RandomForestRegressor` fitted to log-odds_c(z); >= 0,
                   summing to 1 (or all 0 if the log-odds never change). No Captum
                   counterpart.

Masks. Kernel SHAP weights a mask keeping k of M segments by the Shapley kernel
(M - 1) / (C(M, k) k (M - k)), which puts most of its mass on very small and very large k.
Masks keeping each segment with probability 1/2 almost never have such sizes at M = 100,
so weighting those masks would leave the fit to a few outliers. `kernel_shap` therefore
draws masks as Captum does (`shapley_masks`): the first keeps every segment, the second
none, and each other one keeps k segments, k drawn with probability proportional to
1 / (k (M - k)), chosen uniformly among the C(M, k) subsets. The sampling then is the
kernel, every drawn mask has weight 1, and the all/none masks, whose kernel weight is
infinite, get Captum's 1e6, pinning the fit to the full clip and to silence. `random_forest`
keeps each segment independently with probability `keep_probability` (`segment_masks`).

One batch of masked copies serves all target classes, where Captum runs every copy once per
class. The public `surrogate` draws from a numpy generator seeded by the caller; the private
`_surrogate` takes the masks, so a test can hand it exactly the masks Captum drew.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from igsed.core.constants import N_CLASSES
from igsed.methods.fills import check_fill

SURROGATE_FITS: tuple[str, ...] = ("kernel_shap", "random_forest")

# Probabilities are clamped to [eps, 1 - eps] before the log-odds, so that a saturated
# sigmoid (exactly 0 or 1) gives +-16.1 instead of +-inf. 1e-7 is about float32's spacing
# just below 1, so in float32 the clamp only acts where 1 - p is no longer resolved anyway.
LOG_ODDS_EPS = 1e-7

# Captum's stand-in (KernelShap.inf_weight) for the infinite Shapley kernel weight of the
# masks keeping all or no segments.
ENDPOINT_WEIGHT = 1e6


@dataclass(frozen=True)
class SurrogateSettings:
    """How many masked copies, how they are drawn and fitted, how many per forward."""

    n_masks: int = 256
    keep_probability: float = 0.5  # random_forest masks; kernel_shap draws by the kernel
    fit: str = "kernel_shap"
    n_trees: int = 50  # random_forest only
    batch_size: int = 16
    fill: str = "zero"  # what a dropped segment holds (igsed.methods.fills)

    def __post_init__(self) -> None:
        # kernel_shap's first two masks are the all/none masks, so fewer than 2 is no fit.
        _require(_is_int(self.n_masks, 2), "n_masks", "an integer >= 2", self.n_masks)
        _require(
            0.0 < self.keep_probability < 1.0,
            "keep_probability",
            "in (0, 1)",
            self.keep_probability,
        )
        _require(self.fit in SURROGATE_FITS, "fit", f"one of {SURROGATE_FITS}", self.fit)
        _require(_is_int(self.n_trees, 1), "n_trees", "an integer >= 1", self.n_trees)
        _require(_is_int(self.batch_size, 1), "batch_size", "an integer >= 1", self.batch_size)
        check_fill(self.fill, "surrogate")


def _is_int(value: object, minimum: int) -> bool:
    # bool is an int subclass, but n_masks=True is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        return False
    return value >= minimum


def _require(ok: bool, field: str, allowed: str, value: object) -> None:
    if not ok:
        raise ValueError(f"SurrogateSettings.{field} must be {allowed}, got {value!r}")


def segment_masks(
    n_masks: int, n_segments: int, keep_probability: float, generator: np.random.Generator
) -> np.ndarray:
    """(n_masks, n_segments) bool masks keeping each segment with `keep_probability`.

    The `random_forest` masks; `kernel_shap` draws its masks with `shapley_masks`.
    """
    return generator.random((n_masks, n_segments)) < keep_probability


def shapley_masks(n_masks: int, n_segments: int, generator: np.random.Generator) -> np.ndarray:
    """(n_masks, n_segments) bool masks drawn by the Shapley kernel, as Captum's KernelShap.

    Row 0 keeps every segment, row 1 none; each other row keeps k segments, k in
    1..M-1 drawn with probability proportional to 1 / (k (M - k)), the kept ones a uniform
    random subset of size k.
    """
    if n_masks < 2 or n_segments < 2:
        raise ValueError(f"need >= 2 masks and >= 2 segments, got {n_masks} and {n_segments}")
    sizes = np.arange(1, n_segments)
    probability = 1.0 / (sizes * (n_segments - sizes))
    drawn = generator.choice(sizes, size=n_masks - 2, p=probability / probability.sum())
    # The ranks of i.i.d. uniforms are a uniform random permutation per row: keeping the
    # segments ranked below k keeps a uniform random k-subset.
    ranks = generator.random((n_masks - 2, n_segments)).argsort(axis=1).argsort(axis=1)
    ends = np.array([[True] * n_segments, [False] * n_segments])
    return np.concatenate([ends, ranks < drawn[:, None]])


def _as_batch(waveform: np.ndarray | torch.Tensor, model: nn.Module) -> torch.Tensor:
    parameter = next(model.parameters())
    tensor = torch.as_tensor(waveform).to(device=parameter.device, dtype=parameter.dtype)
    return tensor.reshape(1, -1)


def whole_segments(n_samples: int, segment_samples: int) -> int:
    """How many `segment_samples`-sample segments make `n_samples`; refuses a remainder."""
    if segment_samples < 1 or n_samples < 1 or n_samples % segment_samples:
        raise ValueError(
            f"{n_samples} samples are not a whole number of {segment_samples}-sample segments"
        )
    return n_samples // segment_samples


def _check_masks(masks: np.ndarray, n_segments: int) -> np.ndarray:
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 2 or masks.shape[0] < 1 or masks.shape[1] != n_segments:
        raise ValueError(f"masks of shape {masks.shape}; expected (n_masks >= 1, {n_segments})")
    return masks


def log_odds(probabilities: torch.Tensor) -> torch.Tensor:
    """log p - log(1 - p), with p clamped to [LOG_ODDS_EPS, 1 - LOG_ODDS_EPS]."""
    return torch.logit(probabilities, eps=LOG_ODDS_EPS)


def masked_probabilities(
    model: nn.Module,
    waveform: np.ndarray | torch.Tensor,
    masks: np.ndarray,
    segment_samples: int,
    batch_size: int,
    fill: np.ndarray | torch.Tensor | None = None,
) -> torch.Tensor:
    """(n_masks, 10) probabilities of every class on every masked copy of the waveform.

    Copy j keeps the samples of the segments where masks[j] is True and zero-fills the
    rest (or takes `fill`'s samples there: igsed.methods.fills); the copies go through the
    model `batch_size` at a time, without gradients.
    """
    x = _as_batch(waveform, model)
    background = 0.0 if fill is None else _as_batch(fill, model)
    keep = torch.as_tensor(_check_masks(masks, whole_segments(x.shape[1], segment_samples)))
    keep = keep.to(x.device)
    batches = []
    with torch.no_grad():
        for start in range(0, keep.shape[0], batch_size):
            samples = keep[start : start + batch_size].repeat_interleave(segment_samples, dim=1)
            batches.append(model(torch.where(samples, x, background)))
    probabilities = torch.cat(batches)
    if probabilities.shape[1] != N_CLASSES:
        raise ValueError(
            f"model returned {probabilities.shape[1]} scores per copy; expected {N_CLASSES}"
        )
    return probabilities


def masked_log_odds(
    model: nn.Module,
    waveform: np.ndarray | torch.Tensor,
    masks: np.ndarray,
    segment_samples: int,
    batch_size: int,
    fill: np.ndarray | torch.Tensor | None = None,
) -> np.ndarray:
    """(n_masks, 10) float64 log-odds of every class on every masked copy of the waveform."""
    probabilities = masked_probabilities(model, waveform, masks, segment_samples, batch_size, fill)
    return log_odds(probabilities).detach().cpu().double().numpy()


def surrogate(
    model: nn.Module,
    waveform: np.ndarray | torch.Tensor,
    targets: Sequence[int],
    settings: SurrogateSettings,
    generator: np.random.Generator,
    segment_samples: int = 3200,
    fill: np.ndarray | torch.Tensor | None = None,
) -> np.ndarray:
    """(k, n_segments) surrogate score of every segment for each target class.

    Draws the masks (`shapley_masks` for kernel_shap, `segment_masks` for random_forest),
    then the forest's seed, from `generator`.
    """
    n_segments = whole_segments(_as_batch(waveform, model).shape[1], segment_samples)
    if settings.fit == "kernel_shap":
        masks = shapley_masks(settings.n_masks, n_segments, generator)
    else:
        masks = segment_masks(settings.n_masks, n_segments, settings.keep_probability, generator)
    random_state = int(generator.integers(2**31))
    return _surrogate(
        model, waveform, targets, masks, settings, segment_samples, random_state, fill
    )


def _surrogate(
    model: nn.Module,
    waveform: np.ndarray | torch.Tensor,
    targets: Sequence[int],
    masks: np.ndarray,
    settings: SurrogateSettings,
    segment_samples: int = 3200,
    random_state: int = 0,
    fill: np.ndarray | torch.Tensor | None = None,
) -> np.ndarray:
    """`surrogate` on the given masks; kernel_shap expects them drawn as `shapley_masks`."""
    targets = [int(t) for t in targets]
    if any(not 0 <= t < N_CLASSES for t in targets):
        raise ValueError(f"targets must be class indices in [0, {N_CLASSES}), got {targets}")
    n_segments = whole_segments(_as_batch(waveform, model).shape[1], segment_samples)
    masks = _check_masks(masks, n_segments)
    if not targets:
        return np.zeros((0, n_segments))
    odds = masked_log_odds(model, waveform, masks, segment_samples, settings.batch_size, fill)
    if settings.fit == "kernel_shap":
        return _kernel_shap_fit(masks, odds[:, targets])
    return _random_forest_fit(masks, odds[:, targets], settings.n_trees, random_state)


def _kernel_shap_fit(masks: np.ndarray, odds: np.ndarray) -> np.ndarray:
    """(k, M) coefficients of the weighted least-squares fit, all k classes in one solve.

    The estimator Captum's KernelShap uses: sklearn's LinearRegression with an intercept,
    weight 1 per mask (the kernel is in the sampling) and ENDPOINT_WEIGHT for all/none.
    """
    kept = masks.sum(axis=1)
    weights = np.where((kept == 0) | (kept == masks.shape[1]), ENDPOINT_WEIGHT, 1.0)
    # Imported here: scikit-learn takes ~2 s to import, which every attribute job would pay.
    from sklearn.linear_model import LinearRegression

    fit = LinearRegression().fit(masks.astype(np.float64), odds, sample_weight=weights)
    return fit.coef_.reshape(odds.shape[1], masks.shape[1])


def _random_forest_fit(
    masks: np.ndarray, odds: np.ndarray, n_trees: int, random_state: int
) -> np.ndarray:
    """(k, M) feature importances of one forest per class.

    One forest per class because a multi-output forest has a single importance vector.
    Every class's forest gets the same seed, so a class's scores do not depend on which
    other classes are attributed with it.
    """
    from sklearn.ensemble import RandomForestRegressor  # lazy, as in _kernel_shap_fit

    features = masks.astype(np.float64)
    forests = [
        RandomForestRegressor(n_estimators=n_trees, random_state=random_state).fit(features, y)
        for y in odds.T
    ]
    return np.stack([forest.feature_importances_ for forest in forests])
