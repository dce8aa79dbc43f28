"""Rule faithfulness: hand-computed curves, orders with ties, batching, a real CNN14, the job
end to end (with its shard checks) and the two handover files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from support.explained import one_torch_thread, random_explained  # noqa: F401 - autouse
from torch import nn

from igsed.core.audio import write_wav
from igsed.core.checksums import file_digest
from igsed.core.constants import CLASS_INDEX, CLASSES, CLIP_SAMPLES, N_EVAL_FRAMES, SAMPLE_RATE
from igsed.core.methods import METHOD_INFO
from igsed.faithfulness.curves import CURVE_KEYS, curve_masks, normalised_areas, step_fractions
from igsed.faithfulness.faithfulness import (
    FaithfulnessJob,
    FaithfulnessSettings,
    clip_curves,
    faithfulness,
    mask_probabilities,
)
from igsed.formats.faithfulness import (
    AREA_COLUMNS,
    CURVE_COLUMNS,
    read_areas,
    read_curves,
    write_areas,
    write_curves,
)
from igsed.formats.handover import seal
from igsed.formats.instances import Instance, write_instances
from igsed.formats.manifest import write_manifest
from igsed.formats.shards import ClipScores, ShardError, model_checksum, write_shard

DOG, CAT = "Dog", "Cat"


class FrameEnergyClassifier(nn.Module):
    """(B, N) -> (B, 10): p_c = sum_j W[c, j] * mean square of frame j, in float64.

    On a clip of ones a kept frame adds its weight and a zeroed one nothing, so every curve
    point is a sum of weights. Element-wise products and row sums keep each row's value
    independent of the batch it comes in.
    """

    def __init__(self, weights: np.ndarray) -> None:
        super().__init__()
        self.weights = torch.as_tensor(weights, dtype=torch.float64)
        self.batch_sizes: list[int] = []

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        self.batch_sizes.append(waveform.shape[0])
        frames = waveform.to(torch.float64).reshape(waveform.shape[0], N_EVAL_FRAMES, -1)
        energy = frames.square().mean(dim=-1)
        return (energy[:, None, :] * self.weights).sum(dim=-1)


def _hand_model() -> FrameEnergyClassifier:
    """Dog: frames 50-59 weigh 0.05 each and 20-29 0.02 (F = 0.7); Cat: 0.01 per frame."""
    weights = np.zeros((len(CLASSES), N_EVAL_FRAMES))
    weights[CLASS_INDEX[DOG], 50:60] = 0.05
    weights[CLASS_INDEX[DOG], 20:30] = 0.02
    weights[CLASS_INDEX[CAT], :] = 0.01
    return FrameEnergyClassifier(weights)


def _hand_scores() -> dict[str, np.ndarray]:
    """Dog's scores rank its heavy frames first, then its light ones, then 80 tied frames."""
    dog = np.ones(N_EVAL_FRAMES)
    dog[50:60], dog[20:30] = 3.0, 2.0
    return {DOG: dog, CAT: np.random.default_rng(0).random(N_EVAL_FRAMES)}


ONES = torch.ones(CLIP_SAMPLES)


def _curves(model: nn.Module, scores: dict[str, np.ndarray], steps: int = 10, batch: int = 16):
    results, n_inputs = clip_curves(model, ONES, scores, steps, batch, "clip")
    return {r.class_name: r for r in results}, n_inputs


