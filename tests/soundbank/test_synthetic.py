"""The procedural soundbank: layout, determinism, natural variety and class distinctness."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
from scipy import fft, optimize, signal

from igsed.core.constants import CLASSES, SAMPLE_RATE
from igsed.soundbank.synthetic import (
    generate_background,
    generate_event,
    generate_synthetic_soundbank,
)

# The default configuration's foreground pools; fewer backgrounds keep the test fast.
FILES_PER_CLASS = {"train": 24, "eval": 12}
BACKGROUNDS = {"train": 2, "eval": 2}
SMALL_FILES = {"train": 2, "eval": 1}
SMALL_BACKGROUNDS = {"train": 1, "eval": 1}

# The natural lengths (seconds), written out here so the test checks the spec itself.
TRANSIENT = {"Dishes": (0.25, 1.5), "Dog": (0.25, 1.5)}
VOCAL_ALARM = {"Cat": (0.5, 4.0), "Speech": (0.5, 4.0), "Alarm_bell_ringing": (0.5, 4.0)}
CONTINUOUS = {
    name: (1.5, 6.0)
    for name in (
        "Blender",
        "Vacuum_cleaner",
        "Electric_shaver_toothbrush",
        "Frying",
        "Running_water",
    )
}
LENGTHS = {**TRANSIENT, **VOCAL_ALARM, **CONTINUOUS}


def _wav_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.wav"))}


def _read(path: Path) -> np.ndarray:
    audio, rate = sf.read(path, dtype="float64")
    assert rate == SAMPLE_RATE
    return audio


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("synthetic") / "bank"
    summary = generate_synthetic_soundbank(
        root, seed=1, files_per_class=FILES_PER_CLASS, backgrounds=BACKGROUNDS
    )
    return root, summary


@pytest.fixture(scope="module")
def events(bank: tuple[Path, dict]) -> dict[str, dict[str, list[np.ndarray]]]:
    root, _ = bank
    return {
        pool: {
            label: [_read(p) for p in sorted((root / pool / "foreground" / label).glob("*.wav"))]
            for label in CLASSES
        }
        for pool in ("train", "eval")
    }


def test_layout_counts_and_format(bank: tuple[Path, dict]) -> None:
    root, summary = bank
    assert sorted(p.name for p in root.iterdir()) == ["eval", "train"]
    for pool in ("train", "eval"):
        assert sorted(p.name for p in (root / pool).iterdir()) == ["background", "foreground"]
        class_dirs = sorted(p.name for p in (root / pool / "foreground").iterdir())
        assert class_dirs == sorted(CLASSES)
        for label in CLASSES:
            files = sorted((root / pool / "foreground" / label).iterdir())
            assert len(files) == FILES_PER_CLASS[pool]
            seconds = 0.0
            for path in files:
                info = sf.info(str(path))
                assert path.suffix == ".wav"
                assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16")
                seconds += info.duration
            entry = summary["halves"][pool]["foreground"][label]
            assert entry["files"] == FILES_PER_CLASS[pool]
            assert entry["seconds"] == pytest.approx(seconds, abs=0.01)
        backgrounds = sorted((root / pool / "background").iterdir())
        assert len(backgrounds) == BACKGROUNDS[pool]
        assert summary["halves"][pool]["background"]["files"] == BACKGROUNDS[pool]
    assert summary["seed"] == 1 and summary["sample_rate"] == SAMPLE_RATE


def test_same_seed_is_byte_identical_and_other_seed_differs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kwargs = {"files_per_class": SMALL_FILES, "backgrounds": SMALL_BACKGROUNDS}
    with caplog.at_level(logging.INFO, logger="igsed.soundbank.synthetic"):
        first = generate_synthetic_soundbank(tmp_path / "a", seed=5, **kwargs)
    again = generate_synthetic_soundbank(tmp_path / "b", seed=5, **kwargs)
    other = generate_synthetic_soundbank(tmp_path / "c", seed=6, **kwargs)
    files_a, files_b, files_c = (_wav_files(tmp_path / name) for name in "abc")
    assert len(files_a) == 10 * 3 + 2
    assert files_a == files_b
    assert first == again
    assert files_a.keys() == files_c.keys()
    assert all(files_a[name] != files_c[name] for name in files_a)
    assert first != other
    # Progress is logged once per (pool, class), not per file.
    messages = [record.getMessage() for record in caplog.records]
    for label in CLASSES:
        assert sum(f"/{label}:" in message for message in messages) == 2
    assert len(messages) <= 2 * (len(CLASSES) + 1) + 1


def test_train_and_eval_pools_share_no_file(bank: tuple[Path, dict]) -> None:
    root, _ = bank
    digests = {
        pool: [hashlib.sha256(p.read_bytes()).hexdigest() for p in (root / pool).rglob("*.wav")]
        for pool in ("train", "eval")
    }
    assert len(set(digests["train"])) == len(digests["train"])
    assert len(set(digests["eval"])) == len(digests["eval"])
    assert not set(digests["train"]) & set(digests["eval"])


def test_event_lengths_are_natural(events: dict[str, dict[str, list[np.ndarray]]]) -> None:
    mean_seconds = {}
    for label, (low, high) in LENGTHS.items():
        seconds = [a.shape[0] / SAMPLE_RATE for pool in events for a in events[pool][label]]
        assert min(seconds) >= low - 1e-3, label
        assert max(seconds) <= high + 1e-3, label
        # Lengths spread over the range rather than sitting on one value.
        assert max(seconds) - min(seconds) > 0.3 * (high - low), label
        mean_seconds[label] = float(np.mean(seconds))
    assert min(mean_seconds[c] for c in CONTINUOUS) > max(mean_seconds[c] for c in TRANSIENT)
    assert min(mean_seconds[c] for c in CONTINUOUS) > np.mean(
        [mean_seconds[c] for c in VOCAL_ALARM]
    )


def test_events_have_clean_edges_and_few_silent_stretches(
    events: dict[str, dict[str, list[np.ndarray]]],
) -> None:
    frame = int(0.05 * SAMPLE_RATE)
    for label in CLASSES:
        active_fractions = []
        for audio in events["train"][label] + events["eval"][label]:
            peak = np.abs(audio).max()
            assert peak > 0.05, label
            # Short fades: the first and last samples sit near zero, the body does not.
            assert abs(audio[0]) < 0.01 * peak and abs(audio[-1]) < 0.01 * peak, label
            frames = audio[: audio.shape[0] // frame * frame].reshape(-1, frame)
            level = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-12)
            active = float(np.mean(level > level.max() - 40.0))
            assert active >= 0.4, (label, active)
            active_fractions.append(active)
        assert np.mean(active_fractions) >= 0.75, label


def _power_spectrum(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, power); zero-padded to a fast FFT length (odd lengths are slow)."""
    n_fft = fft.next_fast_len(audio.shape[0], real=True)
    return np.fft.rfftfreq(n_fft, 1.0 / SAMPLE_RATE), np.abs(fft.rfft(audio, n_fft)) ** 2


