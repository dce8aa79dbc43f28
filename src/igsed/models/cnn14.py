"""CNN14 (PANNs) with a width multiplier, checkpoint-compatible with `Cnn14_mAP=0.431.pth`.

Parameter names and shapes follow the published AudioSet checkpoint, so at width 1.0 its
`model` state dict loads with strict=True. The front-end is split in two so that the
attribution stage can compute the STFT power once and evaluate the rest of the network on
scaled powers (a waveform scaled by a has power a**2 times the original):

    waveform (B, N) --power_spectrogram--> power (B, 1, T, 513)
                    --logmel--> (B, 1, T, 64) --bn0, SpecAugment, conv blocks-->
                    (B, C, T', F') --mean over F'--> frame features (B, T', D)

For a 10 s clip at 32 kHz, T = 1001 STFT frames and T' = 31 model frames (0.32 s each).

The STFT is computed with an FFT (`torch.fft.rfft` of Hann-windowed frames), not with PANNs'
1024-tap `conv1d` over the DFT kernels, which cost about twice the rest of the network; the
kernels stay in the state dict for checkpoint compatibility (see `_STFT`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from igsed.core.constants import SAMPLE_RATE, STFT_HOP
from igsed.formats.weights import read_backbone_file, write_backbone_file
from igsed.models.freeze import freeze

N_FFT = 1024
N_FREQ_BINS = N_FFT // 2 + 1
N_MELS = 64
MEL_FMIN = 50.0
MEL_FMAX = 14_000.0
LOG_FLOOR = 1e-10  # PANNs' amin: power is clamped here before 10 log10, i.e. -100 dB
BASE_CHANNELS: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048)
AUDIOSET_CLASSES = 527

TimePooling = Literal["max", "mean", "max_mean"]
TIME_POOLINGS: tuple[str, ...] = ("max", "mean", "max_mean")


def hann_window(length: int) -> np.ndarray:
    """Periodic Hann window (scipy/librosa `fftbins=True`), as PANNs' STFT uses."""
    n = np.arange(length, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)


