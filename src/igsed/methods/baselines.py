"""Frame scores of the comparison methods on the 100 ms evaluation grid.

energy: mean |x| per frame; random: U(0, 1) seeded per clip (clip_seed_sequence, which the
sampling methods draw from too).
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from igsed.core.constants import N_CLASSES, N_EVAL_FRAMES
from igsed.methods.frames import EVAL_FRAME_SAMPLES, frame_magnitude


def energy_scores(
    waveform: np.ndarray | torch.Tensor,
    frame_samples: int = EVAL_FRAME_SAMPLES,
    n_frames: int = N_EVAL_FRAMES,
) -> np.ndarray:
    """(n_frames,) float32 mean |x| per frame of a (N,) waveform."""
    if isinstance(waveform, torch.Tensor):
        waveform = waveform.detach().cpu().numpy()
    return frame_magnitude(waveform, frame_samples=frame_samples, n_frames=n_frames)


def clip_seed_sequence(clip_id: str, seed: int) -> np.random.SeedSequence:
    """The random stream of one clip under `seed`, a pure function of (clip_id, seed).

    Keyed by sha256 of the clip id (not Python's salted hash()), so a clip gets the same
    draws in any shard, process or run.
    """
    digest = hashlib.sha256(clip_id.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, len(digest), 4)]
    return np.random.SeedSequence([int(seed), *words])


def random_scores(
    clip_id: str, seed: int, n_frames: int = N_EVAL_FRAMES, n_classes: int = N_CLASSES
) -> np.ndarray:
    """(n_frames, n_classes) float32 U(0, 1) scores, a pure function of (clip_id, seed)."""
    generator = np.random.default_rng(clip_seed_sequence(clip_id, seed))
    return generator.random((n_frames, n_classes)).astype(np.float32)