def test_level_pitch_and_timbre_vary_across_files(
    events: dict[str, dict[str, list[np.ndarray]]],
) -> None:
    for label in CLASSES:
        files = events["train"][label]
        peaks_db = [20 * np.log10(np.abs(a).max()) for a in files]
        assert max(peaks_db) - min(peaks_db) > 8.0, label
        spectra = [_power_spectrum(a) for a in files]
        centroids = np.array([np.sum(f * p) / np.sum(p) for f, p in spectra])
        assert centroids.std() / centroids.mean() > 0.08, label
        # The strongest spectral line (a pitch or a resonance) moves from file to file.
        dominant = np.array([f[np.argmax(p)] for f, p in spectra])
        assert np.std(np.log(dominant)) > 0.1, label


def _mel_statistics(audio: np.ndarray, mel: np.ndarray) -> np.ndarray:
    """Mean and std of log-mel bands, plus the spread of frame-to-frame energy changes."""
    _, _, spec = signal.stft(audio, nperseg=1024, noverlap=1024 - 640, boundary=None, padded=False)
    log_mel = np.log(mel @ np.abs(spec) ** 2 + 1e-10)
    # Level-free, as Scaper rescales every event: relative to the loudest bin, floored at -87 dB.
    log_mel = np.maximum(log_mel - log_mel.max(), -20.0)
    energy = np.log(np.exp(log_mel).mean(axis=0) + 1e-9)
    change = np.diff(energy)[energy[1:] > energy.max() - 6.0]
    change_stats = (
        np.quantile(change, [0.1, 0.25, 0.5, 0.75, 0.9]) if change.size > 3 else np.zeros(5)
    )
    peakiness = log_mel.max(axis=0) - np.median(log_mel, axis=0)
    return np.concatenate(
        [
            log_mel.mean(axis=1),
            log_mel.std(axis=1),
            change_stats,
            [peakiness.mean(), peakiness.std()],
        ]
    )


def _fit_softmax(x: np.ndarray, y: np.ndarray, n_classes: int, l2: float) -> np.ndarray:
    """Multinomial logistic regression (L-BFGS): weights (n_features + 1, n_classes)."""
    design = np.hstack([x, np.ones((x.shape[0], 1))])
    onehot = np.eye(n_classes)[y]

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        weights = flat.reshape(design.shape[1], n_classes)
        logits = design @ weights
        logits -= logits.max(axis=1, keepdims=True)
        log_prob = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        value = -np.mean(np.sum(onehot * log_prob, axis=1)) + l2 * np.sum(weights[:-1] ** 2)
        grad = design.T @ (np.exp(log_prob) - onehot) / design.shape[0]
        grad[:-1] += 2 * l2 * weights[:-1]
        return float(value), grad.ravel()

    start = np.zeros(design.shape[1] * n_classes)
    result = optimize.minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return result.x.reshape(design.shape[1], n_classes)