def test_hand_computed_curves_and_areas() -> None:
    results, _ = _curves(_hand_model(), _hand_scores())
    dog = results[DOG]
    zeros = [0.0] * 9
    expected = {
        ("deletion", "morf"): [0.7, 0.2, *zeros],  # heavy frames go first, then the light ones
        ("deletion", "lerf"): [0.7] * 9 + [0.5, 0.0],  # the 80 weightless frames go first
        ("insertion", "morf"): [0.0, 0.5] + [0.7] * 9,
        ("insertion", "lerf"): [*zeros, 0.2, 0.7],
    }
    for key, values in expected.items():
        np.testing.assert_allclose(dog.probabilities[key], values, atol=1e-12, err_msg=str(key))
    assert dog.reference == pytest.approx(0.7)
    # Trapezoids at 0.1 spacing: 0.1 (0.35 + 0.2) = 0.055 and 0.1 (0.35 + 5.6 + 0.5) = 0.645.
    areas = normalised_areas(step_fractions(10), dog.probabilities, dog.reference)
    assert areas == pytest.approx(
        {
            "deletion_morf": 0.055 / 0.7,
            "deletion_lerf": 0.645 / 0.7,
            "insertion_morf": 0.645 / 0.7,
            "insertion_lerf": 0.055 / 0.7,
        }
    )
    # Cat weighs every frame alike: each curve is linear and every area is one half.
    cat = normalised_areas(step_fractions(10), results[CAT].probabilities, 1.0)
    assert cat == pytest.approx(dict.fromkeys(cat, 0.5))


def test_morf_and_lerf_break_ties_by_frame_index() -> None:
    model = _hand_model()
    # Flat scores: both orders run through the frames in time order, so they agree.
    results, _ = _curves(model, {DOG: np.zeros(N_EVAL_FRAMES)})
    curves = results[DOG].probabilities
    np.testing.assert_array_equal(curves["deletion", "morf"], curves["deletion", "lerf"])
    np.testing.assert_array_equal(curves["insertion", "morf"], curves["insertion", "lerf"])
    # Frames 0-29 first: 20-29 (0.02 each) go at the third step, 50-59 at the sixth.
    np.testing.assert_allclose(curves["deletion", "morf"][:7], [0.7] * 3 + [0.5] * 3 + [0.0])
    # Two tie groups: MoRF takes 50-59 (0.05 each) first, LeRF the other 90 frames in time
    # order, so 20-29 (0.02 each) go at its third step and 50-59 only at the last.
    scores = np.zeros(N_EVAL_FRAMES)
    scores[50:60] = 1.0
    curves = _curves(model, {DOG: scores})[0][DOG].probabilities
    np.testing.assert_allclose(curves["deletion", "morf"][:3], [0.7, 0.2, 0.2])
    np.testing.assert_allclose(curves["deletion", "lerf"], [0.7] * 3 + [0.5] * 7 + [0.0])


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_batches_and_shared_inputs_do_not_change_the_curves(batch_size: int) -> None:
    scores = _hand_scores()
    reference, _ = _curves(_hand_model(), scores, batch=16)
    model = _hand_model()
    results, n_inputs = _curves(model, scores, batch=batch_size)
    for name in scores:
        for key in CURVE_KEYS:
            np.testing.assert_array_equal(
                results[name].probabilities[key], reference[name].probabilities[key]
            )
            # The naive computation: every point of the curve on its own.
            naive = mask_probabilities(_hand_model(), ONES, curve_masks(scores[name], 10)[key], 1)
            np.testing.assert_array_equal(
                results[name].probabilities[key], naive[:, CLASS_INDEX[name]]
            )
    # Cat (no ties): 20 distinct inputs; Dog's tie groups share fewer, but the unmasked clip
    # and silence are shared by both: far fewer than 2 x 44 forwards.
    assert sum(model.batch_sizes) == n_inputs < 2 * 44
    assert max(model.batch_sizes) <= batch_size
    assert _curves(_hand_model(), {CAT: scores[CAT]})[1] == 20


@pytest.mark.parametrize("batch_size", [1, 16])
def test_the_endpoints_with_a_real_cnn14(batch_size: int) -> None:
    model = random_explained(0.0625, seed=0)
    rng = np.random.default_rng(0)
    waveform = torch.as_tensor(0.1 * rng.standard_normal(CLIP_SAMPLES), dtype=torch.float32)
    scores = {DOG: rng.random(N_EVAL_FRAMES), CAT: rng.random(N_EVAL_FRAMES)}
    results, _ = clip_curves(model, waveform, scores, 2, batch_size, "clip")
    with torch.no_grad():
        plain = model(waveform[None])[0].double().numpy()
        silence = model(torch.zeros(1, CLIP_SAMPLES))[0].double().numpy()
    # The masked copies' power comes from Cnn14.masked_power (windows recomputed by matmul,
    # batched convolutions): float32 sums in another order than a plain forward.
    atol = 1e-6
    for result in results:
        c = CLASS_INDEX[result.class_name]
        curves = result.probabilities
        for key in CURVE_KEYS:
            full, empty = (0, -1) if key[0] == "deletion" else (-1, 0)
            np.testing.assert_allclose(curves[key][full], plain[c], rtol=0, atol=atol)
            np.testing.assert_allclose(curves[key][empty], silence[c], rtol=0, atol=atol)
        assert result.reference == curves["deletion", "morf"][0]


