"""`igsed explain` on a fake finished run: any format, rate, length and channel count.

The run directory holds a random narrow CNN14 with its three heads, saved as the real
model files, a tau_star.json in the evaluate rule's layout and one IG shard whose
recorded settings (4 steps) the command must use. The files are noise with tone bursts
in wav, flac, ogg and mp3, at 16, 32 and 44.1 kHz, 3 to 23 s, mono and stereo.
"""

from __future__ import annotations

import math
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import torchaudio
from sed_scores_eval.base_modules.io import read_sed_scores
from support.explained import one_torch_thread  # noqa: F401 - autouse fixture

from igsed.cli import main
from igsed.core.annotations import Event, frame_mask
from igsed.core.checksums import file_digest
from igsed.core.constants import CLASS_INDEX, CLASSES, CLIP_SAMPLES, SAMPLE_RATE
from igsed.core.metrics import percentile_mask
from igsed.explain.audio import AudioError, read_audio, windows
from igsed.explain.detection import mask_events, windowed_mask
from igsed.formats.handover import write_handover_json
from igsed.formats.shards import ClipScores, model_checksum, write_shard
from igsed.methods.loading import SHARD_CONTEXT_KEYS, run_context
from igsed.methods.registry import IMPLEMENTATIONS, ClipInput, method_settings
from igsed.models.cnn14 import Cnn14, load_backbone, save_backbone
from igsed.models.crnn import Crnn, CrnnShape
from igsed.models.explained import load_explained_model
from igsed.models.heads import make_head, save_head
from igsed.models.stored import save_crnn

TAUS = {"ig": 90, "saliency": 80, "gradcam": 70, "energy": 60, "fw_weak": 85}
IG_PARAMS = {
    "engine": "fused",
    "n_steps": 4,
    "method": "gausslegendre",
    "internal_batch_size": 4,
    "memory_budget_mb": 512.0,
}
# name: (format, sample rate, seconds, channels)
FILES = {
    "speech.wav": ("WAV", 16000, 3.0, 1),
    "street.flac": ("FLAC", 44100, 23.0, 2),
    "kitchen.ogg": ("OGG", 32000, 10.0, 2),
    "dog.mp3": ("MP3", 44100, 4.5, 1),
}


def _tau_star() -> dict:
    """tau_star.json as the evaluate rule writes it (igsed.evaluation.evaluate)."""
    return {
        "selection": "argmax over integer tau in tau_range of the val macro mean",
        "tau_range": [1, 99],
        "options": {"threshold": 0.5, "count_false_positives": False, "fw_detections": "own"},
        "methods": {
            m: {"n_val_instances": 4, "iou": {"tau": t, "val_value": 0.4}, "f1": {"tau": 50}}
            for m, t in TAUS.items()
        },
    }


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("run")
    models = root / "results" / "models" / "cnn14"
    torch.manual_seed(0)
    backbone = Cnn14(width=1 / 16).eval()
    save_backbone(backbone, models / "backbone.pt", source="test", config={"pooling": "max_mean"})
    sha256 = file_digest(models / "backbone.pt")
    for head in ("clip", "fw_weak", "fw_strong"):
        module = make_head(head, backbone, clip_pooling="max")
        path = models / f"head_{head}.pt"
        save_head(module, path, head=head, backbone_sha256=sha256, training={})
    write_handover_json(
        root / "results" / "main" / "cnn14" / "evaluation" / "tau_star.json", _tau_star()
    )
    scores = ClipScores("test_00001", ["Dog"], np.zeros((1, 100), dtype=np.float32))
    write_shard(
        root / "results" / "main" / "cnn14" / "attribution" / "ig" / "test" / "shard_00000.h5",
        [scores],
        method="ig",
        split="test",
        # The models IG runs with, as the attribute rule records them (explain checks it).
        model_checksum=model_checksum(
            {"backbone": models / "backbone.pt", "clip_head": models / "head_clip.pt"}
        ),
        instances_checksum="",
        settings={**IG_PARAMS, **run_context(torch.device("cpu"))},
    )
    return root


