"""Frame scores of the comparison methods on the 100 ms evaluation grid.

energy: mean |x| per frame; random: U(0, 1) seeded per clip; FW: the framewise model's
0.32 s output covering the 100 ms frame's centre (DESIGN.md, metric protocol).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch

from igsed.attribution.ig import EVAL_FRAME_SAMPLES, frame_magnitude
from igsed.constants import EVAL_FRAME_SECONDS, MODEL_FRAME_SECONDS, N_CLASSES, N_EVAL_FRAMES


def energy_scores(
    waveform: np.ndarray | torch.Tensor,
    frame_samples: int = EVAL_FRAME_SAMPLES,
    n_frames: int = N_EVAL_FRAMES,
) -> np.ndarray:
    """(n_frames,) float32 mean |x| per frame of a (N,) waveform."""
    if isinstance(waveform, torch.Tensor):
        waveform = waveform.detach().cpu().numpy()
    return frame_magnitude(waveform, frame_samples=frame_samples, n_frames=n_frames)


def random_scores(
    clip_id: str, seed: int, n_frames: int = N_EVAL_FRAMES, n_classes: int = N_CLASSES
) -> np.ndarray:
    """(n_frames, n_classes) float32 U(0, 1) scores, a pure function of (clip_id, seed).

    The stream is keyed by sha256 of the clip id (not Python's salted hash()), so a clip
    gets the same scores in any shard, process or run.
    """
    digest = hashlib.sha256(clip_id.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, len(digest), 4)]
    sequence = np.random.SeedSequence([int(seed), *words])
    generator = np.random.default_rng(sequence)
    return generator.random((n_frames, n_classes)).astype(np.float32)


def fw_frame_index(
    n_model_frames: int,
    n_frames: int = N_EVAL_FRAMES,
    frame_seconds: float = EVAL_FRAME_SECONDS,
    model_frame_seconds: float = MODEL_FRAME_SECONDS,
) -> np.ndarray:
    """(n_frames,) index of the model frame that covers each evaluation frame's centre.

    Model frame j covers [j d_m, (j + 1) d_m); the model's frames stop short of the clip
    end (31 x 0.32 s = 9.92 s), so centres past the last frame use the last frame.
    With d = 0.1 and d_m = 0.32 a centre (i + 0.5) d never falls on a boundary j d_m
    (10 i + 5 is odd, 32 j even), so flooring the float ratio is exact here.
    """
    if n_model_frames < 1:
        raise ValueError(f"need at least one model frame, got {n_model_frames}")
    index = np.empty(n_frames, dtype=np.int64)
    for i in range(n_frames):
        centre = (i + 0.5) * frame_seconds
        index[i] = min(math.floor(centre / model_frame_seconds), n_model_frames - 1)
    return index


def fw_to_eval_grid(frame_probs: np.ndarray | torch.Tensor) -> np.ndarray:
    """(T', C) framewise probabilities (T' = 31 for 10 s) -> (100, C) float32 on 100 ms."""
    if isinstance(frame_probs, torch.Tensor):
        frame_probs = frame_probs.detach().cpu().numpy()
    probs = np.asarray(frame_probs, dtype=np.float32)
    if probs.ndim != 2:
        raise ValueError(f"frame probabilities must be (frames, classes), got {probs.shape}")
    return probs[fw_frame_index(probs.shape[0])]
