"""Models of every kind through the pipeline: on a copy of the finished tiny run (CNN14), the
CRNN trained here, a TorchScript export of the run's CNN14 and a Python entry point defined
in tests/ run to the summary; a model's spec change or a new model re-runs its chain alone.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from support.user_models import TINY_SED_MAP
from support.workflow import REPO, planned_jobs, run_snakemake

from igsed.core.constants import CLASSES, CLIP_SAMPLES
from igsed.formats.models_table import read_models_table
from igsed.formats.sanity import read_robustness
from igsed.formats.shards import read_shard
from igsed.models.explained import load_explained_model

TINY = "workflow/presets/tiny.yaml"
MODELS_FILE = "models.yaml"
USER_MODELS = ("crnn", "exported", "sed")
# One method of each kind a model may lack or have: gradients, a layer, its own frames, none;
# and a plug-in method defined in tests/support (a gradient method: it gets the sanity checks).
PLUGIN = "squared"
PLUGIN_SPEC = {
    "function": "support.plugin_methods:squared_gradient",
    "search_path": str(REPO / "tests"),
    "family": "gradient",
    "output": "waveform",
    "label": "Squared gradient",
}
# The log-mel methods need a log-mel input (logmel_split): the CRNN has one, the others not.
LOGMEL = ["logmel_ig", "logmel_saliency"]
METHODS = ["ig", "saliency", "gradcam", *LOGMEL, "model_frames", "energy", PLUGIN]


def _export_cnn14(tiny_run: Path, path: Path) -> Path:
    """The run's CNN14 clip classifier as a user would bring it: traced and saved."""
    models = tiny_run / "results" / "models" / "cnn14"
    native = load_explained_model(models / "backbone.pt", models / "head_clip.pt")
    traced = torch.jit.trace(native, torch.zeros(1, CLIP_SAMPLES), check_trace=False)
    torch.jit.save(traced, str(path))
    return path


def _models_config(export: Path, run_models: list[str], crnn_epochs: int = 3) -> dict:
    return {
        "models": {
            "crnn": {"kind": "crnn", "training": {"max_epochs": crnn_epochs, "batch_size": 8}},
            "exported": {
                "kind": "torchscript",
                "path": str(export),
                "classes": list(CLASSES),
                "sample_rate": 32000,
                "class_map": {name: name for name in CLASSES},
            },
            "sed": {
                "kind": "python",
                "entry": "support.user_models:tiny_sed",
                "search_path": str(REPO / "tests"),
                "class_map": dict(TINY_SED_MAP),
                "frame_seconds": 0.1,
            },
        },
        "run_models": run_models,
        "attribution": {"run": METHODS, "plugins": {PLUGIN: dict(PLUGIN_SPEC)}},
    }


def _args(workdir: Path, config: dict) -> list[str]:
    (workdir / MODELS_FILE).write_text(yaml.safe_dump(config))
    return ["--cores", "2", "--configfile", TINY, MODELS_FILE]


