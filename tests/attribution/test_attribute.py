"""One attribution shard per method: contents, determinism, atomicity, errors.

The stand-in models make the expected numbers cheap to recompute (IG against Captum); the
last test runs every method of the registry with a real (narrow, random) CNN14.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from support.ig import captum_ig
from torch import nn

import igsed.methods.loading as loading_module
from igsed.attribution.attribute import AttributeSettings, ShardJob, attribute
from igsed.core.annotations import Event
from igsed.core.audio import load_clip, write_wav
from igsed.core.checksums import combined_digest, file_digest
from igsed.core.constants import (
    CLASSES,
    CLIP_SAMPLES,
    MODEL_FRAME_SECONDS,
    N_CLASSES,
    N_MODEL_FRAMES,
    SAMPLE_RATE,
)
from igsed.core.methods import METHOD_INFO, METHOD_NAMES
from igsed.core.model_kinds import skip_reason
from igsed.formats.instances import Instance, write_instances
from igsed.formats.manifest import write_events, write_manifest
from igsed.formats.shards import read_shard
from igsed.methods.baselines import energy_scores, random_scores
from igsed.methods.frames import frame_magnitude, fw_to_eval_grid
from igsed.methods.layer import block_frame_seconds, gradcam
from igsed.methods.perturbation import occlusion
from igsed.models.classifier import FRAME_OUTPUT, Classifier

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


class StandInFramewise(Classifier):
    """(B, N) -> (B, 31, 10) frame probabilities from the mean |x| of 31 windows."""

    capabilities = frozenset({FRAME_OUTPUT})
    frame_seconds = MODEL_FRAME_SECONDS

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.linspace(-1.0, 1.0, N_CLASSES) * scale)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.frame_probabilities(waveform).max(dim=1).values

    def frame_probabilities(self, waveform: torch.Tensor) -> torch.Tensor:
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
    # The instances rule's output: both test clips detected as classes 0 and 4.
    paths["instances"] = tmp_path / "instances_test.tsv"
    write_instances(
        paths["instances"],
        [
            Instance(clip_id, CLASSES[index], 0.9, CLASSES[index] in {e.label for e in events})
            for clip_id, events in EVENTS.items()
            for index in ATTRIBUTED
        ],
    )
    return paths


IG = {
    "n_steps": N_STEPS,
    "method": "gausslegendre",
    "internal_batch_size": 4,
    "engine": "captum",  # the stand-in models have no STFT front-end for the fused engine
    "memory_budget_mb": 4096,
}


@pytest.fixture
def stand_in_models(monkeypatch: pytest.MonkeyPatch) -> dict[str, int | None]:
    """Serve the stand-ins through the model loaders the attribute stage calls."""
    options: dict[str, int | None] = {"fail_after": None}

    def load_explained_model(backbone: Path, head: Path, device: torch.device) -> nn.Module:
        assert backbone.name == "backbone.pt" and head.name == "clip_head.pt"
        return StandInClassifier(options["fail_after"]).to(device)

    def load_framewise_model(backbone: Path, head: Path, device: torch.device) -> nn.Module:
        return StandInFramewise(1.0 if head.name == "fw_weak.pt" else 2.0).to(device)

    monkeypatch.setattr(loading_module, "load_explained_model", load_explained_model)
    monkeypatch.setattr(loading_module, "load_framewise_model", load_framewise_model)
    return options


def _run(
    dataset: dict[str, Path],
    out_path: Path,
    method: str = "ig",
    params: dict | None = None,
    clip_ids: tuple[str, ...] = ("test_00001", "test_00002"),
    **models: Path,
) -> dict:
    """Attribute a shard as the rule does; `models` replace model files by role."""
    info = METHOD_INFO[method]
    files = {role: models.get(role, dataset[role]) for role in info.models}
    job = ShardJob(
        method=method,
        clip_ids=clip_ids,
        split="test",
        manifest=dataset["manifest"],
        models=files,
        out_path=out_path,
        instances=None if info.all_classes else dataset["instances"],
        signed_clips=("test_00002", "test_09999"),
    )
    return attribute(job, AttributeSettings(params=IG if params is None else params, device="cpu"))


def _waveform(dataset: dict[str, Path], clip_id: str) -> np.ndarray:
    return load_clip(dataset["manifest"].parent / "audio" / f"{clip_id}.wav")


def test_ig_shard_holds_the_instances_rows(
    dataset: dict[str, Path], stand_in_models: dict, tmp_path: Path
) -> None:
    out_path = tmp_path / "shards" / "ig" / "test" / "shard.h5"
    summary = _run(dataset, out_path)
    assert summary["n_clips"] == 2 and summary["n_rows"] == 4
    assert summary["peak_rss_mb"] > 0

    shard = read_shard(out_path)
    assert (shard.method, shard.split) == ("ig", "test")
    assert shard.model_checksum == combined_digest([dataset["backbone"], dataset["clip_head"]])
    assert shard.instances_checksum == file_digest(dataset["instances"])
    assert {k: shard.settings[k] for k in IG} == IG
    assert shard.settings["device"] == "cpu"
    assert [clip.clip_id for clip in shard.clips] == ["test_00001", "test_00002"]

    explained = StandInClassifier().eval()
    for clip in shard.clips:
        waveform = _waveform(dataset, clip.clip_id)
        assert clip.classes == [CLASSES[i] for i in ATTRIBUTED]
        assert clip.scores.shape == (2, 100) and clip.clip_probabilities is None
        for row, target in enumerate(ATTRIBUTED):
            attribution, delta, f_input, f_baseline = captum_ig(
                explained, waveform, target, n_steps=N_STEPS, internal_batch_size=4
            )
            np.testing.assert_allclose(clip.scores[row], frame_magnitude(attribution), rtol=1e-5)
            assert clip.diagnostics["convergence_delta"][row] == pytest.approx(delta, abs=1e-6)
            assert clip.diagnostics["f_input"][row] == pytest.approx(f_input, abs=1e-6)
            assert clip.diagnostics["f_baseline"][row] == pytest.approx(f_baseline, abs=1e-6)

    first, second = shard.clips
    assert first.signed is None
    assert second.signed is not None and second.signed.shape == (2, CLIP_SAMPLES)
    for row in range(2):
        np.testing.assert_allclose(
            second.scores[row], frame_magnitude(second.signed[row]), rtol=1e-6
        )


def test_all_class_methods_score_every_class_without_instances(
    dataset: dict[str, Path], stand_in_models: dict, tmp_path: Path
) -> None:
    for method, params in (
        ("fw_weak", {}),
        ("fw_strong", {}),
        ("energy", {}),
        ("random", {"seed": 13}),
    ):
        out_path = tmp_path / f"{method}.h5"
        _run(dataset, out_path, method, params)
        shard = read_shard(out_path)
        roles = METHOD_INFO[method].models
        expected = combined_digest([dataset[r] for r in roles]) if roles else ""
        assert shard.model_checksum == expected and shard.instances_checksum == ""
        for clip in shard.clips:
            waveform = _waveform(dataset, clip.clip_id)
            assert clip.classes == list(CLASSES) and clip.signed is None
            if method == "energy":
                np.testing.assert_array_equal(
                    clip.scores, np.tile(energy_scores(waveform), (10, 1))
                )
            elif method == "random":
                np.testing.assert_array_equal(clip.scores, random_scores(clip.clip_id, 13).T)
            else:
                scale = 1.0 if method == "fw_weak" else 2.0
                with torch.no_grad():
                    model = StandInFramewise(scale)
                    frames = model.frame_probabilities(torch.from_numpy(waveform)[None])[0].numpy()
                np.testing.assert_allclose(clip.scores, fw_to_eval_grid(frames).T, rtol=1e-6)
                np.testing.assert_allclose(clip.clip_probabilities, frames.max(0), rtol=1e-6)


def test_same_inputs_give_identical_numbers(
    dataset: dict[str, Path], stand_in_models: dict, tmp_path: Path
) -> None:
    first = read_shard(_run(dataset, tmp_path / "a.h5")["out_path"])
    second = read_shard(_run(dataset, tmp_path / "b.h5")["out_path"])
    assert first.settings == second.settings
    for a, b in zip(first.clips, second.clips, strict=True):
        np.testing.assert_array_equal(a.scores, b.scores)
        np.testing.assert_array_equal(
            a.diagnostics["convergence_delta"], b.diagnostics["convergence_delta"]
        )


def test_a_clip_without_instances_gets_no_rows(
    dataset: dict[str, Path], stand_in_models: dict, tmp_path: Path
) -> None:
    write_instances(dataset["instances"], [Instance("test_00001", "Dog", 0.9, True)])
    out_path = tmp_path / "few.h5"
    _run(dataset, out_path)
    first, second = read_shard(out_path).clips
    assert first.classes == ["Dog"] and first.scores.shape == (1, 100)
    assert second.classes == [] and second.scores.shape == (0, 100)
    assert second.signed is not None and second.signed.shape == (0, CLIP_SAMPLES)


def test_failure_mid_shard_leaves_no_output(
    dataset: dict[str, Path], stand_in_models: dict, tmp_path: Path
) -> None:
    stand_in_models["fail_after"] = 0
    out_dir = tmp_path / "out"
    with pytest.raises(RuntimeError, match="stand-in failure"):
        _run(dataset, out_dir / "shard.h5", "occlusion", {"batch_size": 1})
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_clear_errors_before_any_work(
    dataset: dict[str, Path], stand_in_models: dict, tmp_path: Path
) -> None:
    out_path = tmp_path / "x.h5"
    with pytest.raises(ValueError, match="'magic'.*captum"):
        _run(dataset, out_path, params={**IG, "engine": "magic"})
    with pytest.raises(ValueError, match="attribution.methods.smoothgrad.*n_sample"):
        _run(dataset, out_path, "smoothgrad", {"n_sample": 3})
    with pytest.raises(ValueError, match="'conv block9'"):
        _run(dataset, out_path, "gradcam", {"layer": "conv block9"})
    with pytest.raises(ValueError, match="test_00404"):
        _run(dataset, out_path, clip_ids=("test_00001", "test_00404"))
    with pytest.raises(ValueError, match="val_00003.*'test'"):
        _run(dataset, out_path, clip_ids=("val_00003",))
    with pytest.raises(ValueError, match="duplicate"):
        _run(dataset, out_path, clip_ids=("test_00001", "test_00001"))
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        _run(dataset, out_path, "fw_strong", {}, fw_strong=tmp_path / "missing.pt")
    with pytest.raises(KeyError, match="unknown attribution method 'lrp'"):
        job = ShardJob("lrp", ("test_00001",), "test", dataset["manifest"], {}, out_path)
        attribute(job, AttributeSettings(params={}))
    assert not out_path.exists()


def _block_reference(values: np.ndarray, block_seconds: float) -> np.ndarray:
    """(k, T) block-frame values on the 100 ms grid: each frame takes the block frame that
    covers its centre (the last one past the end), found by searching the block starts."""
    starts = np.arange(values.shape[1]) * block_seconds
    centres = (np.arange(100) + 0.5) * 0.1
    index = np.minimum(np.searchsorted(starts, centres, side="right") - 1, values.shape[1] - 1)
    return values[:, index]


@pytest.fixture(scope="module")
def real_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from igsed.models.cnn14 import Cnn14, save_backbone
    from igsed.models.heads import make_head, save_head

    folder = tmp_path_factory.mktemp("real_models")
    torch.manual_seed(0)
    backbone = Cnn14(width=1 / 16).eval()
    paths = {"backbone": folder / "backbone.pt"}
    save_backbone(backbone, paths["backbone"], source="test", config={"pooling": "max_mean"})
    sha256 = file_digest(paths["backbone"])
    for head, role in (("clip", "clip_head"), ("fw_weak", "fw_weak"), ("fw_strong", "fw_strong")):
        paths[role] = folder / f"{role}.pt"
        module = make_head(head, backbone, clip_pooling="max")
        save_head(module, paths[role], head=head, backbone_sha256=sha256, training={})
    return paths


TINY_PARAMS = {
    "ig": {**IG, "engine": "fused", "n_steps": 4},
    "saliency": {},
    "input_x_gradient": {},
    "smoothgrad": {"n_samples": 2, "noise_fraction": 0.1, "batch_size": 2, "seed": 1},
    "gradient_shap": {
        "n_samples": 2,
        "noise_fraction": 0.1,
        "n_noise_baselines": 2,
        "batch_size": 2,
        "seed": 1,
    },
    "gradcam": {"layer": "conv_block4"},
    "logmel_ig": {"n_steps": 2, "method": "gausslegendre", "internal_batch_size": 2},
    "logmel_saliency": {},
    "logmel_deeplift": {},
    "occlusion": {"batch_size": 25},
    "surrogate": {
        "n_masks": 6,
        "keep_probability": 0.5,
        "fit": "kernel_shap",
        "n_trees": 3,
        "batch_size": 6,
        "seed": 1,
    },
    "rise": {"n_masks": 6, "keep_probability": 0.5, "batch_size": 6, "seed": 1},
    "fw_weak": {},
    "fw_strong": {},
    "energy": {},
    "random": {"seed": 1},
}


# model_frames needs a model's own frame output, which CNN14's clip classifier lacks.
ON_CNN14 = [m for m in METHOD_NAMES if skip_reason(METHOD_INFO[m], {"kind": "cnn14"}) is None]


@pytest.mark.parametrize("method", ON_CNN14)
def test_every_method_with_the_real_models(
    method: str, dataset: dict[str, Path], real_models: dict[str, Path], tmp_path: Path
) -> None:
    out_path = tmp_path / f"{method}.h5"
    _run(dataset, out_path, method, TINY_PARAMS[method], ("test_00001",), **real_models)
    shard = read_shard(out_path)
    (clip,) = shard.clips
    info = METHOD_INFO[method]
    expected_classes = list(CLASSES) if info.all_classes else [CLASSES[i] for i in ATTRIBUTED]
    assert clip.classes == expected_classes
    assert clip.scores.shape == (len(expected_classes), 100)
    assert np.all(np.isfinite(clip.scores)) and np.ptp(clip.scores) > 0
    assert shard.settings == {
        **TINY_PARAMS[method],
        **{k: shard.settings[k] for k in ("device", "torch_version", "captum_version")},
    }
    if method not in ("gradcam", "occlusion"):
        return
    from igsed.models.explained import load_explained_model

    model = load_explained_model(real_models["backbone"], real_models["clip_head"], "cpu")
    waveform = _waveform(dataset, "test_00001")
    if method == "occlusion":
        expected = occlusion(model, waveform, 3200)[list(ATTRIBUTED)]
    else:
        blocks = gradcam(model, waveform, ATTRIBUTED, "conv_block4")
        expected = _block_reference(blocks, block_frame_seconds("conv_block4"))
    np.testing.assert_allclose(clip.scores, expected, rtol=1e-5, atol=1e-7)
