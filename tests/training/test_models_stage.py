"""The stage functions of the models of every kind but cnn14 (igsed.training.models): a CRNN
trained from a manifest, a user's model registered, clips classified from their audio, and
Table I computed from the same probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from support.audio_data import write_dataset
from support.explained import one_torch_thread  # noqa: F401 - autouse fixture
from support.user_models import TINY_SED_MAP, tiny_sed

from igsed.core.annotations import clip_labels
from igsed.core.audio import load_clip
from igsed.core.constants import CLASSES, CLIP_SAMPLES
from igsed.formats.probabilities import read_probabilities
from igsed.formats.weights import ModelFileError, read_classifier_file
from igsed.models.classifier import ClassifierError
from igsed.models.crnn import Crnn
from igsed.models.stored import load_classifier
from igsed.training.classify import classification_table
from igsed.training.models import classify_audio, register_model, table1_audio, train_crnn_model

TESTS = Path(__file__).resolve().parents[1]
SHAPE = {"channels": [4, 8, 8], "gru_hidden": 8}
TRAINING = {"max_epochs": 2, "patience": 2, "batch_size": 4, "seed": 3}
SED_SPEC = {
    "kind": "python",
    "entry": "support.user_models:tiny_sed",
    "search_path": str(TESTS),
    "class_map": TINY_SED_MAP,
    "frame_seconds": 0.1,
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("dataset")
    return write_dataset(root, {"train": 6, "val": 3, "test": 3}, seed=4)


@pytest.fixture(scope="module")
def crnn_file(dataset: tuple[Path, Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    manifest, events, _ = dataset
    out = tmp_path_factory.mktemp("crnn")
    train_crnn_model(
        manifest, events, out / "classifier.pt", out / "log.tsv", shape=SHAPE, training=TRAINING
    )
    return out / "classifier.pt"


def test_a_trained_crnn_file_loads_as_the_model_it_saved(crnn_file: Path) -> None:
    payload = read_classifier_file(crnn_file)
    assert payload["kind"] == "crnn" and payload["training"]["epochs_run"] == 2
    model = load_classifier(crnn_file)
    assert isinstance(model, Crnn) and model.shape.channels == (4, 8, 8)
    assert not any(p.requires_grad for p in model.parameters()) and not model.training
    history = pd.read_csv(crnn_file.parent / "log.tsv")
    assert list(history["epoch"]) == [1, 2]


def test_classify_audio_and_table1_agree_with_a_direct_forward(
    dataset: tuple[Path, Path, dict], crnn_file: Path, tmp_path: Path
) -> None:
    manifest, events, truth = dataset
    outputs = {split: tmp_path / f"{split}.tsv" for split in ("val", "test")}
    classify_audio(manifest, events, {"classifier": crnn_file}, outputs, device="cpu")
    model = load_classifier(crnn_file)
    table = pd.read_csv(manifest, sep="\t")
    test = table[table["split"] == "test"]
    clips = np.stack([load_clip(Path(p), n_samples=CLIP_SAMPLES) for p in test["audio_path"]])
    with torch.no_grad():
        expected = model(torch.from_numpy(clips)).numpy()
    written = read_probabilities(outputs["test"])
    assert list(written["clip_id"]) == list(test["clip_id"])
    np.testing.assert_allclose(written[list(CLASSES)].to_numpy(), expected, atol=1e-6)
    table1_audio(
        manifest,
        events,
        {"classifier": crnn_file},
        tmp_path / "t1.csv",
        tmp_path / "t1.md",
        threshold=0.5,
    )
    labels = np.stack([clip_labels(truth[c]) for c in test["clip_id"]])
    reference = classification_table(expected, labels, 0.5)
    ours = pd.read_csv(tmp_path / "t1.csv")
    np.testing.assert_allclose(ours["f1"], reference["f1"], atol=1e-4)
    assert "model crnn" in (tmp_path / "t1.md").read_text()


def test_a_python_model_is_registered_with_its_source_digest(tmp_path: Path) -> None:
    out = tmp_path / "classifier.pt"
    digest = register_model("sed", SED_SPEC, out)
    payload = read_classifier_file(out)
    assert payload["kind"] == "python" and payload["digest"] == digest
    assert payload["spec"]["entry"] == SED_SPEC["entry"]
    model = load_classifier(out)
    waveform = torch.from_numpy(np.random.default_rng(0).standard_normal((1, CLIP_SAMPLES)))
    probabilities = model(waveform.float())
    assert probabilities.shape == (1, len(CLASSES))
    assert float(probabilities.min()) >= 0 and float(probabilities.max()) <= 1


def _export(seed: int, path: Path) -> Path:
    traced = torch.jit.trace(tiny_sed(seed), torch.zeros(1, 16_000), check_trace=False)
    torch.jit.save(traced, str(path))
    return path


def test_a_torchscript_file_changed_after_registration_is_refused(tmp_path: Path) -> None:
    export = _export(0, tmp_path / "sed.pt")
    spec = {
        "kind": "torchscript",
        "path": str(export),
        "classes": ["Bark", "Growling", "Speech", "Conversation", "Music", "Meow"],
        "sample_rate": 16_000,
        "class_map": TINY_SED_MAP,
    }
    register_model("exported", spec, tmp_path / "classifier.pt")
    load_classifier(tmp_path / "classifier.pt")
    _export(1, export)
    with pytest.raises(ModelFileError, match="model 'exported'.*changed since"):
        load_classifier(tmp_path / "classifier.pt")


def test_a_model_returning_logits_is_refused_on_registration(tmp_path: Path) -> None:
    spec = {
        "kind": "python",
        "entry": "support.user_models:logits_model",
        "search_path": str(TESTS),
        "classes": ["a", "b", "c"],
        "sample_rate": 32000,
        "class_map": {"a": "Dog"},
    }
    with pytest.raises(ClassifierError, match="model 'bad'.*logits"):
        register_model("bad", spec, tmp_path / "classifier.pt")
