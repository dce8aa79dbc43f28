"""CNN14's mel filterbank against torchaudio's, an implementation independent of librosa.

PANNs builds `logmel_extractor.melW` as `librosa.filters.mel(sr=32000, n_fft=1024,
n_mels=64, fmin=50, fmax=14000).T`: Slaney's mel scale (linear below 1 kHz, logarithmic
above), triangles between consecutive mel points, each divided by half its width in Hz
(Slaney's "constant energy" normalisation). librosa returns (n_mels, n_freqs); PANNs
stores the transpose, (n_freqs, n_mels) = (513, 64), so that a power spectrogram
(..., T, 513) is projected by `power @ melW`. `torchaudio.functional.melscale_fbanks(...,
norm="slaney", mel_scale="slaney")` builds the same matrix, already in that (n_freqs,
n_mels) orientation: no transposition between it and `mel_filterbank()`.

The two differ only in precision: torchaudio computes in torch's default dtype. In
float64 it agrees with igsed's float64 construction to rounding (~1e-17); in float32 the
filter edges, where a slope times a small frequency offset gives a small weight, differ by
up to ~3e-8 absolute (about 1e-6 of the largest weight), which is float32 rounding of the
mel points, not a different filterbank. The model itself holds the float32 cast of the
float64 matrix.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
import torchaudio.functional as AF
import torchaudio.transforms as T

from igsed.core.constants import SAMPLE_RATE
from igsed.models.cnn14 import MEL_FMAX, MEL_FMIN, N_FFT, N_MELS, Cnn14, mel_filterbank

N_FREQS = N_FFT // 2 + 1


@pytest.fixture
def float64_default() -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _torchaudio_fbanks() -> np.ndarray:
    fbanks = AF.melscale_fbanks(
        N_FREQS, MEL_FMIN, MEL_FMAX, N_MELS, SAMPLE_RATE, norm="slaney", mel_scale="slaney"
    )
    return fbanks.numpy()


def test_filterbank_equals_torchaudio_in_float64(float64_default: None) -> None:
    reference = _torchaudio_fbanks()
    ours = mel_filterbank()
    assert reference.dtype == np.float64 and reference.shape == ours.shape == (N_FREQS, N_MELS)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(ours > 0, reference > 0)  # the same bins in every triangle


def test_filterbank_equals_torchaudio_in_float32_to_float32_rounding() -> None:
    reference = _torchaudio_fbanks()
    ours = mel_filterbank()
    assert reference.dtype == np.float32
    np.testing.assert_allclose(ours, reference, rtol=0, atol=3e-6 * ours.max())
    # Slaney normalisation: every triangle has area 1 in Hz; sampled on 31.25 Hz bins, the
    # narrow low filters (a few bins wide) sum to within 6 % of it.
    np.testing.assert_allclose(ours.sum(axis=0) * SAMPLE_RATE / N_FFT, 1.0, rtol=0.06)


def test_model_log_mel_equals_torchaudio_mel_scale_and_decibels() -> None:
    """Cnn14.logmel(power) is torchaudio's MelScale then AmplitudeToDB(power, no top_db)."""
    model = Cnn14(width=1 / 16, n_classes=10)
    np.testing.assert_array_equal(
        model.logmel_extractor.melW.numpy(), mel_filterbank().astype(np.float32)
    )
    power = torch.rand(2, 1, 40, N_FREQS, generator=torch.Generator().manual_seed(0)) ** 4
    mel = T.MelScale(
        n_mels=N_MELS,
        sample_rate=SAMPLE_RATE,
        f_min=MEL_FMIN,
        f_max=MEL_FMAX,
        n_stft=N_FREQS,
        norm="slaney",
        mel_scale="slaney",
    )
    decibels = T.AmplitudeToDB(stype="power", top_db=None)  # amin 1e-10, ref 1: PANNs'
    # torchaudio's spectrograms are (..., freq, time): transpose in and out.
    reference = decibels(mel(power.transpose(-1, -2))).transpose(-1, -2)
    torch.testing.assert_close(model.logmel(power), reference, rtol=0, atol=1e-4)