def test_the_clip_classifier_sees_exactly_the_masked_waveforms() -> None:
    """The fast path (power of the masked copies from Cnn14.masked_power) gives the
    probabilities of a plain forward of each zero-filled copy (float64)."""
    model = random_explained(0.0625, seed=0, dtype=torch.float64)
    rng = np.random.default_rng(2)
    waveform = torch.as_tensor(0.1 * rng.standard_normal(CLIP_SAMPLES), dtype=torch.float64)
    masks = rng.random((7, N_EVAL_FRAMES)) < 0.6
    masks[0], masks[1] = True, False
    ours = mask_probabilities(model, waveform, masks, batch_size=3)
    keep = torch.from_numpy(masks).repeat_interleave(CLIP_SAMPLES // N_EVAL_FRAMES, dim=1)
    with torch.no_grad():
        plain = model(torch.where(keep, waveform, 0.0)).numpy()
    np.testing.assert_allclose(ours, plain, rtol=1e-10, atol=1e-12)


# --- the job end to end -------------------------------------------------------------------

INSTANCES = {"test_00000": (DOG, CAT), "test_00001": ("Speech",)}
PARAMS: dict[str, dict[str, Any]] = {"ig": {"n_steps": 4}, "energy": {}, "fw_weak": {}}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from igsed.models.cnn14 import Cnn14, save_backbone
    from igsed.models.heads import make_head, save_head

    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    backbone = Cnn14(width=1 / 16).eval()
    paths = {"backbone": folder / "backbone.pt", "clip_head": folder / "clip_head.pt"}
    save_backbone(backbone, paths["backbone"], source="test", config={"pooling": "max_mean"})
    head = make_head("clip", backbone, clip_pooling="max")
    sha256 = file_digest(paths["backbone"])
    save_head(head, paths["clip_head"], head="clip", backbone_sha256=sha256, training={})
    return paths


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, models: dict[str, Path]) -> dict[str, Path]:
    """The models, a manifest (two test clips, one val clip), their audio and the test
    instances."""
    root = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(1)
    rows = []
    for clip_id in [*INSTANCES, "val_00002"]:
        audio = 0.05 * rng.standard_normal(CLIP_SAMPLES)
        audio[SAMPLE_RATE : 3 * SAMPLE_RATE] *= 6.0
        path = root / "audio" / f"{clip_id}.wav"
        write_wav(path, audio, SAMPLE_RATE)
        rows.append((clip_id, clip_id.split("_")[0], str(path), "x.jams", 1, 1))
    columns = ["clip_id", "split", "audio_path", "jams_path", "n_events", "polyphony"]
    write_manifest(pd.DataFrame(rows, columns=columns), root / "manifest.tsv")
    instances = [Instance(c, name, 0.9, True) for c, names in INSTANCES.items() for name in names]
    write_instances(root / "instances_test.tsv", instances)
    return {**models, "manifest": root / "manifest.tsv", "instances": root / "instances_test.tsv"}


def _write_shards(folder: Path, run: dict[str, Path], method: str, /, **header: Any) -> list[Path]:
    """One shard per test clip, made as rule attribute makes them (or with `header` changed)."""
    info = METHOD_INFO[method]
    checksum = model_checksum({role: run[role] for role in info.models if role in run})
    recorded = {
        "method": method,
        "split": "test",
        # The framewise heads' files never reach the rule: any checksum passes.
        "model_checksum": "unknown" if method == "fw_weak" else checksum,
        "instances_checksum": "" if info.all_classes else file_digest(run["instances"]),
        "settings": {**PARAMS[method], "device": "cpu"},
        **header,
    }
    paths = []
    for number, (clip_id, names) in enumerate(INSTANCES.items()):
        classes = list(CLASSES) if info.all_classes else list(names)
        scores = np.random.default_rng(number).random((len(classes), N_EVAL_FRAMES))
        path = folder / method / f"shard_{number}.h5"
        write_shard(path, [ClipScores(clip_id, classes, scores)], **recorded)
        paths.append(path)
    return paths


