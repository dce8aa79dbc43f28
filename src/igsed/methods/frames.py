"""Waveform-level and model-frame scores mapped onto the 100 ms evaluation grid.

Waveform attributions become mean |a| per 100 ms frame; the framewise heads' 0.32 s
outputs map to the 100 ms frame whose centre they cover (docs/metrics.md).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from igsed.core.constants import (
    EVAL_FRAME_SECONDS,
    MODEL_FRAME_SECONDS,
    N_EVAL_FRAMES,
    SAMPLE_RATE,
)

EVAL_FRAME_SAMPLES = round(EVAL_FRAME_SECONDS * SAMPLE_RATE)  # 3200


def frame_magnitude(
    attribution: np.ndarray | torch.Tensor,
    frame_samples: int = EVAL_FRAME_SAMPLES,
    n_frames: int = N_EVAL_FRAMES,
) -> np.ndarray:
    """Mean |value| per frame of a (N,) signal, N = frame_samples * n_frames -> (n_frames,)."""
    values = np.asarray(attribution, dtype=np.float64).reshape(-1)
    if values.shape[0] != frame_samples * n_frames:
        raise ValueError(
            f"signal has {values.shape[0]} samples; expected {n_frames} frames of "
            f"{frame_samples} samples = {frame_samples * n_frames}"
        )
    return np.abs(values).reshape(n_frames, frame_samples).mean(axis=1).astype(np.float32)


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


def fw_to_eval_grid(
    frame_probs: np.ndarray | torch.Tensor, model_frame_seconds: float = MODEL_FRAME_SECONDS
) -> np.ndarray:
    """(T', C) model-frame values (T' = 31 for 10 s at 0.32 s) -> (100, C) float32 on 100 ms.

    Also maps Grad-CAM's conv-block frames (`model_frame_seconds` of the block): every
    block length is 10 ms x 2^j, so a 100 ms frame centre never falls on a block boundary.
    """
    if isinstance(frame_probs, torch.Tensor):
        frame_probs = frame_probs.detach().cpu().numpy()
    probs = np.asarray(frame_probs, dtype=np.float32)
    if probs.ndim != 2:
        raise ValueError(f"frame values must be (frames, classes), got {probs.shape}")
    index = fw_frame_index(probs.shape[0], model_frame_seconds=model_frame_seconds)
    return probs[index]
