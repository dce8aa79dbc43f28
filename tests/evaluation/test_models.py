"""The model × method table, its ranking sentences and figure, on two hand-built models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.models_run import (
    INTERVALS,
    N_CLIPS,
    N_INSTANCES,
    PSDS1,
    SANITY_END,
    SANITY_INSTANCES,
    write_models,
)

from igsed.core.statistics import BootstrapSettings, clip_draws
from igsed.evaluation.models import (
    ModelResults,
    comparisons,
    model_results,
    model_table,
    models_markdown,
    ranking_lines,
    skipped_lines,
    table_markdown,
    write_models_outputs,
)
from igsed.formats.handover import DamagedFileError
from igsed.formats.models_table import (
    MODEL_METRICS,
    read_models_table,
    write_models_table,
)
from igsed.formats.tables import write_csv

SETTINGS = BootstrapSettings(n_resamples=300, seed=3)
RUN_ORDER = ["ig", "gradcam", "fw_weak", "fw_strong", "model_frames", "energy", "random"]
FW_REASON = "needs CNN14's framewise heads (trained on its frame embeddings)"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModelResults]:
    return write_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def table(models: dict[str, ModelResults]) -> pd.DataFrame:
    return model_table(models, SETTINGS, RUN_ORDER)


def _cell(table: pd.DataFrame, model: str, method: str, metric: str) -> pd.Series:
    rows = table[
        (table["model"] == model) & (table["method"] == method) & (table["metric"] == metric)
    ]
    assert len(rows) == 1, (model, method, metric)
    return rows.iloc[0]


def test_the_table_holds_every_models_figures(table: pd.DataFrame) -> None:
    for model, by_method in INTERVALS.items():
        for method, figures in by_method.items():
            for metric in ("iou", "auroc", "deletion_morf"):
                row = _cell(table, model, method, metric)
                if metric not in figures:  # the framewise heads have no faithfulness here
                    assert row["status"] == "not_measured" and np.isnan(row["value"])
                    continue
                assert row["status"] == "measured" and row["n"] == N_INSTANCES
                assert tuple(row[["value", "ci_low", "ci_high"]]) == figures[metric]
            psds = _cell(table, model, method, "psds1")
            assert tuple(psds[["value", "ci_low", "ci_high"]]) == PSDS1[model][method]
            assert psds["n"] == N_CLIPS
    # Rows: model order, then the run's order; every metric of every method.
    assert list(dict.fromkeys(table["model"])) == ["cnn14", "crnn"]
    cnn14 = list(dict.fromkeys(table.loc[table["model"] == "cnn14", "method"]))
    assert cnn14 == ["ig", "gradcam", "fw_weak", "fw_strong", "model_frames", "energy", "random"]
    for _, rows in table.groupby(["model", "method"]):
        assert list(rows["metric"]) == list(MODEL_METRICS)


def _bootstrap_median(values: list[float], clips: list[str]) -> tuple[float, float, float, int]:
    """The median and its percentile interval, one resample at a time with numpy."""
    clip_ids = sorted(set(c for c, _ in SANITY_INSTANCES))
    counts = clip_draws(clip_ids, SETTINGS)
    defined = [(v, c) for v, c in zip(values, clips, strict=True) if not np.isnan(v)]
    medians = []
    for draw in counts:
        drawn = [v for v, c in defined for _ in range(int(draw[clip_ids.index(c)]))]
        if drawn:
            medians.append(np.median(drawn))
    low, high = np.percentile(medians, [2.5, 97.5])
    return float(np.median([v for v, _ in defined])), float(low), float(high), len(defined)


def test_sanity_is_the_median_at_full_randomisation(table: pd.DataFrame) -> None:
    clips = [clip for clip, _ in SANITY_INSTANCES]
    for method, end in SANITY_END.items():
        row = _cell(table, "cnn14", method, "sanity_full")
        expected = _bootstrap_median(end, clips)
        assert (row["value"], row["ci_low"], row["ci_high"]) == pytest.approx(expected[:3])
        assert row["n"] == expected[3]
    assert _cell(table, "cnn14", "ig", "sanity_full")["value"] == pytest.approx(0.075)
    # No sanity check of the crnn, nor of the baselines: not measured, with why.
    for model, method in (("crnn", "ig"), ("cnn14", "energy")):
        row = _cell(table, model, method, "sanity_full")
        assert row["status"] == "not_measured" and "no sanity check" in row["reason"]


def test_skipped_methods_carry_their_reason(table: pd.DataFrame) -> None:
    for method in ("fw_weak", "fw_strong"):
        rows = table[(table["model"] == "crnn") & (table["method"] == method)]
        assert list(rows["status"]) == ["skipped"] * len(MODEL_METRICS)
        assert set(rows["reason"]) == {FW_REASON} and rows["value"].isna().all()
    frames = table[(table["model"] == "cnn14") & (table["method"] == "model_frames")]
    assert set(frames["reason"]) == {"the model does not declare frame_output"}
    assert skipped_lines(table) == [
        "cnn14: Model frames skipped (the model does not declare frame_output).",
        f"crnn: FW-WS, FW-SS skipped ({FW_REASON}).",
    ]


def test_the_markdown_has_one_column_group_per_model(table: pd.DataFrame) -> None:
    lines = table_markdown(table).splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[:3] == ["Method", "cnn14 Mean IoU", "cnn14 AUROC"]
    assert header[5:7] == ["cnn14 Sanity ρ, all random ↓", "crnn Mean IoU"] and len(header) == 11
    rows = {
        cells[0]: cells
        for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines[2:])
    }
    sanity = _cell(table, "cnn14", "ig", "sanity_full")
    assert rows["IG"][1] == "0.50 [0.45, 0.55]"
    assert (
        rows["IG"][5] == f"{sanity['value']:.2f} [{sanity['ci_low']:.2f}, {sanity['ci_high']:.2f}]"
    )
    assert rows["IG"][10] == "—"  # no sanity check on the crnn
    assert rows["FW-WS"][5:] == ["—", f"n/a (skipped: {FW_REASON})", "n/a", "n/a", "n/a", "n/a"]
    assert rows["Model frames"][1] == "n/a (skipped: the model does not declare frame_output)"
    assert rows["Model frames"][5] == "n/a" and rows["Model frames"][6] == "0.55 [0.50, 0.60]"


def test_ranking_sentences_say_where_the_models_differ(
    models: dict[str, ModelResults], table: pd.DataFrame
) -> None:
    lines = ranking_lines(table, comparisons(models))
    assert lines[0] == (
        "**IoU**: beat IG — cnn14: Grad-CAM, FW-WS; crnn: Model frames. "
        "Beat the best baseline — cnn14 (Energy baseline): IG, Grad-CAM, FW-WS, FW-SS; "
        "crnn (Energy baseline): IG, Grad-CAM, Model frames."
    )
    assert lines[2].startswith("**PSDS1**: beat IG — cnn14: Grad-CAM, FW-WS, FW-SS; crnn: Model")
    assert lines[4:] == [
        "On IoU, Grad-CAM beats IG on cnn14 (+0.06 [+0.02, +0.09]) but not on crnn "
        "(-0.01 [-0.04, +0.02]).",
        "On IoU, the top 3 by point value (among the methods every model ran) differ: "
        "cnn14 Grad-CAM > IG > Energy baseline; crnn IG > Grad-CAM > Energy baseline.",
        "On PSDS1, Grad-CAM beats IG on cnn14 (+0.1 [+0.05, +0.15]) but not on crnn "
        "(+0.03 [-0.02, +0.08]).",
        # AUROC: Grad-CAM is worse than IG on crnn, which is no win; IG and Grad-CAM beat
        # the best baseline on both (Random on cnn14, Energy on crnn). A method one model
        # skips (FW-WS, Model frames) is left to the per-model lines.
        "On AUROC and deletion MoRF area the models agree: of the methods every model ran, "
        "the same beat IG and the best baseline, and the same top 3 lead by point value.",
    ]


def test_ranking_of_one_model_has_no_comparison(
    models: dict[str, ModelResults], table: pd.DataFrame
) -> None:
    one = table[table["model"] == "crnn"]
    lines = ranking_lines(one, comparisons({"crnn": models["crnn"]}))
    assert len(lines) == 4 and all(line.startswith("**") for line in lines)


def test_the_table_round_trips_and_damage_is_refused(table: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "models.csv"
    write_models_table(table, path)
    back = read_models_table(path)
    pd.testing.assert_frame_equal(
        back.reset_index(drop=True),
        table.assign(n=table["n"].astype("Int64")).reset_index(drop=True),
        check_dtype=False,
    )
    text = path.read_text()
    path.write_text(text.replace("0.560000", "0.660000", 1))
    with pytest.raises(DamagedFileError, match="models.csv"):
        read_models_table(path)
    # A table that matches its record but lacks a metric of a method, or skips a method
    # for some metrics only, is refused as damaged.
    write_csv(back.iloc[1:], path)
    with pytest.raises(DamagedFileError, match="metric values, expected 5"):
        read_models_table(path)
    partial = back.copy()
    index = partial.index[(partial["method"] == "fw_weak") & (partial["model"] == "crnn")][0]
    partial.loc[index, "status"] = "not_measured"
    write_csv(partial, path)
    with pytest.raises(DamagedFileError, match="fw_weak is skipped on model crnn for some"):
        read_models_table(path)
    odd = back.copy()
    odd.loc[0, "status"] = "maybe"
    write_csv(odd, path)
    with pytest.raises(DamagedFileError, match="unknown status"):
        read_models_table(path)


def test_the_writer_refuses_figures_on_a_skipped_row(table: pd.DataFrame, tmp_path: Path) -> None:
    bad = table.copy()
    index = bad.index[bad["status"] == "skipped"][0]
    bad.loc[index, "value"] = 0.5
    with pytest.raises(ValueError, match="skipped or unmeasured row has figures"):
        write_models_table(bad, tmp_path / "models.csv")
    assert not (tmp_path / "models.csv").exists()


def test_a_skipped_method_with_results_is_an_error(models: dict[str, ModelResults]) -> None:
    cnn14 = models["cnn14"]
    wrong = ModelResults(
        cnn14.intervals_csv,
        cnn14.differences_csv,
        cnn14.sed_view_csv,
        cnn14.sed_view_differences_csv,
        {},
        {"gradcam": "no"},
    )
    with pytest.raises(ValueError, match=r"cnn14: \['gradcam'\] are skipped yet have results"):
        model_table({"cnn14": wrong}, SETTINGS)


def test_the_outputs_are_written(models: dict[str, ModelResults], tmp_path: Path) -> None:
    body = write_models_outputs(models, SETTINGS, tmp_path, RUN_ORDER)
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".check"))
    assert names == ["models.csv", "models.md", "models.png", "models.svg"]
    assert (tmp_path / "models.md").read_text() == f"# Models × methods\n\n{body}"
    assert "![Model × method forest plot](models.png)" in body and "(models.csv)" in body
    table = read_models_table(tmp_path / "models.csv")
    assert body == models_markdown(table, comparisons(models), "95 %")
    svg = (tmp_path / "models.svg").read_text()
    assert svg.count('<g id="axes_') == len(MODEL_METRICS)
    assert (tmp_path / "models.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_rules_lists_become_model_results() -> None:
    runs = {m: f"results/main/{m}" for m in ("cnn14", "crnn")}
    found = model_results(
        ["cnn14", "crnn"],
        [f"{run}/evaluation/intervals.csv" for run in runs.values()],
        [f"{run}/evaluation/differences.csv" for run in runs.values()],
        [f"{run}/evaluation/sed_view.csv" for run in runs.values()],
        [f"{run}/evaluation/sed_view_differences.csv" for run in runs.values()],
        [f"{runs['cnn14']}/sanity/ig.csv", f"{runs['cnn14']}/sanity/gradcam.csv"],
        {"crnn": {"fw_weak": FW_REASON}},
    )
    assert list(found) == ["cnn14", "crnn"]
    assert found["crnn"].intervals_csv == Path("results/main/crnn/evaluation/intervals.csv")
    assert found["cnn14"].sanity == {
        "ig": Path("results/main/cnn14/sanity/ig.csv"),
        "gradcam": Path("results/main/cnn14/sanity/gradcam.csv"),
    }
    assert found["crnn"].sanity == {} and found["cnn14"].skipped == {}
    assert found["crnn"].skipped == {"fw_weak": FW_REASON}
    with pytest.raises(ValueError, match="not a sanity table of one of the models"):
        model_results(
            ["cnn14"], ["a"], ["b"], ["c"], ["d"], ["results/main/other/sanity/ig.csv"], {}
        )
    with pytest.raises(ValueError):  # one file per model
        model_results(["cnn14", "crnn"], ["a"], ["b"], ["c"], ["d"], [], {})
