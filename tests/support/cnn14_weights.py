"""A random state dict with the exact names and shapes of the PANNs CNN14 checkpoint."""

from __future__ import annotations

from collections.abc import Callable

import librosa
import torch

from support.dft_reference import panns_dft_kernels

PANNS_CHANNELS = (64, 128, 256, 512, 1024, 2048)


def official_cnn14_shapes() -> dict[str, tuple[int, ...]]:
    """Names and shapes of the `model` state dict in PANNs' Cnn14_mAP=0.431.pth (written out
    from the published architecture, not derived from our model)."""
    shapes: dict[str, tuple[int, ...]] = {
        "spectrogram_extractor.stft.conv_real.weight": (513, 1, 1024),
        "spectrogram_extractor.stft.conv_imag.weight": (513, 1, 1024),
        "logmel_extractor.melW": (513, 64),
    }

    def batch_norm(prefix: str, n: int) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{name}"] = (n,)
        shapes[f"{prefix}.num_batches_tracked"] = ()

    batch_norm("bn0", 64)
    in_channels = 1
    for index, out_channels in enumerate(PANNS_CHANNELS, start=1):
        shapes[f"conv_block{index}.conv1.weight"] = (out_channels, in_channels, 3, 3)
        shapes[f"conv_block{index}.conv2.weight"] = (out_channels, out_channels, 3, 3)
        batch_norm(f"conv_block{index}.bn1", out_channels)
        batch_norm(f"conv_block{index}.bn2", out_channels)
        in_channels = out_channels
    shapes["fc1.weight"] = (2048, 2048)
    shapes["fc1.bias"] = (2048,)
    shapes["fc_audioset.weight"] = (527, 2048)
    shapes["fc_audioset.bias"] = (527,)
    return shapes


def official_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A checkpoint-shaped state dict that stays small on disk: every tensor but the DFT
    kernels is a random row broadcast along its first axis (torch.save keeps the stride-0
    view, not 80 M floats). The kernels are PANNs' own (torchlibrosa's construction, 4 MB),
    as in the real checkpoint: Cnn14 refuses other kernels, its FFT front end ignores them."""
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for name, shape in official_cnn14_shapes().items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(1000, dtype=torch.long)
        elif name.endswith("running_var"):
            state[name] = torch.rand(shape, generator=generator) + 0.5
        else:
            row = torch.randn((1, *shape[1:]), generator=generator) * 0.01
            state[name] = row.expand(shape)
    real, imag = panns_dft_kernels()
    state["spectrogram_extractor.stft.conv_real.weight"] = real
    state["spectrogram_extractor.stft.conv_imag.weight"] = imag
    return state


def trained_like_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A full-size checkpoint-shaped state dict (80 M floats, about 320 MB saved) whose
    activations stay in range through all six blocks, as a trained CNN14's do: He-uniform
    convolutions (ReLU keeps their scale), Xavier-uniform linears as PANNs' init_layer,
    seeded random batch-norm statistics near (0, 1), bn0 normalising log-mel in dB, and
    PANNs' own front end (torchlibrosa's DFT kernels, librosa's Slaney mel filters at
    32 kHz, 50-14,000 Hz). Every output channel differs, unlike `official_state_dict`'s
    broadcast rows, so frozen features separate clips and heads can learn from them."""
    generator = torch.Generator().manual_seed(seed)

    def uniform(shape: tuple[int, ...], low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(shape, generator=generator)

    state: dict[str, torch.Tensor] = {}
    for name, shape in official_cnn14_shapes().items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(1000, dtype=torch.long)
        elif name.startswith("bn0."):
            state[name] = _bn0_statistic(name, shape, uniform)
        elif name.endswith(("running_mean", "bias")) and ".bn" in name:
            state[name] = 0.1 * torch.randn(shape, generator=generator)
        elif name.endswith("running_var"):
            state[name] = uniform(shape, 0.5, 1.5)
        elif ".bn" in name:  # batch-norm scale
            state[name] = uniform(shape, 0.8, 1.2)
        elif name.endswith(".bias"):
            state[name] = torch.zeros(shape)
        elif name.endswith(".weight") and len(shape) == 4:  # He: ReLU keeps the scale
            bound = (6.0 / (shape[1] * shape[2] * shape[3])) ** 0.5
            state[name] = uniform(shape, -bound, bound)
        elif name.endswith(".weight"):  # Xavier, as PANNs' init_layer
            bound = (6.0 / (shape[0] + shape[1])) ** 0.5
            state[name] = uniform(shape, -bound, bound)
    real, imag = panns_dft_kernels()
    state["spectrogram_extractor.stft.conv_real.weight"] = real
    state["spectrogram_extractor.stft.conv_imag.weight"] = imag
    mel = librosa.filters.mel(sr=32000, n_fft=1024, n_mels=64, fmin=50.0, fmax=14000.0)
    state["logmel_extractor.melW"] = torch.tensor(mel.T, dtype=torch.float32)
    assert set(state) == set(official_cnn14_shapes())
    return state


def _bn0_statistic(
    name: str,
    shape: tuple[int, ...],
    uniform: Callable[[tuple[int, ...], float, float], torch.Tensor],
) -> torch.Tensor:
    """bn0 turns log-mel dB (roughly -100 to 0 on soundscapes) into unit-scale inputs."""
    if name.endswith("running_mean"):
        return uniform(shape, -60.0, -40.0)
    if name.endswith("running_var"):
        return uniform(shape, 300.0, 500.0)
    if name.endswith("weight"):
        return uniform(shape, 0.8, 1.2)
    return torch.zeros(shape)