def _job(run: dict[str, Path], method: str, shards: list[Path], out: Path) -> FaithfulnessJob:
    return FaithfulnessJob(
        method=method,
        method_params=PARAMS[method],
        manifest=run["manifest"],
        instances=run["instances"],
        shards=tuple(shards),
        models={"backbone": run["backbone"], "clip_head": run["clip_head"]},
        curves=out / "curves.csv",
        areas=out / "areas.csv",
    )


@pytest.mark.parametrize("method", ["ig", "energy", "fw_weak"])
def test_the_job_writes_both_tables(
    method: str, run: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job = _job(run, method, _write_shards(tmp_path, run, method), tmp_path)
    with caplog.at_level(logging.INFO, logger="igsed.faithfulness"):
        summary = faithfulness(job, FaithfulnessSettings(steps=2, batch_size=16, device="cpu"))
    lines = [r.getMessage() for r in caplog.records if r.name == "igsed.faithfulness.faithfulness"]
    assert sum(f"clip {n}/2 test_0000" in line for line in lines for n in (1, 2)) == 2
    assert "faithfulness written: 3 instances of 2 clips" in lines[-1]
    curves, areas = read_curves(job.curves), read_areas(job.areas)
    instances = [(clip_id, name) for clip_id, names in INSTANCES.items() for name in names]
    assert summary["n_instances"] == len(areas) == len(instances) and summary["n_clips"] == 2
    assert sorted(zip(areas["clip_id"], areas["class"], strict=True)) == sorted(instances)
    assert len(curves) == len(instances) * 4 * 3
    keys = ["clip_id", "class", "curve", "order", "fraction"]
    pd.testing.assert_frame_equal(curves, curves.sort_values(keys).reset_index(drop=True))
    assert set(curves["fraction"]) == {0.0, 0.5, 1.0}
    for row in areas.itertuples(index=False):
        mine = curves[(curves["clip_id"] == row.clip_id) & (curves["class"] == row[1])]
        points = {(r.curve, r.order): r.probability for r in mine.itertuples() if r.fraction == 0}
        assert points["deletion", "morf"] == points["deletion", "lerf"] == row.probability
        by_key = {
            key: mine[(mine["curve"] == key[0]) & (mine["order"] == key[1])] for key in CURVE_KEYS
        }
        expected = normalised_areas(
            np.array([0.0, 0.5, 1.0]),
            {k: v["probability"].to_numpy() for k, v in by_key.items()},
            row.probability,
        )
        assert {k: getattr(row, k) for k in expected} == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ({"settings": {"n_steps": 8}}, "n_steps = 8 (configured: 4)"),
        ({"instances_checksum": "old"}, "made for other test instances"),
        ({"model_checksum": "old"}, "made with other model files"),
        ({"method": "saliency"}, "a shard of method 'saliency'"),
        ({"split": "val"}, "a shard of split 'val'"),
    ],
)
def test_a_stale_shard_is_named(
    header: dict[str, Any], problem: str, run: dict[str, Path], tmp_path: Path
) -> None:
    fresh, _ = _write_shards(tmp_path / "fresh", run, "ig")
    stale = _write_shards(tmp_path / "stale", run, "ig", **header)[1]
    job = _job(run, "ig", [fresh, stale], tmp_path)
    with pytest.raises(ShardError, match="1 ig test shards") as error:
        faithfulness(job, FaithfulnessSettings(steps=2, device="cpu"))
    assert f"{stale}: {problem}" in str(error.value) and f"--forcerun {stale}" in str(error.value)
    assert not job.curves.exists() and not job.areas.exists()


