"""PANNs' front end as it was computed before the FFT: a 1024-tap conv1d over DFT kernels.

`panns_dft_kernels` builds the kernels the way torchlibrosa's STFT (PANNs) does, from
complex powers of exp(-2 pi i / n) and librosa's window, independently of igsed.
`ConvDftCnn14` is Cnn14 with the power computed from its own stft.conv_real / conv_imag
kernels by conv1d and matmul, the computation the FFT front end replaced; `occluded_power`
and `masked_power` run their unchanged fast paths on it.
"""

from __future__ import annotations

import librosa
import numpy as np
import torch
import torch.nn.functional as F

from igsed.core.constants import STFT_HOP
from igsed.models.cnn14 import N_FFT, N_FREQ_BINS, Cnn14


def panns_dft_kernels(
    n_fft: int = N_FFT, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """torchlibrosa's STFT kernels, (n_fft // 2 + 1, 1, n_fft) each; float32 as in PANNs."""
    x, y = np.meshgrid(np.arange(n_fft), np.arange(n_fft))
    dft = np.power(np.exp(-2 * np.pi * 1j / n_fft), x * y)
    window = librosa.filters.get_window("hann", n_fft, fftbins=True)
    windowed = (dft[:, : n_fft // 2 + 1] * window[:, None]).T
    real = torch.tensor(np.real(windowed), dtype=dtype)[:, None, :]
    imag = torch.tensor(np.imag(windowed), dtype=dtype)[:, None, :]
    return real, imag


class ConvDftCnn14(Cnn14):
    """Cnn14 whose power spectrogram is the conv1d DFT over its stored kernels.

    Note that `.double()` of a model built in float32 gives float32-rounded kernels (as the
    conv1d front end had in float64); `exact_kernels` puts float64 ones in their place.
    """

    def exact_kernels(self) -> ConvDftCnn14:
        """Put float64 kernels w[n] cos(2 pi k n / N), -w[n] sin(...) in place, the phase
        reduced modulo 2 pi in integers (torchlibrosa's complex powers lose about 1e-11)."""
        n = np.arange(N_FFT)
        phase = 2 * np.pi * (np.outer(np.arange(N_FREQ_BINS), n) % N_FFT) / N_FFT
        window = librosa.filters.get_window("hann", N_FFT, fftbins=True)
        stft = self.spectrogram_extractor.stft
        with torch.no_grad():
            stft.conv_real.weight.copy_(torch.from_numpy(np.cos(phase) * window)[:, None])
            stft.conv_imag.weight.copy_(torch.from_numpy(-np.sin(phase) * window)[:, None])
        return self

    def _power_of_padded(self, padded: torch.Tensor) -> torch.Tensor:
        stft = self.spectrogram_extractor.stft
        kernels = torch.cat([stft.conv_real.weight, stft.conv_imag.weight], dim=0)
        spectrum = F.conv1d(padded, kernels, stride=STFT_HOP)  # (B, 2 * 513, T)
        real, imag = spectrum[:, :N_FREQ_BINS], spectrum[:, N_FREQ_BINS:]
        power = real.square() + imag.square()
        return power.transpose(1, 2)[:, None, :, :]

    def _power_of_windows(self, windows: torch.Tensor) -> torch.Tensor:
        stft = self.spectrogram_extractor.stft
        real = windows @ stft.conv_real.weight[:, 0, :].T
        imag = windows @ stft.conv_imag.weight[:, 0, :].T
        return real.square() + imag.square()