def _signal(rate: int, seconds: float, channels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = round(rate * seconds)
    t = np.arange(n) / rate
    mono = 0.01 * rng.standard_normal(n)
    for start in rng.uniform(0, seconds - 0.5, size=3):
        burst = (t >= start) & (t < start + 0.5)
        mono[burst] += 0.4 * np.sin(2 * np.pi * rng.uniform(300, 3000) * t[burst])
    return np.stack([mono * (0.5 + 0.5 * c) for c in range(channels)], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audio")
    for seed, (name, (fmt, rate, seconds, channels)) in enumerate(FILES.items()):
        sf.write(folder / name, _signal(rate, seconds, channels, seed), rate, format=fmt)
    (folder / "broken.wav").write_bytes(b"RIFF" + struct.pack("<I", 36) + b"WAVEjunk" * 4)
    return folder


def _expected_frames(path: Path) -> tuple[int, float]:
    """Frames and duration at 32 kHz of what soundfile decodes (mp3 has encoder delay)."""
    info = sf.info(path)
    samples = math.ceil(info.frames * SAMPLE_RATE / info.samplerate)
    return math.ceil(samples / 3200), samples / SAMPLE_RATE


def _events(path: Path) -> list[Event]:
    frame = pd.read_csv(path, sep="\t")
    assert list(frame.columns) == ["onset", "offset", "event_label"]
    return [Event(r.onset, r.offset, r.event_label) for r in frame.itertuples(index=False)]


def _explain(run_dir: Path, out: Path, files: list[Path], *options: str) -> int:
    return main(["explain", *map(str, files), "--run", str(run_dir), "--out", str(out), *options])


def _saliency(model: torch.nn.Module, clip: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    targets = tuple(CLASS_INDEX[c] for c in classes)
    compute = IMPLEMENTATIONS["saliency"].compute
    return compute(model, ClipInput("x", clip, targets), method_settings("saliency", {})).scores


def test_every_format_rate_length_and_channel_count(
    run_dir: Path, audio_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(audio_dir / name) for name in FILES]
    argv = ["explain", *files, "--run", str(run_dir), "--methods", "saliency"]
    assert main([*argv, "--classes", "Dog,Speech", "--out", str(tmp_path), "--device", "cpu"]) == 0
    log = capsys.readouterr().err
    assert "explained 4 of 4 file(s)" in log
    for number, name in enumerate(FILES, start=1):
        assert f"[{number}/4] explaining {audio_dir / name}" in log
        stem = Path(name).stem
        scores = read_sed_scores(tmp_path / f"{stem}.scores.tsv")
        n_frames, duration = _expected_frames(audio_dir / name)
        assert list(scores.columns) == ["onset", "offset", "Dog", "Speech"]
        assert len(scores) == n_frames
        np.testing.assert_allclose(scores["onset"], np.arange(n_frames) / 10, atol=1e-9)
        assert scores["offset"].iloc[-1] == pytest.approx(duration, abs=1e-6)
        assert np.isfinite(scores[["Dog", "Speech"]].to_numpy()).all()
        events = pd.read_csv(tmp_path / f"{stem}.events.tsv", sep="\t")
        assert list(events.columns) == ["onset", "offset", "event_label"]
        assert len(events) > 0 and set(events["event_label"]) <= {"Dog", "Speech"}
        assert (events["onset"] < events["offset"]).all() and events["offset"].max() <= duration
        assert (tmp_path / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "2 channel(s) at 44100 Hz, 3 window(s)" in log


def test_windows_are_explained_one_by_one_and_trimmed(
    run_dir: Path, audio_dir: Path, tmp_path: Path
) -> None:
    """The 23 s file's scores are its 10 s windows' scores side by side, the last window
    zero-padded and cut at the file's end; its events are the windowed percentile masks."""
    path = audio_dir / "street.flac"
    assert _explain(run_dir, tmp_path, [path], "--methods", "saliency", "--classes", "Cat") == 0
    models = run_dir / "results" / "models" / "cnn14"
    model = load_explained_model(models / "backbone.pt", models / "head_clip.pt")
    audio = read_audio(path)
    clips = windows(audio)
    n_samples = audio.samples.shape[0]
    assert clips.shape == (3, CLIP_SAMPLES) and not clips[2, n_samples - 2 * CLIP_SAMPLES :].any()
    np.testing.assert_array_equal(clips.reshape(-1)[:n_samples], audio.samples)
    expected = np.concatenate([_saliency(model, clip, ("Cat",)) for clip in clips], axis=1)
    scores = read_sed_scores(tmp_path / "street.scores.tsv")["Cat"].to_numpy()
    np.testing.assert_allclose(scores, expected[0, :230], rtol=1e-6)
    mask = windowed_mask(scores[None, :], TAUS["saliency"])[0]
    detected = frame_mask(_events(tmp_path / "street.events.tsv"), "Cat", 0.1, 230)
    np.testing.assert_array_equal(detected, mask)
    # Each full 10 s window is masked as the evaluation masks a clip; the last 3 s against
    # the percentile of the file's last 10 s.
    tau = TAUS["saliency"]
    np.testing.assert_array_equal(mask[:100], percentile_mask(scores[:100], tau))
    np.testing.assert_array_equal(mask[100:200], percentile_mask(scores[100:200], tau))
    np.testing.assert_array_equal(mask[200:], scores[200:] >= np.percentile(scores[130:], tau))


def test_several_methods_recorded_settings_and_auto_classes(
    run_dir: Path, audio_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = audio_dir / "kitchen.ogg"
    models = run_dir / "results" / "models" / "cnn14"
    model = load_explained_model(models / "backbone.pt", models / "head_clip.pt")
    with torch.no_grad():
        probabilities = model(torch.from_numpy(windows(read_audio(path))))[0].numpy()
    threshold = float(np.median(probabilities))
    detected = [name for name, p in zip(CLASSES, probabilities, strict=True) if p > threshold]
    methods = "ig,gradcam,energy,fw_weak"
    options = ("--methods", methods, "--threshold", str(threshold))
    assert _explain(run_dir, tmp_path, [path], *options) == 0
    log = capsys.readouterr().err
    shard = (
        run_dir / "results" / "main" / "cnn14" / "attribution" / "ig" / "test" / "shard_00000.h5"
    )
    assert f"ig: settings {method_settings('ig', IG_PARAMS).as_dict()} (from {shard})" in log
    assert "gradcam: settings {'layer': 'auto'} (from the method's defaults)" in log
    # What the attribute rule adds to a shard's settings is what explain drops again.
    assert set(run_context(torch.device("cpu"))) == set(SHARD_CONTEXT_KEYS)
    for method in methods.split(","):
        scores = read_sed_scores(tmp_path / f"kitchen.{method}.scores.tsv")
        assert list(scores.columns) == ["onset", "offset", *detected] and len(scores) == 100
        values = scores[detected].to_numpy().T
        mask = frame_mask(_events(tmp_path / f"kitchen.{method}.events.tsv"), detected[0], 0.1, 100)
        np.testing.assert_array_equal(mask, percentile_mask(values[0], TAUS[method]))
    assert not (tmp_path / "kitchen.scores.tsv").exists() and (tmp_path / "kitchen.png").exists()


def test_nothing_detected_writes_no_scores_and_empty_events(
    run_dir: Path, audio_dir: Path, tmp_path: Path
) -> None:
    stale = tmp_path / "speech.scores.tsv"
    stale.write_text("from an earlier run")
    path = audio_dir / "speech.wav"
    assert _explain(run_dir, tmp_path, [path], "--methods", "energy", "--threshold", "1") == 0
    assert not stale.exists() and (tmp_path / "speech.png").exists()
    assert _events(tmp_path / "speech.events.tsv") == []


def test_a_corrupt_file_fails_alone(
    run_dir: Path, audio_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [audio_dir / "broken.wav", audio_dir / "speech.wav"]
    results = run_dir / "results"  # the results folder itself is a run directory too
    assert _explain(results, tmp_path, files, "--methods", "energy", "--classes", "all") == 1
    log = capsys.readouterr().err
    assert "explained 1 of 2 file(s)" in log
    assert f"failed: {audio_dir / 'broken.wav'}: cannot read audio" in log
    assert len(read_sed_scores(tmp_path / "speech.scores.tsv").columns) == 12
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("broken")) == []


def test_a_run_without_models_or_tau_star_names_the_rule(
    run_dir: Path, audio_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    incomplete = tmp_path / "run"
    shutil.copytree(run_dir, incomplete)
    head = incomplete / "results" / "models" / "cnn14" / "head_clip.pt"
    head.unlink()
    files = [audio_dir / "speech.wav"]
    assert _explain(incomplete, tmp_path / "out", files, "--methods", "energy") == 2
    message = f"{head} not found: run the pipeline (rule train_head makes it)"
    assert message in capsys.readouterr().err
    shutil.copy(run_dir / "results" / "models" / "cnn14" / "head_clip.pt", head)
    tau_star = incomplete / "results" / "main" / "cnn14" / "evaluation" / "tau_star.json"
    # Issue 26 item 3: a τ* file cut short is refused with the command that rebuilds it.
    tau_star.write_bytes(tau_star.read_bytes()[:-40])
    assert _explain(incomplete, tmp_path / "out", files, "--methods", "energy") == 2
    error = capsys.readouterr().err
    assert f"{tau_star} is damaged" in error and f"--forcerun {tau_star}" in error
    assert "(rule evaluate makes it)" in error
    tau_star.unlink()
    assert _explain(incomplete, tmp_path / "out", files, "--methods", "energy") == 2
    message = f"{tau_star} not found: run the pipeline (rule evaluate makes it)"
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_usage_errors(
    run_dir: Path, audio_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [audio_dir / "speech.wav"]
    assert _explain(run_dir, tmp_path, files, "--classes", "Dog,Cat_") == 2
    assert f"unknown class(es) ['Cat_']; use auto, all, or names from: {', '.join(CLASSES)}" in (
        capsys.readouterr().err
    )
    assert _explain(run_dir, tmp_path, files, "--methods", "ig,lrp") == 2
    assert "unknown attribution method 'lrp'; known: ig, saliency" in capsys.readouterr().err
    # The run did not evaluate `random`: no τ* unless one is given.
    assert _explain(run_dir, tmp_path, files, "--methods", "random") == 2
    assert "has no τ* for random" in capsys.readouterr().err
    assert _explain(run_dir, tmp_path, files, "--methods", "random", "--tau", "50") == 0
    twins = [audio_dir / "speech.wav", tmp_path / "speech.flac"]
    assert _explain(run_dir, tmp_path, twins, "--methods", "energy") == 2
    assert "files with the same name stem would write the same outputs" in capsys.readouterr().err
    written = sorted(p.name for p in tmp_path.glob("*.tsv"))  # the --tau 50 run's only
    assert written == ["speech.events.tsv", "speech.scores.tsv"]


def test_models_that_are_not_those_of_the_shards_and_tau_star_are_refused(
    run_dir: Path, audio_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A partial re-run: the clip head retrained, the shards and τ* not yet re-made."""
    partial = tmp_path / "run"
    shutil.copytree(run_dir, partial)
    models = partial / "results" / "models" / "cnn14"
    backbone = load_backbone(models / "backbone.pt")
    torch.manual_seed(1)
    head = models / "head_clip.pt"
    save_head(
        make_head("clip", backbone, clip_pooling="max"),
        head,
        head="clip",
        backbone_sha256=file_digest(models / "backbone.pt"),
        training={},
    )
    files = [audio_dir / "speech.wav"]
    assert _explain(partial, tmp_path / "out", files, "--methods", "ig") == 2
    error = capsys.readouterr().err
    shard = (
        partial / "results" / "main" / "cnn14" / "attribution" / "ig" / "test" / "shard_00000.h5"
    )
    assert "the run's parts do not belong together: its ig shards" in error
    assert str(shard) in error and str(head) in error and "tau_star.json" in error
    assert not (tmp_path / "out").exists()
    # A method without models has no checksum to compare: τ*'s age gives a loud warning.
    tau_star = partial / "results" / "main" / "cnn14" / "evaluation" / "tau_star.json"
    os.utime(tau_star, (0, 0))
    assert _explain(partial, tmp_path / "out", files, "--methods", "energy") == 0
    warning = capsys.readouterr().err.split(f"WARNING {tau_star} is older than ")[1]
    assert str(head) in warning.splitlines()[0]


def test_a_damaged_model_file_is_named_with_the_rule_that_rebuilds_it(
    run_dir: Path, audio_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / "run"
    shutil.copytree(run_dir, damaged)
    head = damaged / "results" / "models" / "cnn14" / "head_fw_weak.pt"
    head.write_bytes(head.read_bytes()[: head.stat().st_size // 2])
    files = [audio_dir / "speech.wav"]
    assert _explain(damaged, tmp_path / "out", files, "--methods", "fw_weak") == 2
    error = capsys.readouterr().err
    assert f"head weights {head} are unreadable" in error
    assert "Rule train_head rebuilds it" in error and "Traceback" not in error


@pytest.mark.parametrize(
    "where", ["an existing file", "a path under a file", "/proc/x", "a read-only folder"]
)
def test_an_unusable_out_is_a_usage_error_before_any_attribution(
    run_dir: Path,
    audio_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    blocker = tmp_path / "taken.txt"
    blocker.write_text("x")
    out = {
        "an existing file": blocker,
        "a path under a file": blocker / "sub",
        "/proc/x": Path("/proc/x"),
        "a read-only folder": tmp_path / "read_only" / "out",
    }[where]
    if where == "a read-only folder":
        (tmp_path / "read_only").mkdir()

        def refused(*args: object, **kwargs: object) -> None:
            raise PermissionError(13, "Permission denied")

        # root writes into a chmod 555 folder: refuse the probe as the OS would for a user
        monkeypatch.setattr("igsed.explain.outputs.tempfile.TemporaryFile", refused)
    files = [audio_dir / "speech.wav", audio_dir / "dog.mp3"]
    assert _explain(run_dir, out, files, "--methods", "energy") == 2
    error = capsys.readouterr().err
    assert f"igsed explain: error: --out {out}" in error
    assert "explaining" not in error and "Traceback" not in error


@pytest.mark.parametrize(
    ("option", "value"),
    [("--threshold", "2"), ("--threshold", "nan"), ("--threshold", "-0.1"), ("--tau", "nan")],
)
def test_a_threshold_or_tau_out_of_range_is_a_usage_error(
    run_dir: Path,
    audio_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
) -> None:
    files = [audio_dir / "speech.wav"]
    assert _explain(run_dir, tmp_path, files, "--methods", "energy", option, value) == 2
    expected = "clip probability in [0, 1]" if option == "--threshold" else "percentile"
    assert expected in capsys.readouterr().err
    assert not list(tmp_path.glob("*.tsv"))


def test_a_missing_file_and_a_folder_without_results_are_named(
    run_dir: Path, audio_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.wav"
    files = [missing, audio_dir / "speech.wav"]
    assert _explain(run_dir, tmp_path / "out", files, "--methods", "energy") == 1
    assert f"failed: {missing}: not found" in capsys.readouterr().err
    empty = tmp_path / "not_a_run"
    empty.mkdir()
    assert _explain(empty, tmp_path / "out", [audio_dir / "speech.wav"]) == 2
    error = capsys.readouterr().err
    assert f"{empty} is not a pipeline run: it holds no results/ folder" in error
    assert "backbone.pt" not in error


def test_a_crnn_of_the_run_explains_with_its_own_classifier_file(
    run_dir: Path, audio_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "with_crnn"
    shutil.copytree(run_dir, run)
    torch.manual_seed(1)
    save_crnn(
        Crnn(CrnnShape(channels=(4, 8, 8), gru_hidden=8)),
        run / "results/models/crnn/classifier.pt",
        {},
    )
    tau_star = run / "results" / "main" / "crnn" / "evaluation" / "tau_star.json"
    write_handover_json(tau_star, _tau_star())
    speech = [audio_dir / "speech.wav"]
    out = tmp_path / "out"
    options = ("--model", "crnn", "--methods", "saliency,gradcam", "--classes", "Dog")
    assert _explain(run, out, speech, *options) == 0
    for method in ("saliency", "gradcam"):
        scores = read_sed_scores(out / f"speech.{method}.scores.tsv")
        assert list(scores.columns) == ["onset", "offset", "Dog"]
        assert np.isfinite(scores["Dog"].to_numpy()).all() and scores["Dog"].abs().max() > 0
    # The framewise heads are CNN14's: asked of the CRNN, explain names why.
    assert _explain(run, out, speech, "--model", "crnn", "--methods", "fw_weak") == 2
    assert "model 'crnn' is not a CNN14: it has no fw_weak" in capsys.readouterr().err


def test_model_is_chosen_by_name_and_an_old_layout_is_refused(
    run_dir: Path, audio_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two = tmp_path / "two_models"
    shutil.copytree(run_dir, two)
    shutil.copytree(two / "results" / "models" / "cnn14", two / "results" / "models" / "crnn")
    speech = [audio_dir / "speech.wav"]
    assert _explain(two, tmp_path / "out", speech, "--methods", "energy") == 2
    assert "several models (cnn14, crnn): choose one with --model" in capsys.readouterr().err
    assert _explain(two, tmp_path / "out", speech, "--model", "other") == 2
    assert "no model 'other' (it holds: cnn14, crnn)" in capsys.readouterr().err
    options = ("--methods", "energy", "--model", "cnn14")
    assert _explain(two, tmp_path / "out", speech, *options) == 0
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    (old / "results" / "evaluation").mkdir()
    assert _explain(old, tmp_path / "out", speech, "--methods", "energy") == 2
    assert "results/evaluation: results of igsed's old layout" in capsys.readouterr().err


def test_read_audio_mixes_channels_to_mono_and_resamples(tmp_path: Path) -> None:
    stereo = _signal(16000, 1.3, 2, seed=9)
    stereo[:, 1] = -0.3 * stereo[:, 1] + 0.01
    sf.write(tmp_path / "two.wav", stereo, 16000, subtype="FLOAT")
    audio = read_audio(tmp_path / "two.wav")
    mono = torch.from_numpy(stereo.mean(axis=1))
    expected = torchaudio.functional.resample(mono, 16000, SAMPLE_RATE).numpy()
    np.testing.assert_allclose(audio.samples, expected, rtol=0, atol=1e-6)
    assert (audio.source_rate, audio.source_channels, audio.n_frames) == (16000, 2, 13)
    assert audio.samples.shape == (41600,) and audio.n_windows == 1
    sf.write(tmp_path / "empty.wav", np.zeros((0, 1), dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="empty.wav: the file holds no audio samples"):
        read_audio(tmp_path / "empty.wav")


def test_mask_events_give_back_the_mask() -> None:
    rng = np.random.default_rng(3)
    mask = rng.random(57) < 0.4
    mask[-1] = True
    times = np.append(np.round(np.arange(57) * 0.1, 6), 5.61)
    events = mask_events(mask, "Dog", times)
    np.testing.assert_array_equal(frame_mask(events, "Dog", 0.1, 57), mask)
    assert events[-1].offset == 5.61
    assert all(b.onset > a.offset for a, b in zip(events, events[1:], strict=False))


def test_a_file_up_to_10_s_is_masked_as_the_evaluation_masks_a_clip() -> None:
    scores = np.random.default_rng(4).random((2, 100))
    np.testing.assert_array_equal(windowed_mask(scores, 73), percentile_mask(scores, 73))
    short = scores[:, :37]  # shorter than 10 s: the percentile of its own frames
    np.testing.assert_array_equal(windowed_mask(short, 73), percentile_mask(short, 73))
