"""CNN14: PANNs checkpoint compatibility, the log-mel front-end, shapes and gradients."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.signal
import torch
from support.cnn14_weights import official_cnn14_shapes, official_state_dict

from igsed.core.constants import CLIP_SAMPLES, N_MODEL_FRAMES, SAMPLE_RATE
from igsed.core.device import pick_device
from igsed.models.cnn14 import Cnn14, mel_filterbank, pool_time, spec_augment

torch.set_num_threads(1)


def test_official_checkpoint_loads_strictly_at_width_one() -> None:
    model = Cnn14(width=1.0)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == official_cnn14_shapes()
    state = official_state_dict()
    model.load_state_dict(state, strict=True)
    assert torch.equal(model.fc_audioset.weight, state["fc_audioset.weight"])
    assert torch.equal(model.conv_block6.conv2.weight, state["conv_block6.conv2.weight"])
    assert model.embedding_dim == 2048 and model.n_classes == 527


def test_narrow_model_rejects_the_official_checkpoint() -> None:
    with pytest.raises(RuntimeError, match="size mismatch"):
        Cnn14(width=0.5).load_state_dict(official_state_dict(), strict=True)


def test_front_end_parameters_match_panns_construction() -> None:
    model = Cnn14(width=1 / 16, n_classes=10)
    reference = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=1024, n_mels=64, fmin=50, fmax=14000).T
    np.testing.assert_allclose(mel_filterbank(), reference, rtol=1e-5, atol=1e-9)
    assert model.logmel_extractor.melW.shape == (513, 64)
    # The real kernel of bin k is the periodic Hann window times cos(2 pi k n / 1024).
    n = np.arange(1024)
    window = librosa.filters.get_window("hann", 1024, fftbins=True)
    kernel = model.spectrogram_extractor.stft.conv_real.weight[5, 0].numpy()
    np.testing.assert_allclose(kernel, window * np.cos(2 * np.pi * 5 * n / 1024), atol=1e-6)
    frozen = [name for name, p in model.named_parameters() if not p.requires_grad]
    assert sorted(frozen) == [
        "logmel_extractor.melW",
        "spectrogram_extractor.stft.conv_imag.weight",
        "spectrogram_extractor.stft.conv_real.weight",
    ]


def _librosa_mel_power(signal: np.ndarray) -> np.ndarray:
    """librosa.feature.melspectrogram(n_fft=1024, hop 320, hann, centred with reflect
    padding, power 2, 64 mels from 50 Hz to 14 kHz) in float64, as (frames, mels): librosa's
    mel filterbank on numpy's STFT. Equal to the librosa call to 1e-20 of its maximum (checked
    when written); that call compiles librosa's numba kernels, 20 s on a fresh environment."""
    padded = np.pad(signal.astype(np.float64), 512, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, 1024)[::320]
    window = scipy.signal.get_window("hann", 1024, fftbins=True)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    filters = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=1024, n_mels=64, fmin=50, fmax=14000)
    return power @ filters.T


