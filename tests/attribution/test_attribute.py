"""One attribution shard: contents, schema round trip, determinism, atomicity, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from support.ig import captum_ig
from torch import nn

import igsed.attribution.attribute as attribute_module
from igsed.attribution.attribute import (
    AttributeSettings,
    ModelFiles,
    ModelLoaders,
    ShardJob,
    attribute,
    attribute_clips,
)
from igsed.attribution.baselines import energy_scores, random_scores
from igsed.attribution.frames import frame_magnitude, fw_to_eval_grid
from igsed.attribution.ig import IGSettings
from igsed.core.annotations import Event, frame_labels
from igsed.core.audio import load_clip, write_wav
from igsed.core.checksums import combined_digest, file_digest
from igsed.core.constants import CLASSES, CLIP_SAMPLES, N_CLASSES, N_MODEL_FRAMES, SAMPLE_RATE
from igsed.formats.manifest import write_events, write_manifest
from igsed.formats.shards import read_shard, write_shard

torch.set_num_threads(2)

ATTRIBUTED = (0, 4)  # the stand-in classifier is confident about these two classes only
N_STEPS = 8


class StandInClassifier(nn.Module):
    """(B, N) -> (B, 10) sigmoid scores; classes 0 and 4 biased above 0.5, the rest below."""

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        # A stride-64 conv written as a matmul: its backward is much cheaper on the CPU.
        self.conv = nn.Linear(64, 4)
        self.head = nn.Linear(4, N_CLASSES)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=generator))
            self.conv.bias.zero_()
            self.head.weight.copy_(torch.randn(self.head.weight.shape, generator=generator))
            self.head.bias.fill_(-4.0)
            self.head.bias[list(ATTRIBUTED)] = 4.0
        self.fail_after = fail_after
        self.calls = 0

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        # Each clip starts with one no-grad forward on a single waveform.
        if waveform.shape[0] == 1 and not torch.is_grad_enabled():
            self.calls += 1
            if self.fail_after is not None and self.calls > self.fail_after:
                raise RuntimeError("stand-in failure")
        windows = waveform.reshape(waveform.shape[0], -1, 64)
        features = torch.tanh(self.conv(windows)).square().mean(dim=1)
        return torch.sigmoid(self.head(features))


class StandInFramewise(nn.Module):
    """(B, N) -> (B, 31, 10) frame probabilities from the mean |x| of 31 windows."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.linspace(-1.0, 1.0, N_CLASSES) * scale)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        window = CLIP_SAMPLES // N_MODEL_FRAMES
        frames = waveform[:, : window * N_MODEL_FRAMES].abs().reshape(-1, N_MODEL_FRAMES, window)
        return torch.sigmoid(frames.mean(dim=-1, keepdim=True) * 20.0 * self.weight)


EVENTS = {
    "test_00001": [Event(0.5, 2.0, "Alarm_bell_ringing"), Event(4.25, 6.0, "Dog")],
    "test_00002": [Event(7.0, 9.95, "Speech")],
}