def dft_kernels(n_fft: int = N_FFT) -> tuple[np.ndarray, np.ndarray]:
    """Windowed real and imaginary DFT rows, each (n_fft // 2 + 1, 1, n_fft), float64.

    Row k of the real kernel is w[n] cos(2 pi k n / n_fft); the imaginary one is
    -w[n] sin(2 pi k n / n_fft) (the sign of exp(-i ...)); power does not see the sign.
    """
    n = np.arange(n_fft, dtype=np.float64)
    k = np.arange(n_fft // 2 + 1, dtype=np.float64)
    phase = 2.0 * np.pi * np.outer(k, n) / n_fft
    window = hann_window(n_fft)
    real = np.cos(phase) * window
    imag = -np.sin(phase) * window
    return real[:, None, :], imag[:, None, :]


def _hz_to_mel_slaney(hz: np.ndarray) -> np.ndarray:
    # Slaney's Auditory Toolbox scale: linear below 1 kHz, logarithmic above.
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / f_sp
    above = hz >= min_log_hz
    mel[above] = min_log_mel + np.log(hz[above] / min_log_hz) / logstep
    return mel


def _mel_to_hz_slaney(mel: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    mel = np.asarray(mel, dtype=np.float64)
    hz = f_sp * mel
    above = mel >= min_log_mel
    hz[above] = min_log_hz * np.exp(logstep * (mel[above] - min_log_mel))
    return hz


def mel_filterbank(
    sample_rate: int = SAMPLE_RATE,
    n_fft: int = N_FFT,
    n_mels: int = N_MELS,
    fmin: float = MEL_FMIN,
    fmax: float = MEL_FMAX,
) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) triangular filters on the Slaney mel scale, Slaney-normalised.

    The same construction as librosa.filters.mel(htk=False, norm="slaney"), transposed to
    the layout of PANNs' `logmel_extractor.melW`.
    """
    fft_freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    mel_points = np.linspace(
        _hz_to_mel_slaney(np.array([fmin]))[0],
        _hz_to_mel_slaney(np.array([fmax]))[0],
        n_mels + 2,
    )
    hz_points = _mel_to_hz_slaney(mel_points)
    widths = np.diff(hz_points)
    ramps = hz_points[:, None] - fft_freqs[None, :]
    weights = np.zeros((n_mels, fft_freqs.shape[0]), dtype=np.float64)
    for m in range(n_mels):
        lower = -ramps[m] / widths[m]
        upper = ramps[m + 2] / widths[m + 1]
        weights[m] = np.maximum(0.0, np.minimum(lower, upper))
    # Slaney normalisation: each filter has unit area in Hz (constant energy per band).
    weights *= (2.0 / (hz_points[2 : n_mels + 2] - hz_points[:n_mels]))[:, None]
    return weights.T


def power_to_db(power: torch.Tensor) -> torch.Tensor:
    """10 log10(max(power, 1e-10)), reference 1.0, no top_db (PANNs' log-mel)."""
    return 10.0 * torch.log10(torch.clamp(power, min=LOG_FLOOR))


def spec_augment(
    logmel: torch.Tensor,
    *,
    time_drop_width: int = 64,
    time_stripes: int = 2,
    freq_drop_width: int = 8,
    freq_stripes: int = 2,
) -> torch.Tensor:
    """Zero random time and frequency stripes per example (PANNs' SpecAugmentation settings).

    `logmel` is (B, 1, T, F) after bn0, so zero is the per-band mean. Stripe widths are
    drawn from [0, drop_width), positions uniformly, from torch's global generator.
    """
    batch, _, n_time, n_freq = logmel.shape
    device = logmel.device
    keep = torch.ones(batch, n_time, n_freq, dtype=torch.bool, device=device)
    for axis, size, drop_width, stripes in (
        (1, n_time, time_drop_width, time_stripes),
        (2, n_freq, freq_drop_width, freq_stripes),
    ):
        positions = torch.arange(size, device=device)
        for _ in range(stripes):
            width = torch.randint(0, max(1, min(drop_width, size)), (batch,), device=device)
            start = (torch.rand(batch, device=device) * (size - width + 1)).floor().long()
            stripe = (positions[None, :] >= start[:, None]) & (
                positions[None, :] < (start + width)[:, None]
            )
            keep &= ~(stripe[:, :, None] if axis == 1 else stripe[:, None, :])
    return logmel * keep[:, None, :, :].to(logmel.dtype)


def pool_time(frames: torch.Tensor, pooling: str) -> torch.Tensor:
    """(B, T', D) -> (B, D): global max (the paper), mean, or max + mean (PANNs)."""
    if pooling == "max":
        return frames.max(dim=1).values
    if pooling == "mean":
        return frames.mean(dim=1)
    if pooling == "max_mean":
        return frames.max(dim=1).values + frames.mean(dim=1)
    raise ValueError(f"unknown time pooling {pooling!r}; expected one of {TIME_POOLINGS}")


def scaled_channels(width: float) -> tuple[int, ...]:
    if not width > 0:
        raise ValueError(f"CNN14 width multiplier must be > 0, got {width}")
    return tuple(max(1, int(round(c * width))) for c in BASE_CHANNELS)


class _STFT(nn.Module):
    """Holds the windowed DFT kernels under PANNs' names (stft.conv_real / stft.conv_imag).

    The kernels are kept for checkpoint compatibility only: the power spectrogram is computed
    with an FFT of Hann-windowed frames (`_power_of_frames`), which equals the DFT the kernels
    define (within 1e-10 relative in float64, tests/models/test_cnn14_fft.py) but never reads
    them. So that a checkpoint cannot silently hold another front end, loading a state dict
    whose kernels are not the standard ones (`dft_kernels`, within `KERNEL_TOLERANCE`, i.e.
    float32 rounding) fails; PANNs' own kernels (torchlibrosa's STFT) pass.
    """

    KERNEL_TOLERANCE = 1e-6

    def __init__(self) -> None:
        super().__init__()
        real, imag = dft_kernels(N_FFT)
        self.conv_real = nn.Conv1d(1, N_FREQ_BINS, N_FFT, stride=STFT_HOP, bias=False)
        self.conv_imag = nn.Conv1d(1, N_FREQ_BINS, N_FFT, stride=STFT_HOP, bias=False)
        with torch.no_grad():
            self.conv_real.weight.copy_(torch.from_numpy(real))
            self.conv_imag.weight.copy_(torch.from_numpy(imag))
        self.conv_real.weight.requires_grad_(False)
        self.conv_imag.weight.requires_grad_(False)

    def _load_from_state_dict(
        self,
        state_dict: Mapping[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        # The kernels live in the child Conv1d modules, which load them after this returns:
        # like any failed load_state_dict, a refused one may leave the model partly loaded.
        error_msgs.extend(_kernel_errors(state_dict, prefix, self.KERNEL_TOLERANCE))
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


class _SpectrogramExtractor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stft = _STFT()


class _LogmelExtractor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.melW = nn.Parameter(
            torch.from_numpy(mel_filterbank()).to(torch.float32), requires_grad=False
        )


class ConvBlock(nn.Module):
    """Two 3x3 conv + BN + ReLU layers followed by average pooling."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        nn.init.xavier_uniform_(self.conv1.weight)
        nn.init.xavier_uniform_(self.conv2.weight)

    def forward(self, x: torch.Tensor, pool: int) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        if pool > 1:
            x = F.avg_pool2d(x, kernel_size=pool)
        return x


class Cnn14(nn.Module):
    """CNN14 with conv widths BASE_CHANNELS * `width`; `n_classes` sizes `fc_audioset`.

    Frozen front-end parameters (DFT kernels, mel filters) have requires_grad False but stay
    in the state dict, as in PANNs. `forward` returns logits of `fc_audioset` after
    `pooling` over time; the pipeline's heads use `frame_features` and `fc1` instead.
    """

    def __init__(
        self,
        width: float = 1.0,
        n_classes: int = AUDIOSET_CLASSES,
        pooling: TimePooling = "max_mean",
    ) -> None:
        super().__init__()
        if pooling not in TIME_POOLINGS:
            raise ValueError(f"unknown time pooling {pooling!r}; expected one of {TIME_POOLINGS}")
        self.width = float(width)
        self.pooling = pooling
        # Training-time regularisers (PANNs' values); neither acts in eval mode.
        self.spec_augment = True
        self.conv_dropout = 0.2
        channels = scaled_channels(width)
        self.embedding_dim = channels[-1]
        self.spectrogram_extractor = _SpectrogramExtractor()
        self.logmel_extractor = _LogmelExtractor()
        self.bn0 = nn.BatchNorm2d(N_MELS)
        blocks = []
        in_channels = 1
        for out_channels in channels:
            blocks.append(ConvBlock(in_channels, out_channels))
            in_channels = out_channels
        # Named attributes (not a ModuleList) keep PANNs' parameter names conv_block1..6.
        for index, block in enumerate(blocks, start=1):
            self.add_module(f"conv_block{index}", block)
        self.fc1 = nn.Linear(self.embedding_dim, self.embedding_dim)
        self.fc_audioset = nn.Linear(self.embedding_dim, n_classes)
        nn.init.xavier_uniform_(self.fc1.weight)
        nn.init.zeros_(self.fc1.bias)
        nn.init.xavier_uniform_(self.fc_audioset.weight)
        nn.init.zeros_(self.fc_audioset.bias)

    @property
    def n_classes(self) -> int:
        return self.fc_audioset.out_features

    def conv_blocks(self) -> list[ConvBlock]:
        return [getattr(self, f"conv_block{i}") for i in range(1, len(BASE_CHANNELS) + 1)]

    def power_spectrogram(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, N) waveform -> (B, 1, T, 513) |STFT|**2, T = N // 320 + 1 (centred, reflect)."""
        if waveform.dim() != 2:
            raise ValueError(
                f"waveform must be (batch, samples), got shape {tuple(waveform.shape)}"
            )
        padded = F.pad(waveform[:, None, :], (N_FFT // 2, N_FFT // 2), mode="reflect")
        return self._power_of_padded(padded)

    def _power_of_padded(self, padded: torch.Tensor) -> torch.Tensor:
        """(B, 1, L) padded waveform -> (B, 1, T, 513) power of every full window in it."""
        frames = padded[:, 0].unfold(-1, N_FFT, STFT_HOP)  # (B, T, N_FFT), a strided view
        return _power_of_frames(frames)[:, None]

    def occluded_power(self, waveform: torch.Tensor, spans: list[tuple[int, int]]) -> torch.Tensor:
        """(S, 1, T, 513) power spectrograms of copies of a (1, N) waveform, copy i with the
        samples spans[i] = [start, stop) set to zero.

        Equal to power_spectrogram of the copies, but only the STFT frames whose window
        reaches a zeroed sample (through the reflect padding too) are recomputed: a 100 ms
        span touches 14 of a 10 s clip's 1001 frames, so occlusion pays the front end about
        once per clip instead of once per copy.
        """
        if waveform.dim() != 2 or waveform.shape[0] != 1:
            raise ValueError(f"waveform must be (1, samples), got {tuple(waveform.shape)}")
        padded = F.pad(waveform[:, None, :], (N_FFT // 2, N_FFT // 2), mode="reflect")
        base = self._power_of_padded(padded)
        # Which original sample each padded position holds (the reflect padding repeats some).
        n_samples = waveform.shape[1]
        source = torch.arange(n_samples, dtype=torch.float64)[None, None, :]
        source = F.pad(source, (N_FFT // 2, N_FFT // 2), mode="reflect")[0, 0].long()
        copies = base.repeat(len(spans), 1, 1, 1)
        for row, (start, stop) in enumerate(spans):
            reached = torch.nonzero((source >= start) & (source < stop)).flatten()
            if reached.numel() == 0:
                continue
            first = max(0, math.ceil((int(reached[0]) - N_FFT + 1) / STFT_HOP))
            last = min(base.shape[2] - 1, int(reached[-1]) // STFT_HOP)
            segment = padded[:, :, first * STFT_HOP : last * STFT_HOP + N_FFT].clone()
            inside = reached - first * STFT_HOP
            segment[0, 0, inside[inside < segment.shape[2]]] = 0
            copies[row, :, first : last + 1] = self._power_of_padded(segment)[0]
        return copies

    def masked_power(self, waveform: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """(S, 1, T, 513) power spectrograms of copies of a (1, N) waveform, copy i with the
        samples of each of the equal slices that keep[i] (S, n_slices) marks False set to 0.

        Equal to power_spectrogram of the copies, but only the STFT frames whose window holds
        both kept and zeroed samples (through the reflect padding too) are computed again:
        a frame of kept samples only is the waveform's own, one of zeroed samples only is 0.
        Deletion and insertion curves (rule faithfulness) thus pay the front end about once
        per clip instead of once per masked copy.
        """
        if waveform.dim() != 2 or waveform.shape[0] != 1:
            raise ValueError(f"waveform must be (1, samples), got {tuple(waveform.shape)}")
        n_samples, n_slices = waveform.shape[1], keep.shape[1]
        if n_samples % n_slices:
            raise ValueError(f"{n_samples} samples do not split into {n_slices} slices")
        padded = F.pad(waveform[:, None, :], (N_FFT // 2, N_FFT // 2), mode="reflect")
        base = self._power_of_padded(padded)
        window_slices, touches = _window_slices(n_samples, n_slices, base.shape[2])
        kept = keep.to(device=waveform.device, dtype=base.dtype)
        touches = touches.to(device=waveform.device, dtype=base.dtype)
        # Per copy and STFT window: how many of the slices it reaches are kept, zeroed.
        n_kept, n_zeroed = kept @ touches.T, (1 - kept) @ touches.T
        copies = base.repeat(keep.shape[0], 1, 1, 1)
        copies[:, 0][n_kept == 0] = 0
        rows, frames = torch.nonzero((n_kept > 0) & (n_zeroed > 0), as_tuple=True)
        if rows.numel():
            slices = window_slices.to(waveform.device)[frames]  # (M, N_FFT)
            offsets = frames[:, None] * STFT_HOP + torch.arange(N_FFT, device=waveform.device)
            on = keep.to(device=waveform.device, dtype=torch.bool)[rows[:, None], slices]
            windows = torch.where(on, padded[0, 0][offsets], 0.0)
            copies[rows, 0, frames] = self._power_of_windows(windows)
        return copies

    def _power_of_windows(self, windows: torch.Tensor) -> torch.Tensor:
        """(M, N_FFT) windows -> (M, 513) power."""
        return _power_of_frames(windows)

    def logmel(self, power: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, 513) power -> (B, 1, T, 64) log-mel in dB."""
        return power_to_db(torch.matmul(power, self.logmel_extractor.melW))

    def frame_features_from_logmel(self, logmel: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, 64) log-mel -> (B, T', D) features after the frequency mean.

        bn0 normalises each mel band; SpecAugment and dropout act only in training mode.
        """
        x = self.bn0(logmel.transpose(1, 3)).transpose(1, 3)
        if self.training and self.spec_augment:
            x = spec_augment(x)
        blocks = self.conv_blocks()
        for index, block in enumerate(blocks):
            x = block(x, pool=2 if index < len(blocks) - 1 else 1)
            x = F.dropout(x, p=self.conv_dropout, training=self.training)
        return x.mean(dim=3).transpose(1, 2)

    def frame_features_from_power(self, power: torch.Tensor) -> torch.Tensor:
        return self.frame_features_from_logmel(self.logmel(power))

    def frame_features(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, N) waveform -> (B, T', D); (B, 31, D) for 320000 samples."""
        return self.frame_features_from_power(self.power_spectrogram(waveform))

    def embedding(self, pooled: torch.Tensor) -> torch.Tensor:
        """ReLU(fc1(x)) for pooled (B, D) or per-frame (B, T', D) features."""
        return F.relu(self.fc1(pooled))

    def logits_from_frame_features(self, frames: torch.Tensor) -> torch.Tensor:
        pooled = pool_time(frames, self.pooling)
        pooled = F.dropout(pooled, p=0.5, training=self.training)
        return self.fc_audioset(self.embedding(pooled))

    def logits_from_logmel(self, logmel: torch.Tensor) -> torch.Tensor:
        return self.logits_from_frame_features(self.frame_features_from_logmel(logmel))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, N) waveform -> (B, n_classes) logits of the pretraining output layer."""
        return self.logits_from_frame_features(self.frame_features(waveform))


def save_backbone(model: Cnn14, path: Path, *, source: str, config: Mapping[str, Any]) -> None:
    """Write `model` as a backbone file (igsed.formats.weights); `load_backbone` reads it."""
    write_backbone_file(
        Path(path), model.state_dict(), width=model.width, source=source, config=config
    )


def load_backbone(path: Path, device: torch.device | str = "cpu") -> Cnn14:
    """The backbone file `path` (igsed.formats.weights) as a frozen Cnn14 on `device`."""
    payload = read_backbone_file(path)
    state = payload["state_dict"]
    config = payload["config"]
    model = Cnn14(
        width=float(payload["width"]),
        n_classes=int(state["fc_audioset.weight"].shape[0]),
        pooling=str(config.get("pooling", "max_mean")),
    )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(
            f"{path}: weights do not fit CNN14 width {payload['width']}: {err}"
        ) from err
    freeze(model, device)
    return model


def _power_of_frames(frames: torch.Tensor) -> torch.Tensor:
    """(..., N_FFT) frames -> (..., 513) |DFT of the Hann-windowed frame|**2, via rfft."""
    window, bin_weights = _fft_constants(
        frames.dtype, frames.device, torch.is_inference_mode_enabled()
    )
    windowed = frames * window
    if torch.jit.is_tracing():  # an export (torch.jit.trace) records torch ops, not Functions
        spectrum = torch.fft.rfft(windowed, dim=-1)
        return spectrum.real.square() + spectrum.imag.square()
    return _PowerSpectrum.apply(windowed, bin_weights)


class _PowerSpectrum(torch.autograd.Function):
    """|rfft(y)|**2 over the last axis, its backward one irfft.

    torch's backward of rfft pads the half spectrum to full length and runs a complex FFT,
    half the front end's forward + backward time. The power has a closed-form gradient: for
    P_k = |Y_k|**2 and upstream g, dL/dy = irfft(w g Y) with w = N_FFT * (2, 1, ..., 1, 2)
    (irfft counts the bins other than 0 and N/2 twice). Under create_graph the backward
    recomputes Y from y, so that second derivatives are right too.
    """

    @staticmethod
    def forward(ctx: Any, windowed: Tensor, bin_weights: Tensor) -> Tensor:
        spectrum = torch.fft.rfft(windowed, dim=-1)
        ctx.save_for_backward(windowed, spectrum, bin_weights)
        return spectrum.real.square() + spectrum.imag.square()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        windowed, spectrum, bin_weights = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: a spectrum autograd can differentiate
            spectrum = torch.fft.rfft(windowed, dim=-1)
        return torch.fft.irfft(grad * bin_weights * spectrum, n=N_FFT, dim=-1), None


@functools.lru_cache(maxsize=8)
def _fft_constants(
    dtype: torch.dtype, device: torch.device, inference_mode: bool
) -> tuple[Tensor, Tensor]:
    """The Hann window and _PowerSpectrum's bin weights. Built in float64 and then cast, so
    a float64 model gets the exact window; keyed on inference mode, since a tensor made
    there could not be saved for a later backward pass."""
    bin_weights = np.full(N_FREQ_BINS, float(N_FFT))
    bin_weights[[0, -1]] *= 2.0
    window = torch.from_numpy(hann_window(N_FFT)).to(device=device, dtype=dtype)
    return window, torch.from_numpy(bin_weights).to(device=device, dtype=dtype)


def _kernel_errors(state_dict: Mapping[str, Any], prefix: str, tolerance: float) -> list[str]:
    """Why the DFT kernels in `state_dict` are not the standard ones (none: they are)."""
    errors = []
    for name, expected in zip(("conv_real", "conv_imag"), _standard_kernels(), strict=True):
        loaded = state_dict.get(f"{prefix}{name}.weight")
        if loaded is None or tuple(loaded.shape) != expected.shape:
            continue  # torch reports it as missing or as a size mismatch
        error = float(np.max(np.abs(loaded.detach().cpu().double().numpy() - expected)))
        if error > tolerance:
            errors.append(
                f"{prefix}{name}.weight is not the Hann-windowed DFT the FFT front end "
                f"computes (largest difference {error:.3g})"
            )
    return errors


@functools.lru_cache(maxsize=1)
def _standard_kernels() -> tuple[np.ndarray, np.ndarray]:
    return dft_kernels(N_FFT)


@functools.lru_cache(maxsize=4)
def _window_slices(n_samples: int, n_slices: int, n_windows: int) -> tuple[Tensor, Tensor]:
    """For the centred, reflect-padded STFT of n_samples: the slice of every sample of every
    window, (n_windows, N_FFT), and which slices each window reaches, (n_windows, n_slices)."""
    source = torch.arange(n_samples, dtype=torch.float64)[None, None, :]
    source = F.pad(source, (N_FFT // 2, N_FFT // 2), mode="reflect")[0, 0].long()
    offsets = torch.arange(n_windows)[:, None] * STFT_HOP + torch.arange(N_FFT)
    slices = source[offsets] // (n_samples // n_slices)
    touches = torch.zeros(n_windows, n_slices, dtype=torch.bool)
    touches[torch.arange(n_windows)[:, None], slices] = True
    return slices, touches
