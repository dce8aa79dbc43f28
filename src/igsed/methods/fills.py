"""What a perturbation method puts where it removes part of a clip (setting `fill`).

- `zero` (the default, the paper's silence): the removed samples are 0. A silent gap is
  something no real recording has, so the classifier may react to the gap itself.
- `noise`: Gaussian noise at the clip's own noise floor, so a removed stretch sounds like
  the quiet parts of the same clip: the floor is the 10th percentile of the RMS of the
  clip's 100 ms frames (`noise_floor`), and the noise is drawn from a stream keyed by the
  clip id alone (`FILL_SEED`), so every method and every run removes with the same noise.

Occlusion, RISE and the surrogate take the fill (docs/methods.md "Fills").
"""

from __future__ import annotations

import numpy as np

from igsed.methods.baselines import clip_seed_sequence
from igsed.methods.frames import EVAL_FRAME_SAMPLES

FILLS: tuple[str, ...] = ("zero", "noise")
# The noise fill's stream per clip: one constant, so that the fill depends on the clip only.
FILL_SEED = 20_000_101
# The share of a clip's frames quieter than its noise floor.
FLOOR_PERCENTILE = 10.0


def check_fill(fill: str, method: str) -> None:
    if fill not in FILLS:
        raise ValueError(f"{method} fill {fill!r}; allowed: {', '.join(FILLS)}")


def noise_floor(waveform: np.ndarray, frame_samples: int = EVAL_FRAME_SAMPLES) -> float:
    """The 10th percentile of the RMS of the clip's whole `frame_samples` frames."""
    samples = np.asarray(waveform, dtype=np.float64).reshape(-1)
    n_frames = samples.size // frame_samples
    if n_frames == 0:
        raise ValueError(f"a clip of {samples.size} samples has no {frame_samples}-sample frame")
    frames = samples[: n_frames * frame_samples].reshape(n_frames, frame_samples)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return float(np.percentile(rms, FLOOR_PERCENTILE))


def fill_waveform(waveform: np.ndarray, clip_id: str, fill: str) -> np.ndarray | None:
    """What replaces removed samples of the clip: None for `zero`, else a waveform of the
    clip's length and dtype."""
    check_fill(fill, "a perturbation method's")
    if fill == "zero":
        return None
    samples = np.asarray(waveform)
    generator = np.random.default_rng(clip_seed_sequence(clip_id, FILL_SEED))
    noise = noise_floor(samples) * generator.standard_normal(samples.shape)
    return noise.astype(samples.dtype)
