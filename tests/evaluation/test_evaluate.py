"""evaluate(): end to end on small hand-built shards with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.fake_run import TEST_CLIPS, FakeRun, fake_scores, write_fake_run

from igsed.core.annotations import Event
from igsed.core.constants import CLASSES, N_EVAL_FRAMES
from igsed.evaluation.evaluate import (
    EvaluationInputs,
    MetricSettings,
    SplitScores,
    evaluate,
    select_instances,
    table2_markdown,
)
from igsed.evaluation.scores import MethodScores, ShardSet
from igsed.formats.instances import Instance
from igsed.formats.shards import write_shard


# clip id -> (events, detected classes with their clip probability)
@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> tuple[FakeRun, Path, dict]:
    root = tmp_path_factory.mktemp("run")
    run = write_fake_run(root)
    out = root / "evaluation"
    result = evaluate(run.inputs(), MetricSettings(), out)
    return run, out, result


def _table2(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "table2.csv").set_index("method")


def test_outputs_are_written(evaluated) -> None:
    _, out, _ = evaluated
    for name in (
        "table2.csv",
        "table2.md",
        "table3.csv",
        "table3.md",
        "sweep_val.csv",
        "sweep_test.csv",
        "instances_test.csv",
        "tau_star.json",
        "convergence.json",
    ):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob(".*.part"))


def test_perfect_scores_give_one_and_the_lowest_tau_of_the_plateau(evaluated) -> None:
    _, out, result = evaluated
    table2 = _table2(out)
    ig = table2.loc["ig"]
    assert ig["mean_iou"] == 1.0 and ig["f1"] == 1.0 and ig["pg"] == 1.0 and ig["std_iou"] == 0.0
    # An event of k frames sorts as 100 - k zeros then k ones: the mask is exactly the event
    # once tau * 0.99 > 99 - k. The shortest val event (Cat of val_001, 4 frames) needs
    # tau >= 96, so IoU = F1 = 1 on 96..99 and ties go to the lowest tau.
    assert ig["tau_star_iou"] == 96 and ig["tau_star_f1"] == 96
    # Instances: Dog + Cat (test_000), Speech (test_001), Dog (test_002); not the absent
    # Vacuum_cleaner and Frying detections and not the missed Cat of test_003.
    assert ig["n_instances"] == 4 and ig["n_classes"] == 3
    assert (table2["n_instances"] == 4).all()
    tau_star = json.loads((out / "tau_star.json").read_text())
    assert tau_star["methods"]["ig"]["iou"] == {"tau": 96, "val_value": 1.0}
    assert result["tau_star"]["ig"]["f1"]["tau"] == 96


def test_flat_energy_scores_select_every_frame(evaluated) -> None:
    _, out, _ = evaluated
    energy = _table2(out).loc["energy"]
    # Flat curve: tau* = 1 by the tie rule; the mask is the whole clip, IoU = event frames / 100.
    assert energy["tau_star_iou"] == 1 and energy["tau_star_f1"] == 1
    dog, cat, speech = (0.10 + 0.05) / 2, 0.21, 0.40
    assert energy["mean_iou"] == pytest.approx((dog + cat + speech) / 3, abs=1e-6)
    assert energy["std_iou"] == pytest.approx(np.std([0.10, 0.21, 0.40, 0.05]), abs=1e-6)
    f1 = [2 * k / (k + 100) for k in (10, 5)], 42 / 121, 80 / 140
    assert energy["f1"] == pytest.approx((np.mean(f1[0]) + f1[1] + f1[2]) / 3, abs=1e-6)
    # The first arg-max of flat scores is frame 0: inside Dog of test_000 only.
    assert energy["pg"] == pytest.approx((0.5 + 0.0 + 0.0) / 3, abs=1e-6)


def test_table3_shows_na_for_classes_without_instances(evaluated) -> None:
    _, out, _ = evaluated
    table3 = pd.read_csv(out / "table3.csv").set_index("class")
    assert table3.loc["Alarm_bell_ringing", "ig_n"] == 0
    assert np.isnan(table3.loc["Alarm_bell_ringing", "ig_iou"])
    assert table3.loc["Dog", "ig_n"] == 2 and table3.loc["Dog", "ig_iou"] == 1.0
    assert table3.loc["Cat", "fw_strong_n"] == 1
    markdown = (out / "table3.md").read_text()
    alarm_row = next(line for line in markdown.splitlines() if "Alarm_bell_ringing" in line)
    cells = [c.strip() for c in alarm_row.strip("|").split("|")]
    assert cells[1:] == ["0", "n/a", "n/a"] * 5
    # A column group per method, in the run's order.
    assert list(table3.columns[:3]) == ["ig_n", "ig_iou", "ig_f1"]
    assert list(table3.columns[-3:]) == ["energy_n", "energy_iou", "energy_f1"]
    assert "0.00" not in alarm_row


def test_sweep_and_instance_files(evaluated) -> None:
    _, out, _ = evaluated
    sweep_val = pd.read_csv(out / "sweep_val.csv")
    assert set(sweep_val["method"]) == {"ig", "fw_weak", "fw_strong", "energy", "random"}
    ig = sweep_val[sweep_val["method"] == "ig"].set_index("tau")
    assert list(ig.index) == list(range(1, 100))
    assert ig.loc[96, "iou"] == 1.0 and ig.loc[95, "iou"] < 1.0
    instances = pd.read_csv(out / "instances_test.csv")
    assert len(instances) == 5 * 4
    energy = instances[instances["method"] == "energy"].set_index(["clip_id", "class"])
    assert energy.loc[("test_001", "Speech"), "iou"] == pytest.approx(0.40)
    assert energy.loc[("test_000", "Dog"), "pg"] == 1.0


def test_convergence_summary(evaluated) -> None:
    _, out, _ = evaluated
    convergence = json.loads((out / "convergence.json").read_text())
    # Val attributions: val_000 Dog, Speech (0.01, 0.02); val_001 Blender, Cat (0.01, 0.02);
    # val_002 Frying (0.01); val_003 Speech (0.01).
    assert list(convergence["methods"]) == ["ig"]  # the only method recording completeness
    val = convergence["methods"]["ig"]["val"]
    assert val["n_attributions"] == 6
    assert val["median_abs_delta"] == pytest.approx(0.01)
    assert val["n_small_score_gap"] == 1  # Blender: F(x) == F(0)
    assert val["per_class"]["Speech"]["median_f_baseline"] == pytest.approx(0.2)
    assert convergence["methods"]["ig"]["test"]["n_attributions"] == 6
    assert convergence["shard_settings"]["ig"] == [{"n_steps": 8}]


def test_false_positives_and_own_fw_detections(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path)
    out = tmp_path / "fp"
    evaluate(
        run.inputs(),
        MetricSettings(count_false_positives=True, fw_detections="own"),
        out,
    )
    table2 = _table2(out)
    # Vacuum_cleaner and Frying (absent) are now IG instances scoring 0.
    assert table2.loc["ig", "n_instances"] == 6
    assert table2.loc["ig", "mean_iou"] == pytest.approx(3 / 5)
    instances = pd.read_csv(out / "instances_test.csv")
    vacuum = instances[(instances["class"] == "Vacuum_cleaner") & (instances["method"] == "ig")]
    assert vacuum[["iou", "f1", "pg"]].to_numpy().tolist() == [[0.0, 0.0, 0.0]]
    assert not bool(vacuum["present"].iloc[0])
    # FW models detect every present class themselves, including test_003's Cat.
    assert table2.loc["fw_strong", "n_instances"] == 5
    fw = instances[instances["method"] == "fw_strong"]
    assert ("test_003", "Cat") in set(zip(fw["clip_id"], fw["class"], strict=True))


def _with_expected(run: FakeRun, expected: dict[str, list[str]]) -> EvaluationInputs:
    return EvaluationInputs(run.shards, run.instances, run.events, expected)


def test_missing_clips_are_listed(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path)
    expected = {"val": run.expected["val"], "test": run.expected["test"] + ["test_999"]}
    with pytest.raises(FileNotFoundError, match="test_999"):
        evaluate(_with_expected(run, expected), MetricSettings(), tmp_path / "out")
    run.shards.of("energy", "test")[1].unlink()
    with pytest.raises(FileNotFoundError, match="energy test: shard files not found.*test_001"):
        evaluate(run.inputs(), MetricSettings(), tmp_path / "out")
    assert not (tmp_path / "out" / "table2.csv").exists()


def test_wrong_split_and_stray_clips_are_errors(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path)
    swapped = {m: {"val": by["val"], "test": by["val"]} for m, by in run.shards.paths.items()}
    inputs = EvaluationInputs(ShardSet(swapped), run.instances, run.events, run.expected)
    with pytest.raises(ValueError, match="ig on val, expected ig on test"):
        evaluate(inputs, MetricSettings(), tmp_path / "out")
    expected = {"val": run.expected["val"][1:], "test": run.expected["test"]}
    with pytest.raises(ValueError, match="val_000"):
        evaluate(_with_expected(run, expected), MetricSettings(), tmp_path / "out")


@pytest.mark.parametrize(("method", "class_name"), [("ig", "Speech"), ("energy", "Dog")])
def test_non_finite_scores_name_clip_class_and_method(
    tmp_path: Path, method: str, class_name: str
) -> None:
    run = write_fake_run(tmp_path)
    clip_id = "test_001" if method == "ig" else "test_002"
    events, detected = TEST_CLIPS[clip_id]
    clip = fake_scores(method, clip_id, events, detected)
    clip.scores[clip.classes.index(class_name), 17] = np.nan if method == "ig" else np.inf
    path = run.shards.of(method, "test")[list(TEST_CLIPS).index(clip_id)]
    write_shard(
        path,
        [clip],
        method=method,
        split="test",
        model_checksum="abc",
        instances_checksum="",
        settings={},
    )
    with pytest.raises(ValueError) as error:
        evaluate(run.inputs(), MetricSettings(), tmp_path / "out")
    message = str(error.value)
    assert clip_id in message and class_name in message and f"method {method}" in message


def _split(clips: dict[str, tuple[list[Event], dict[str, float]]], detections: list[Instance]):
    from igsed.core.annotations import frame_labels

    methods = {
        method: MethodScores(
            {c: fake_scores(method, c, ev, det) for c, (ev, det) in clips.items()}, []
        )
        for method in ("ig", "energy", "fw_strong")
    }
    truth = {c: frame_labels(ev, 0.1, 100).astype(bool) for c, (ev, _) in clips.items()}
    return SplitScores(list(clips), truth, detections, methods)


def test_select_instances_in_memory_edge_cases() -> None:
    events, detected = TEST_CLIPS["test_000"]
    clips = {"test_000": (events, detected), "quiet": ([Event(1.0, 2.0, "Dog")], {})}
    # Only Dog is an instance of the classifier here; the quiet clip adds nothing.
    data = _split(clips, [Instance("test_000", "Dog", 0.9, True)])
    ig = select_instances(data, "ig", MetricSettings())
    assert ig.clip_ids == ["test_000"] and [CLASSES[i] for i in ig.class_index] == ["Dog"]
    energy = select_instances(data, "energy", MetricSettings())
    assert np.array_equal(energy.scores[0], np.full(N_EVAL_FRAMES, 0.05))
    # Own detections: fw_strong's own clip probabilities (0.9 on event classes) decide.
    own = select_instances(data, "fw_strong", MetricSettings(threshold=0.85, fw_detections="own"))
    assert list(zip(own.clip_ids, [CLASSES[i] for i in own.class_index], strict=True)) == [
        ("test_000", "Cat"),
        ("test_000", "Dog"),
        ("quiet", "Dog"),
    ]
    # An instance the method has no row for names the clip and class.
    data = _split(clips, [Instance("quiet", "Dog", 0.9, True)])
    with pytest.raises(ValueError, match="ig: clip quiet: no scores for class Dog"):
        select_instances(data, "ig", MetricSettings())
    with pytest.raises(ValueError, match="fw_detections"):
        MetricSettings(fw_detections="mine")


def test_table2_names_the_methods_without_detected_instances() -> None:
    """Issue 26 item 2: zero instances is a result, and Table II says so."""
    row = {"mean_iou": None, "f1": None, "std_iou": None, "pg": None}
    table2 = pd.DataFrame(
        [
            {"label": "IG", **row, "tau_star_iou": None, "tau_star_f1": None, "n_instances": 0},
            {"label": "FW", **row, "tau_star_iou": 40, "tau_star_f1": 50, "n_instances": 3},
        ]
    )
    markdown = table2_markdown(table2)
    assert "| IG | n/a | n/a | n/a | n/a | n/a | n/a | 0 |" in markdown
    assert markdown.endswith("\nIG: no detected instances (n/a is not a score of 0).\n")
