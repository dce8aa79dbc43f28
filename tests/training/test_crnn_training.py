"""The CRNN learns clip labels, keeps its best epoch, and trains reproducibly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.explained import one_torch_thread  # noqa: F401 - autouse fixture

from igsed.core.constants import SAMPLE_RATE
from igsed.models.crnn import CrnnShape
from igsed.training.crnn import CrnnTraining, LabelledClips, best_epoch, train_crnn

SECONDS = 2
TONE_CLASS, NOISE_CLASS = 0, 3


def _clips(n: int, seed: int) -> LabelledClips:
    """Quiet noise; a 1 kHz tone burst where class 0 is present, loud noise for class 3."""
    rng = np.random.default_rng(seed)
    n_samples = SECONDS * SAMPLE_RATE
    t = np.arange(n_samples) / SAMPLE_RATE
    waveforms = 0.01 * rng.standard_normal((n, n_samples))
    labels = np.zeros((n, 10), np.float32)
    for i in range(n):
        for label, present in ((TONE_CLASS, i % 2 == 0), (NOISE_CLASS, i % 3 == 0)):
            if not present:
                continue
            start = int(rng.integers(0, n_samples // 2))
            burst = slice(start, start + n_samples // 4)
            if label == TONE_CLASS:
                waveforms[i, burst] += 0.5 * np.sin(2 * np.pi * 1000 * t[burst])
            else:
                waveforms[i, burst] += 0.3 * rng.standard_normal(n_samples // 4)
            labels[i, label] = 1
    return LabelledClips(waveforms.astype(np.float32), labels)


SETTINGS = CrnnTraining(max_epochs=6, patience=3, batch_size=8, learning_rate=3e-3, seed=1)
SHAPE = CrnnShape(channels=(8, 16, 16), gru_hidden=16)


@pytest.fixture(scope="module")
def trained() -> tuple:
    return train_crnn(_clips(32, seed=0), _clips(12, seed=1), SHAPE, SETTINGS)


def test_the_crnn_learns_the_clip_labels(trained: tuple) -> None:
    model, history = trained
    assert history[-1]["train_loss"] < 0.8 * history[0]["train_loss"]
    assert min(row["val_loss"] for row in history) < history[0]["val_loss"]
    assert not model.training
    val = _clips(12, seed=1)
    with torch.no_grad():
        clip = model(torch.from_numpy(val.waveforms)).numpy()
    present = val.labels[:, TONE_CLASS] == 1
    assert clip[present, TONE_CLASS].mean() > clip[~present, TONE_CLASS].mean()


def test_the_best_epoch_is_kept_and_training_is_reproducible(trained: tuple) -> None:
    model, history = trained
    again, history_again = train_crnn(_clips(32, seed=0), _clips(12, seed=1), SHAPE, SETTINGS)
    assert history == history_again
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, again.state_dict()[name], rtol=0, atol=0)
    best = best_epoch(history)
    assert history[best - 1]["val_loss"] == min(row["val_loss"] for row in history)


def test_bad_training_settings_and_data_are_refused() -> None:
    with pytest.raises(ValueError, match="patience must be >= 1"):
        CrnnTraining(patience=0)
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        CrnnTraining(learning_rate=float("nan"))
    with pytest.raises(ValueError, match="one label row per clip"):
        LabelledClips(np.zeros((2, 10), np.float32), np.zeros((3, 10), np.float32))