@pytest.fixture
def dataset(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    rows, event_rows = [], []
    for index, clip_id in enumerate([*EVENTS, "val_00003"]):
        audio = rng.standard_normal(CLIP_SAMPLES).astype(np.float32) * 0.05
        audio[SAMPLE_RATE : 2 * SAMPLE_RATE] *= 8.0
        audio_path = tmp_path / "audio" / f"{clip_id}.wav"
        write_wav(audio_path, audio, SAMPLE_RATE)
        split = clip_id.split("_")[0]
        events = EVENTS.get(clip_id, [])
        rows.append((clip_id, split, str(audio_path), f"{clip_id}.jams", len(events), 1))
        event_rows += [(clip_id, e.onset, e.offset, e.label, f"src{index}.wav") for e in events]
    manifest = pd.DataFrame(
        rows, columns=["clip_id", "split", "audio_path", "jams_path", "n_events", "polyphony"]
    )
    events = pd.DataFrame(
        event_rows, columns=["clip_id", "onset", "offset", "event_label", "source_file"]
    )
    paths = {"manifest": tmp_path / "manifest.tsv", "events": tmp_path / "events.tsv"}
    write_manifest(manifest, paths["manifest"])
    write_events(events, paths["events"])
    for name in ("backbone", "clip_head", "fw_weak", "fw_strong"):
        paths[name] = tmp_path / "models" / f"{name}.pt"
        paths[name].parent.mkdir(exist_ok=True)
        paths[name].write_bytes(name.encode())
    return paths


def _loaders(fail_after: int | None = None) -> ModelLoaders:
    return ModelLoaders(
        explained=lambda: StandInClassifier(fail_after),
        fw_weak=lambda: StandInFramewise(1.0),
        fw_strong=lambda: StandInFramewise(2.0),
    )


@pytest.fixture
def stand_in_models(monkeypatch: pytest.MonkeyPatch) -> dict[str, int | None]:
    """Serve the stand-ins through the model loaders the attribute stage calls."""
    options: dict[str, int | None] = {"fail_after": None}

    def load_explained_model(backbone: Path, head: Path, device: torch.device) -> nn.Module:
        assert backbone.name == "backbone.pt" and head.name == "clip_head.pt"
        return StandInClassifier(options["fail_after"]).to(device)

    def load_framewise_model(backbone: Path, head: Path, device: torch.device) -> nn.Module:
        return StandInFramewise(1.0 if head.name == "fw_weak.pt" else 2.0).to(device)

    monkeypatch.setattr(attribute_module, "load_explained_model", load_explained_model)
    monkeypatch.setattr(attribute_module, "load_framewise_model", load_framewise_model)
    return options


def _run(dataset: dict[str, Path], out_path: Path, **overrides: object) -> dict:
    """Attribute a shard as the rule does; `overrides` change one input or setting."""
    files = {name: dataset[name] for name in ("backbone", "clip_head", "fw_weak", "fw_strong")}
    files.update({k: overrides.pop(k) for k in list(overrides) if k in files})
    ig = {
        "n_steps": N_STEPS,
        "method": "gausslegendre",
        "internal_batch_size": 4,
        "engine": "captum",  # the stand-in models have no STFT front-end for the fused engine
        "memory_budget_mb": 4096,
    }
    ig.update({k: overrides.pop(k) for k in list(overrides) if k in ig})
    job = ShardJob(
        clip_ids=tuple(overrides.pop("clip_ids", ["test_00001", "test_00002"])),
        split="test",
        manifest=dataset["manifest"],
        events=dataset["events"],
        models=ModelFiles(**files),
        out_path=out_path,
        signed_clips=("test_00002", "test_09999"),
    )
    section = {"ig": ig, "threshold": 0.5, "random_seed": 13, "device": "cpu", **overrides}
    return attribute(job, AttributeSettings.from_config(section))


def test_shard_holds_every_method_for_every_clip(
    dataset: dict[str, Path], stand_in_models: dict, tmp_path: Path
) -> None:
    out_path = tmp_path / "shards" / "test" / "shard.h5"
    summary = _run(dataset, out_path)
    assert summary["n_clips"] == 2 and summary["n_instances"] == 4
    assert summary["peak_rss_mb"] > 0

    shard = read_shard(out_path)
    assert shard.split == "test"
    assert shard.model_checksum == combined_digest(
        [dataset[n] for n in ("backbone", "clip_head", "fw_weak", "fw_strong")]
    )
    assert shard.settings["n_steps"] == N_STEPS
    assert shard.settings["method"] == "gausslegendre"
    assert shard.settings["internal_batch_size"] == 4
    assert shard.settings["engine"] == "captum"
    assert shard.settings["memory_budget_mb"] == 4096.0
    assert shard.settings["threshold"] == 0.5
    assert shard.settings["random_seed"] == 13
    assert shard.settings["device"] == "cpu"
    assert [clip.clip_id for clip in shard.clips] == ["test_00001", "test_00002"]

    explained = StandInClassifier().eval()
    for clip in shard.clips:
        waveform = load_clip(dataset["manifest"].parent / "audio" / f"{clip.clip_id}.wav")
        with torch.no_grad():
            probabilities = explained(torch.from_numpy(waveform)[None])[0].double().numpy()
        np.testing.assert_allclose(clip.probabilities, probabilities, rtol=1e-6)
        assert clip.attributed_classes == [CLASSES[i] for i in ATTRIBUTED]
        assert clip.ig.shape == (2, 100)
        for row, target in enumerate(ATTRIBUTED):
            attribution, delta, f_input, f_baseline = captum_ig(
                explained, waveform, target, n_steps=N_STEPS, internal_batch_size=4
            )
            np.testing.assert_allclose(clip.ig[row], frame_magnitude(attribution), rtol=1e-5)
            assert clip.convergence_delta[row] == pytest.approx(delta, abs=1e-6)
            assert clip.f_input[row] == pytest.approx(f_input, abs=1e-6)
            assert clip.f_baseline[row] == pytest.approx(f_baseline, abs=1e-6)
        np.testing.assert_array_equal(
            clip.ground_truth, frame_labels(EVENTS[clip.clip_id], 0.1, 100)
        )
        np.testing.assert_array_equal(clip.energy, energy_scores(waveform))
        np.testing.assert_array_equal(clip.random, random_scores(clip.clip_id, 13))
        for name, scale in (("fw_weak", 1.0), ("fw_strong", 2.0)):
            with torch.no_grad():
                frames = StandInFramewise(scale)(torch.from_numpy(waveform)[None])[0].numpy()
            np.testing.assert_allclose(getattr(clip, name), fw_to_eval_grid(frames), rtol=1e-6)
            np.testing.assert_allclose(getattr(clip, f"{name}_clip"), frames.max(0), rtol=1e-6)
        assert clip.fw_weak.shape == clip.fw_strong.shape == (100, N_CLASSES)

    first, second = shard.clips
    assert first.ig_signed is None
    assert second.ig_signed is not None and second.ig_signed.shape == (2, CLIP_SAMPLES)
    for row in range(2):
        np.testing.assert_allclose(
            second.ig[row], frame_magnitude(second.ig_signed[row]), rtol=1e-6
        )
    # The ground truth has events where the methods are evaluated.
    assert first.ground_truth[:, CLASSES.index("Dog")].sum() == 18


def test_same_inputs_give_identical_numbers(
    dataset: dict[str, Path], stand_in_models: dict, tmp_path: Path
) -> None:
    first = read_shard(_run(dataset, tmp_path / "a.h5")["out_path"])
    second = read_shard(_run(dataset, tmp_path / "b.h5")["out_path"])
    assert first.settings == second.settings
    for a, b in zip(first.clips, second.clips, strict=True):
        for name in ("ig", "fw_weak", "fw_strong", "energy", "random", "convergence_delta"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_threshold_selects_the_attributed_classes(
    dataset: dict[str, Path], stand_in_models: dict, tmp_path: Path
) -> None:
    out_path = tmp_path / "none.h5"
    _run(dataset, out_path, threshold=0.99, clip_ids=["test_00002"])
    (clip,) = read_shard(out_path).clips
    assert clip.attributed_classes == []
    assert clip.ig.shape == (0, 100)
    assert clip.ig_signed is not None and clip.ig_signed.shape == (0, CLIP_SAMPLES)
    assert clip.fw_weak.shape == (100, N_CLASSES)


def test_failure_mid_shard_leaves_no_output(
    dataset: dict[str, Path], stand_in_models: dict, tmp_path: Path
) -> None:
    stand_in_models["fail_after"] = 1
    out_dir = tmp_path / "out"
    with pytest.raises(RuntimeError, match="stand-in failure"):
        _run(dataset, out_dir / "shard.h5")
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_clear_errors_before_any_work(
    dataset: dict[str, Path], stand_in_models: dict, tmp_path: Path
) -> None:
    out_path = tmp_path / "x.h5"
    with pytest.raises(ValueError, match="'magic'.*captum"):
        _run(dataset, out_path, engine="magic")
    with pytest.raises(ValueError, match="simpson"):
        _run(dataset, out_path, method="simpson")
    with pytest.raises(ValueError, match="test_00404"):
        _run(dataset, out_path, clip_ids=["test_00001", "test_00404"])
    with pytest.raises(ValueError, match="val_00003.*'test'"):
        _run(dataset, out_path, clip_ids=["val_00003"])
    with pytest.raises(ValueError, match="duplicate"):
        _run(dataset, out_path, clip_ids=["test_00001", "test_00001"])
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        _run(dataset, out_path, fw_strong=tmp_path / "missing.pt")
    assert not out_path.exists()


def test_attribute_clips_feeds_write_shard(dataset: dict[str, Path], tmp_path: Path) -> None:
    audio_paths = {c: dataset["manifest"].parent / "audio" / f"{c}.wav" for c in EVENTS}
    clips, summary = attribute_clips(
        ["test_00002"],
        audio_paths=audio_paths,
        events=EVENTS,
        models=_loaders(),
        settings=IGSettings(
            n_steps=4, method="riemann_middle", internal_batch_size=2, engine="captum"
        ),
        threshold=0.5,
        random_seed=1,
    )
    assert summary["n_instances"] == 2 and summary["clips"][0]["ig_seconds"] >= 0
    write_shard(tmp_path / "s.h5", clips, split="test", model_checksum="x", settings={"a": 1})
    (clip,) = read_shard(tmp_path / "s.h5").clips
    np.testing.assert_array_equal(clip.ig, clips[0].ig)
    assert clip.ig_signed is None


def test_shard_with_the_real_models(dataset: dict[str, Path], tmp_path: Path) -> None:
    from igsed.models.cnn14 import Cnn14, save_backbone
    from igsed.models.explained import load_explained_model, load_framewise_model
    from igsed.models.heads import make_head, save_head

    torch.manual_seed(0)
    backbone = Cnn14(width=1 / 16).eval()
    save_backbone(backbone, dataset["backbone"], source="test", config={"pooling": "max_mean"})
    sha256 = file_digest(dataset["backbone"])
    for head in ("clip", "fw_weak", "fw_strong"):
        module = make_head(head, backbone, clip_pooling="max")
        path = dataset["clip_head" if head == "clip" else head]
        save_head(module, path, head=head, backbone_sha256=sha256, training={})
    clip_id = "test_00001"
    waveform = torch.from_numpy(load_clip(dataset["manifest"].parent / "audio" / f"{clip_id}.wav"))
    explained = load_explained_model(dataset["backbone"], dataset["clip_head"], "cpu")
    with torch.no_grad():
        probabilities = explained(waveform[None])[0].double().numpy()
    # Attribute only the top class: a threshold between the two highest scores.
    top_two = np.sort(probabilities)[-2:]
    out_path = tmp_path / "real.h5"
    _run(
        dataset,
        out_path,
        clip_ids=[clip_id],
        threshold=float(top_two.mean()),
        n_steps=4,
        internal_batch_size=4,
    )
    (clip,) = read_shard(out_path).clips
    np.testing.assert_allclose(clip.probabilities, probabilities, rtol=1e-5)
    assert clip.attributed_classes == [CLASSES[int(np.argmax(probabilities))]]
    assert clip.ig.shape == (1, 100) and np.all(np.isfinite(clip.ig)) and clip.ig.max() > 0
    assert clip.f_input[0] == pytest.approx(probabilities.max(), abs=1e-5)
    for name in ("fw_weak", "fw_strong"):
        framewise = load_framewise_model(dataset["backbone"], dataset[name], "cpu")
        with torch.no_grad():
            frames = framewise(waveform[None])[0].numpy()
        assert frames.shape == (N_MODEL_FRAMES, N_CLASSES)
        np.testing.assert_allclose(getattr(clip, name), fw_to_eval_grid(frames), rtol=1e-5)
        np.testing.assert_allclose(getattr(clip, f"{name}_clip"), frames.max(0), rtol=1e-5)