def test_missing_instance_scores_are_an_error(run: dict[str, Path], tmp_path: Path) -> None:
    first, _ = _write_shards(tmp_path, run, "ig")
    job = _job(run, "ig", [first], tmp_path)
    with pytest.raises(ShardError, match=r"1 instances of .* have no ig scores.*test_00001"):
        faithfulness(job, FaithfulnessSettings(steps=2, device="cpu"))


def test_settings_from_the_config_section() -> None:
    assert FaithfulnessSettings.from_config({"steps": 10, "batch_size": 16, "device": "auto"}) == (
        FaithfulnessSettings()
    )
    with pytest.raises(ValueError, match="unknown faithfulness settings"):
        FaithfulnessSettings.from_config({"steps": 10, "stride": 2})
    with pytest.raises(ValueError, match="batch_size"):
        FaithfulnessSettings(batch_size=0)


# --- the handover files ---------------------------------------------------------------------


def _curve_rows(probability: float) -> pd.DataFrame:
    rows = [
        ("test_00001", name, curve, order, fraction, probability)
        for name in (DOG, CAT)
        for curve, order in CURVE_KEYS
        for fraction in (1.0, 0.5, 0.0)
    ]
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


@pytest.mark.parametrize(
    "curves",
    [_curve_rows(0.25), _curve_rows(float("nan")), _curve_rows(1e-7), _curve_rows(0.0).iloc[:0]],
    ids=["plain", "nan", "tiny", "header-only"],
)
def test_curves_round_trip(curves: pd.DataFrame, tmp_path: Path) -> None:
    write_curves(tmp_path / "curves.csv", curves)
    back = read_curves(tmp_path / "curves.csv")
    keys = ["clip_id", "class", "curve", "order", "fraction"]
    expected = curves.sort_values(keys, kind="mergesort").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected.astype({"fraction": float}), check_dtype=False)
    assert back["fraction"].dtype == back["probability"].dtype == np.float64


@pytest.mark.parametrize("probability", [0.8, float("nan")], ids=["plain", "nan"])
def test_areas_round_trip(probability: float, tmp_path: Path) -> None:
    areas = pd.DataFrame(
        [
            ("test_00002", DOG, probability, 0.1, 0.9, 0.8, float("nan")),
            ("test_00001", CAT, 0.6, 0.2, 0.7, 0.75, 0.3),
        ],
        columns=list(AREA_COLUMNS),
    )
    write_areas(tmp_path / "areas.csv", areas)
    back = read_areas(tmp_path / "areas.csv")
    pd.testing.assert_frame_equal(back, areas.iloc[[1, 0]].reset_index(drop=True))
    write_areas(tmp_path / "empty.csv", areas.iloc[:0])
    empty = read_areas(tmp_path / "empty.csv")
    assert list(empty.columns) == list(AREA_COLUMNS) and empty.empty


@pytest.mark.parametrize(
    ("writer", "reader", "frame", "column"),
    [
        (write_curves, read_curves, _curve_rows(0.5), "order"),
        (
            write_areas,
            read_areas,
            pd.DataFrame([("a", DOG, 0.5, 1, 1, 1, 1)], columns=list(AREA_COLUMNS)),
            "insertion_lerf",
        ),
    ],
    ids=["curves", "areas"],
)
def test_a_missing_column_is_named_with_the_file(
    writer, reader, frame, column: str, tmp_path: Path
) -> None:
    path = tmp_path / "table.csv"
    frame.drop(columns=[column]).to_csv(path, index=False)
    seal(path)
    with pytest.raises(ValueError, match=rf"{path}: missing columns \['{column}'\]"):
        reader(path)
    with pytest.raises(ValueError, match="missing columns"):
        writer(path, frame.drop(columns=[column]))


def test_unknown_curve_names_are_refused(tmp_path: Path) -> None:
    frame = _curve_rows(0.5)
    frame.loc[0, "curve"] = "erasure"
    frame.to_csv(tmp_path / "curves.csv", index=False)
    seal(tmp_path / "curves.csv")
    with pytest.raises(ValueError, match=r"curves.csv: unknown curve values \['erasure'\]"):
        read_curves(tmp_path / "curves.csv")