def test_simple_classifier_on_mel_statistics_separates_held_out_classes(
    events: dict[str, dict[str, list[np.ndarray]]],
) -> None:
    mel = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=1024, n_mels=64)
    features = {}
    for pool in ("train", "eval"):
        rows = [
            (_mel_statistics(audio, mel), index)
            for index, label in enumerate(CLASSES)
            for audio in events[pool][label]
        ]
        features[pool] = (np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))
    x_train, y_train = features["train"]
    x_eval, y_eval = features["eval"]
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-6
    weights = _fit_softmax((x_train - mean) / std, y_train, len(CLASSES), l2=1e-3)
    design = np.hstack([(x_eval - mean) / std, np.ones((x_eval.shape[0], 1))])
    predicted = np.argmax(design @ weights, axis=1)
    accuracy = float(np.mean(predicted == y_eval))
    recalls = {
        label: float(np.mean(predicted[y_eval == i] == i)) for i, label in enumerate(CLASSES)
    }
    print(f"held-out accuracy {accuracy:.3f}; recall per class {recalls}")
    assert accuracy >= 0.85, (accuracy, recalls)
    assert min(recalls.values()) > 0.5, recalls


def test_backgrounds_are_long_quiet_and_low_frequency(
    bank: tuple[Path, dict], events: dict[str, dict[str, list[np.ndarray]]]
) -> None:
    root, _ = bank
    quietest_event_peak = min(
        np.abs(a).max() for pool in events for label in CLASSES for a in events[pool][label]
    )
    for path in sorted(root.glob("*/background/*.wav")):
        audio = _read(path)
        assert audio.shape[0] / SAMPLE_RATE >= 10.0, path
        assert np.abs(audio).max() <= quietest_event_peak * 1.05, path
        # Room noise, hum and thumps: energy sits low, unlike any foreground class.
        freqs, power = _power_spectrum(audio)
        assert power[freqs > 2000].sum() < 0.05 * power.sum(), path
        frames = audio[: audio.shape[0] // 3200 * 3200].reshape(-1, 3200)
        level = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)))
        assert np.all(level > level.max() - 30.0), path  # a texture: no silent stretches


@pytest.mark.parametrize("sample_rate", [16000, 44100])
def test_generators_work_at_other_sample_rates(sample_rate: int) -> None:
    rng = np.random.default_rng(0)
    for label in CLASSES:
        audio = generate_event(label, rng, sample_rate)
        assert audio.dtype == np.float32 and np.all(np.isfinite(audio)), label
        low, high = LENGTHS[label]
        assert low - 1e-3 <= audio.shape[0] / sample_rate <= high + 1e-3, label
        assert 0.1 < np.abs(audio).max() <= 1.0, label
    background = generate_background(rng, 10.5, sample_rate)
    assert background.shape == (int(round(10.5 * sample_rate)),)
    assert np.all(np.isfinite(background)) and np.abs(background).max() > 0


def test_invalid_arguments_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Bird"):
        generate_event("Bird", np.random.default_rng(0), SAMPLE_RATE)
    with pytest.raises(ValueError, match="files_per_class"):
        generate_synthetic_soundbank(
            tmp_path / "x", seed=1, files_per_class={"train": 2}, backgrounds=SMALL_BACKGROUNDS
        )
    with pytest.raises(ValueError, match=r"backgrounds\['eval'\]"):
        generate_synthetic_soundbank(
            tmp_path / "x", seed=1, files_per_class=SMALL_FILES, backgrounds={"train": 1, "eval": 0}
        )
    with pytest.raises(ValueError, match="seed"):
        generate_synthetic_soundbank(
            tmp_path / "x", seed=-1, files_per_class=SMALL_FILES, backgrounds=SMALL_BACKGROUNDS
        )
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "old.wav").write_bytes(b"")
    with pytest.raises(ValueError, match="occupied"):
        generate_synthetic_soundbank(
            occupied, seed=1, files_per_class=SMALL_FILES, backgrounds=SMALL_BACKGROUNDS
        )
    with pytest.raises(ValueError, match="8000 Hz"):
        generate_event("Dog", np.random.default_rng(0), 8000)
    with pytest.raises(ValueError, match="duration_s"):
        generate_background(np.random.default_rng(0), 0.0, SAMPLE_RATE)
