"""Which torch device a stage runs on: CUDA when asked for or available, else the CPU."""

from __future__ import annotations

import logging

import torch

logger = logging.getLogger(__name__)

DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")


def pick_device(choice: str = "auto") -> torch.device:
    """`auto`: the first CUDA device if there is one, else the CPU; `cpu`; `cuda` (must exist)."""
    if choice not in DEVICE_CHOICES:
        raise ValueError(f"device must be one of {DEVICE_CHOICES}, got {choice!r}")
    if choice == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        device = torch.device("cuda")
        logger.info("using %s (%s)", device, torch.cuda.get_device_name(device))
        return device
    if choice == "cuda":
        raise RuntimeError(
            "device: cuda was configured but torch sees no CUDA device "
            f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}); "
            "set device: auto or cpu"
        )
    return torch.device("cpu")