def test_log_mel_matches_librosa() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(int(0.8 * SAMPLE_RATE)) / SAMPLE_RATE
    chirp = 0.4 * np.sin(2 * np.pi * (200 * t + 4000 * t**2))
    signal = (chirp + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
    mel = _librosa_mel_power(signal)
    reference = 10 * np.log10(np.maximum(mel, 1e-10))
    model = Cnn14(width=1 / 16, n_classes=10).eval()
    with torch.no_grad():
        ours = model.logmel(model.power_spectrogram(torch.from_numpy(signal)[None]))[0, 0]
    assert ours.shape == reference.shape == (t.size // 320 + 1, 64)
    # float32 STFT vs librosa's float64 reference: a few 1e-4 dB in the quietest bins.
    np.testing.assert_allclose(ours.numpy(), reference, atol=2e-3, rtol=0)
    assert reference.max() - reference.min() > 40  # a non-trivial dynamic range was compared


def test_silence_sits_on_the_log_floor() -> None:
    model = Cnn14(width=1 / 16, n_classes=10).eval()
    with torch.no_grad():
        logmel = model.logmel(model.power_spectrogram(torch.zeros(1, 16000)))
    assert torch.all(logmel == -100.0)


def test_frame_features_shape_for_a_ten_second_clip() -> None:
    width = 1 / 16
    model = Cnn14(width=width, n_classes=10).eval()
    waveform = torch.randn(2, CLIP_SAMPLES) * 0.1
    with torch.no_grad():
        power = model.power_spectrogram(waveform)
        frames = model.frame_features(waveform)
        logits = model(waveform)
    assert power.shape == (2, 1, 1001, 513)
    assert frames.shape == (2, N_MODEL_FRAMES, int(2048 * width))
    assert logits.shape == (2, 10)
    torch.testing.assert_close(model.frame_features_from_power(power), frames)


def test_model_is_differentiable_from_the_waveform() -> None:
    model = Cnn14(width=1 / 16, n_classes=10).eval()
    waveform = (torch.randn(1, 32000) * 0.1).requires_grad_(True)
    score = torch.sigmoid(model(waveform))[0, 3]
    (gradient,) = torch.autograd.grad(score, waveform)
    assert gradient.shape == waveform.shape
    assert torch.isfinite(gradient).all() and gradient.abs().sum() > 0


def test_spec_augment_and_dropout_only_in_training() -> None:
    torch.manual_seed(0)
    model = Cnn14(width=1 / 16, n_classes=10)
    logmel = torch.randn(3, 1, 200, 64) * 10 - 50
    model.eval()
    with torch.no_grad():
        first, second = model.logits_from_logmel(logmel), model.logits_from_logmel(logmel)
    assert torch.equal(first, second)
    model.train()
    with torch.no_grad():
        assert not torch.equal(model.logits_from_logmel(logmel), first)

    torch.manual_seed(1)
    augmented = spec_augment(torch.ones(8, 1, 200, 64))
    zero_time = (augmented[:, 0] == 0).all(dim=2)  # whole time steps dropped
    zero_freq = (augmented[:, 0] == 0).all(dim=1)  # whole mel bands dropped
    assert zero_time.any() and zero_freq.any()
    assert zero_time.sum(dim=1).max() <= 2 * 63 and zero_freq.sum(dim=1).max() <= 2 * 7
    kept = augmented[augmented != 0]
    assert torch.all(kept == 1)


def test_time_pooling_variants() -> None:
    frames = torch.tensor([[[1.0, -2.0], [3.0, 0.0], [2.0, 2.0]]])
    torch.testing.assert_close(pool_time(frames, "max"), torch.tensor([[3.0, 2.0]]))
    torch.testing.assert_close(pool_time(frames, "mean"), torch.tensor([[2.0, 0.0]]))
    torch.testing.assert_close(pool_time(frames, "max_mean"), torch.tensor([[5.0, 2.0]]))
    with pytest.raises(ValueError, match="time pooling"):
        pool_time(frames, "attention")


def test_pick_device() -> None:
    assert pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            pick_device("cuda")
    with pytest.raises(ValueError, match="device must be one of"):
        pick_device("gpu")


@pytest.mark.parametrize(
    "span",
    [(0, 3200), (3200, 6400), (100, 101), (28800, 32000), (16000, 19200), (31999, 32000)],
    ids=["first frame", "second frame", "one sample", "last frame", "middle", "last sample"],
)
def test_occluded_power_is_the_power_of_the_occluded_copy(span: tuple[int, int]) -> None:
    """Only the STFT frames a zeroed span reaches are recomputed: the result must equal the
    full power spectrogram of the copy, reflect padding at both ends included."""
    torch.manual_seed(0)
    model = Cnn14(width=1 / 16).double().eval()
    x = torch.randn(1, 32_000, dtype=torch.float64)
    copy = x.clone()
    copy[0, span[0] : span[1]] = 0
    with torch.no_grad():
        (ours,) = model.occluded_power(x, [span])
        (expected,) = model.power_spectrogram(copy)
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-12)
    assert not torch.equal(ours, model.power_spectrogram(x)[0])


def test_masked_power_is_the_power_of_the_masked_copies() -> None:
    """Kept-only windows are the waveform's, zeroed-only windows 0, mixed ones recomputed:
    equal to the power spectrogram of each masked copy, reflect padding at both ends
    included, for masks from all kept to all zeroed."""
    torch.manual_seed(0)
    model = Cnn14(width=1 / 16).double().eval()
    x = torch.randn(1, 32_000, dtype=torch.float64)
    rng = np.random.default_rng(1)
    keep = torch.from_numpy(rng.random((6, 10)) < 0.5)
    keep[0], keep[1] = True, False
    keep[2] = torch.tensor([False] + [True] * 9)  # the reflect padding at the start
    keep[3] = torch.tensor([True] * 9 + [False])  # and at the end
    with torch.no_grad():
        ours = model.masked_power(x, keep)
        copies = torch.where(keep.repeat_interleave(3_200, dim=1), x, 0.0)
        expected = model.power_spectrogram(copies)
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-12)
    assert torch.equal(ours[1], torch.zeros_like(ours[1]))
    with pytest.raises(ValueError, match="do not split"):
        model.masked_power(x, torch.ones(1, 7, dtype=torch.bool))