@pytest.fixture(scope="module")
def models_run(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of the tiny run with the three other models run to the summary, and the
    run's output."""
    workdir = tmp_path_factory.mktemp("models") / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    export = _export_cnn14(tiny_run, workdir.parent / "cnn14_export.pt")
    run = run_snakemake(workdir, *_args(workdir, _models_config(export, list(USER_MODELS))))
    return workdir, run.stdout + run.stderr


def _written(output: str) -> list[str]:
    outputs = re.findall(r"^    output: (.+)$", output, re.MULTILINE)
    return [path for line in outputs for path in line.split(", ")]


def test_every_kind_runs_to_the_summary_and_only_its_own_chain(
    models_run: tuple[Path, str],
) -> None:
    workdir, output = models_run
    own = tuple(f"results/{where}/{m}/" for m in USER_MODELS for where in ("models", "main"))
    written = _written(output)
    assert written and all(path.startswith((*own, "results/report/")) for path in written)
    ran = set(re.findall(r"^(?:local)?rule (\w+):", output, re.MULTILINE))
    assert {"train_crnn", "register_model", "classify_audio", "table1_audio"} <= ran
    assert not ran & {"backbone", "cache_features", "train_head", "classify", "table1"}
    table = read_models_table(workdir / "results" / "report" / "models.csv")
    assert list(dict.fromkeys(table["model"])) == list(USER_MODELS)
    summary = (workdir / "results" / "report" / "summary.md").read_text()
    assert "## Models" in summary
    # The export keeps no named layers and no frame output; the Python model has frames.
    assert "exported: Grad-CAM skipped (the model does not declare layers)" in summary
    assert "exported: Model frames skipped (the model does not declare frame_output)" in summary
    assert "sed: Grad-CAM skipped (the model does not declare layers)" in summary
    skipped = table[table["status"] == "skipped"]
    assert set(zip(skipped["model"], skipped["method"], strict=True)) == {
        ("exported", "gradcam"),
        ("exported", "model_frames"),
        ("sed", "gradcam"),
        *((model, method) for model in ("exported", "sed") for method in LOGMEL),
    }
    assert (
        "sed: Log-mel IG, Log-mel saliency skipped (the model does not declare logmel_split)"
        in summary
    )
    crnn = pd.read_csv(workdir / "results" / "main" / "crnn" / "evaluation" / "table2.csv")
    assert list(crnn["method"]) == METHODS
    # The plug-in ran on every model like a built-in gradient method, sanity checks included.
    for model in USER_MODELS:
        table2 = pd.read_csv(workdir / "results" / "main" / model / "evaluation" / "table2.csv")
        assert PLUGIN in set(table2["method"]) and np.isfinite(table2["mean_iou"]).all()
    crnn_sanity = workdir / "results" / "main" / "crnn" / "sanity"
    assert (crnn_sanity / f"{PLUGIN}.csv").is_file()
    assert "| Squared gradient |" in summary
    # The log-mel methods ran on the CRNN with the sanity checks and their robustness.
    for method in ("ig", *LOGMEL):
        robustness = read_robustness(crnn_sanity / "robustness" / f"{method}.csv")
        assert len(robustness) and robustness["max_sensitivity"].notna().all()
    assert "| Log-mel IG |" in summary and "## Robustness" in summary


def test_a_plugins_option_reruns_its_jobs_alone(models_run: tuple[Path, str]) -> None:
    workdir, _ = models_run
    config = _models_config(workdir.parent / "cnn14_export.pt", list(USER_MODELS))
    config["attribution"]["plugins"][PLUGIN]["options"] = {"scale": 2.0}
    output = run_snakemake(workdir, "-n", *_args(workdir, config)).stdout
    # results/main/<model>/{attribution,faithfulness}/<method>/..., .../sanity/<method>.csv
    # and .../sanity/robustness/<method>.csv
    parts = [path.split("/") for path in _written(output)]
    methods_written = {
        p[-1].removesuffix(".csv") if p[3] == "sanity" else p[4]
        for p in parts
        if len(p) > 4 and p[3] in ("attribution", "faithfulness", "sanity")
    }
    assert planned_jobs(output)["attribute"] == 2 * len(USER_MODELS)
    assert methods_written == {PLUGIN}, _written(output)
    _args(workdir, _models_config(workdir.parent / "cnn14_export.pt", list(USER_MODELS)))


def test_the_torchscript_export_gives_the_native_models_results(
    tiny_run: Path, models_run: tuple[Path, str]
) -> None:
    workdir, _ = models_run
    native = tiny_run / "results" / "main" / "cnn14"
    export = workdir / "results" / "main" / "exported"
    for split in ("val", "test"):
        name = f"attribution/instances_{split}.tsv"
        assert (export / name).read_text() == (native / name).read_text()
    for method in ("saliency", "energy"):
        for path in sorted((export / "attribution" / method / "test").glob("*.h5")):
            ours = {c.clip_id: c.scores for c in read_shard(path).clips}
            theirs = {
                c.clip_id: c.scores
                for p in (native / "attribution" / method / "test").glob("*.h5")
                for c in read_shard(p).clips
            }
            for clip_id, scores in ours.items():
                scale = float(np.abs(theirs[clip_id]).max()) or 1.0
                np.testing.assert_allclose(scores, theirs[clip_id], rtol=0, atol=1e-4 * scale)


def test_a_models_spec_reruns_its_chain_and_a_new_model_only_its_own(
    models_run: tuple[Path, str],
) -> None:
    workdir, _ = models_run
    export = workdir.parent / "cnn14_export.pt"
    changed = _models_config(export, list(USER_MODELS), crnn_epochs=4)
    output = run_snakemake(workdir, "-n", *_args(workdir, changed)).stdout
    crnn_only = ("results/models/crnn/", "results/main/crnn/", "results/report/")
    assert "train_crnn" in planned_jobs(output)
    assert all(path.startswith(crnn_only) for path in _written(output)), _written(output)
    # A fourth model (the same export under another name): its chain and the report.
    added = _models_config(export, [*USER_MODELS, "exported2"])
    added["models"]["exported2"] = dict(added["models"]["exported"])
    output = run_snakemake(workdir, "-n", *_args(workdir, added)).stdout
    assert "register_model" in planned_jobs(output)
    new_only = ("results/models/exported2/", "results/main/exported2/", "results/report/")
    assert all(path.startswith(new_only) for path in _written(output)), _written(output)
    _args(workdir, _models_config(export, list(USER_MODELS)))


def test_a_model_returning_logits_fails_naming_it(models_run: tuple[Path, str]) -> None:
    workdir, _ = models_run
    config = _models_config(workdir.parent / "cnn14_export.pt", ["bad"])
    config["models"]["bad"] = {
        "kind": "python",
        "entry": "support.user_models:logits_model",
        "search_path": str(REPO / "tests"),
        "classes": ["a", "b", "c"],
        "sample_rate": 32000,
        "class_map": {"a": "Dog"},
    }
    target = "results/models/bad/classifier.pt"
    result = run_snakemake(workdir, target, *_args(workdir, config), check=False)
    assert result.returncode != 0
    log = (workdir / "results" / "logs" / "register_model" / "bad.log").read_text()
    assert "model 'bad' returned clip outputs" in log and "logits" in log
    assert not (workdir / target).exists()
