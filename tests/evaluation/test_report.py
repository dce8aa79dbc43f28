"""Figures and the summary report, on the evaluation of the hand-built run of test_evaluate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from support.fake_run import (
    FIGURE_CLIP,
    FakeRun,
    write_fake_faithfulness,
    write_fake_run,
    write_fake_sanity,
)
from support.models_run import write_model

from igsed.attribution.figure_clip import choose_figure_clip, rank_figure_clips
from igsed.core.atomic import write_json
from igsed.core.constants import CLASSES
from igsed.core.statistics import BootstrapSettings
from igsed.evaluation import figures as figures_module
from igsed.evaluation.benchmark_figures import (
    BENCHMARK_FIGURE_NAMES,
    BenchmarkFigureInputs,
    benchmark_figures,
)
from igsed.evaluation.evaluate import MetricSettings, evaluate
from igsed.evaluation.figures import FIGURE_NAMES
from igsed.evaluation.models import ModelResults
from igsed.evaluation.report import ReportInputs, installed_package_versions, report
from igsed.evaluation.sed_view import SedViewJob, SedViewSettings, sed_view
from igsed.evaluation.statistics import StatisticsJob, statistics
from igsed.formats.instances import read_instances
from igsed.formats.manifest import read_events, read_manifest, write_split_summary
from igsed.formats.models_table import read_models_table
from igsed.formats.sanity import AGREEMENT_COLUMNS, write_agreement
from igsed.formats.tables import write_csv

CONFIG = {
    "soundbank": {"source": "synthetic", "synthetic": {"seed": 1}},
    "synthesis": {"seed": 7},
    "split": {"max_polyphony": 2, "seed": 11},
    "heads": {"clip_pooling": "max", "seed": 5},
    "classify": {"threshold": 0.5},
    "attribution": {
        "run": ["ig", "fw_weak", "fw_strong", "random", "energy"],
        "methods": {
            "ig": {"n_steps": 50, "method": "gausslegendre"},
            "random": {"seed": 13},
            "smoothgrad": {"n_samples": 16, "seed": 17},  # not run: its seed is not listed
        },
    },
    "metrics": {"tau": [1, 99], "count_false_positives": False, "fw_detections": "classifier"},
}


@pytest.fixture(scope="module")
def run_outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FakeRun]:
    root = tmp_path_factory.mktemp("report")
    run = write_fake_run(root, audio=True)
    evaluate(run.inputs(), MetricSettings(), root / "evaluation")
    evaluation = root / "evaluation"
    faithfulness = write_fake_faithfulness(root)
    write_fake_sanity(root)
    job = StatisticsJob(
        evaluation / "instances_test.csv",
        run.manifest,
        faithfulness["areas"],
        evaluation / "intervals.csv",
        evaluation / "differences.csv",
    )
    statistics(job, BootstrapSettings(n_resamples=200))
    sed_view(
        SedViewJob(
            run.shards,
            run.instances["test"],
            run.manifest,
            run.events,
            evaluation / "sed_view.csv",
            evaluation / "sed_view_differences.csv",
        ),
        SedViewSettings(),
        BootstrapSettings(n_resamples=200),
    )
    return root, run


def _sanity_files(root: Path) -> dict[str, Path]:
    return {path.stem: path for path in sorted((root / "sanity").glob("*.csv"))}


@pytest.fixture(scope="module")
def benchmark_figure_paths(run_outputs: tuple[Path, FakeRun]) -> list[Path]:
    root, _ = run_outputs
    inputs = BenchmarkFigureInputs(
        intervals_csv=root / "evaluation" / "intervals.csv",
        faithfulness_curves={
            path.parent.name: path for path in sorted((root / "faithfulness").glob("*/curves.csv"))
        },
        sanity=_sanity_files(root),
        flag_correlation=0.5,
    )
    out = root / "benchmark_figures"
    benchmark_figures(inputs, CONFIG["attribution"]["run"], out)
    return sorted(out.iterdir())


@pytest.fixture(scope="module")
def figures(run_outputs: tuple[Path, FakeRun]) -> list[Path]:
    root, run = run_outputs
    evaluation = root / "evaluation"
    out = root / "figures"
    figures_module.figures(
        run.shards,
        evaluation,
        manifest_path=run.manifest,
        events_path=run.events,
        instances_test=run.instances["test"],
        out_dir=out,
        figure_clip=FIGURE_CLIP,
    )
    return sorted(out.iterdir())


def test_figures_are_written_as_png_and_svg(figures: list[Path]) -> None:
    names = {p.name for p in figures}
    assert names == {f"{stem}.{ext}" for stem in FIGURE_NAMES for ext in ("png", "svg")}
    for path in figures:
        assert path.stat().st_size > 5_000, path
        head = path.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if path.suffix == ".png" else b"<?xml" in head


def test_figure_two_shows_the_polyphonic_clip(figures: list[Path]) -> None:
    svg = next(p for p in figures if p.name == "fig2_attribution.svg").read_text()
    # Text is drawn as paths; the clip id appears in the SVG's title comments.
    assert FIGURE_CLIP in svg
    # One row per method, one column per attributed class (labels are drawn as paths, so
    # count the axes: a waveform panel plus methods x classes).
    assert svg.count('<g id="axes_') == 1 + 5 * 2


def test_make_figures_rejects_an_unknown_clip(run_outputs: tuple[Path, FakeRun]) -> None:
    root, run = run_outputs
    evaluation = root / "evaluation"
    with pytest.raises(KeyError, match="test_404"):
        figures_module.figures(
            run.shards,
            evaluation,
            manifest_path=run.manifest,
            events_path=run.events,
            instances_test=run.instances["test"],
            out_dir=root / "other_figures",
            figure_clip="test_404",
        )


def test_choose_figure_clip_prefers_overlapping_classes(run_outputs: tuple[Path, FakeRun]) -> None:
    _, run = run_outputs
    # test_000 is the only test clip with two classes (Dog 0-1 s, Cat 0.5-2.55 s: overlapping).
    for seed in (0, 1, 2):
        assert choose_figure_clip(run.manifest, run.events, seed=seed) == FIGURE_CLIP
    ranked = rank_figure_clips(read_manifest(run.manifest), read_events(run.events), seed=4)
    assert ranked[0] == FIGURE_CLIP and sorted(ranked) == sorted(
        ["test_000", "test_001", "test_002", "test_003"]
    )
    assert ranked == rank_figure_clips(run.manifest, run.events, seed=4)
    assert choose_figure_clip(run.manifest, run.events, split="val") == "val_000"


def _write_summary(
    root: Path,
    figures: list[Path],
    config: dict,
    backbone_meta: dict,
    name: str = "summary",
    models: dict[str, ModelResults] | None = None,
    folder: str = "report",
) -> tuple[str, str]:
    """The summary and the details of the hand-built run under `config`, as
    `<folder>/<name>.md` and `<folder>/<name>_details.md`."""
    evaluation = root / "evaluation"
    table1 = pd.DataFrame(
        {
            "class": ["Dog", "Cat", "Speech"],
            "precision": [0.5, 0.25, 1.0],
            "recall": [0.125, 1.0, 0.75],
            "f1": [0.2, 0.4, 0.857],
            "support": [3, 2, 1],
        }
    )
    table1_csv = root / "table1.csv"
    write_csv(table1, table1_csv)
    split_summary = root / "split_summary.json"
    write_split_summary(
        {"evalpool": {"generated": 160, "kept": 151}, "counts": {"val": 75, "test": 76}},
        split_summary,
    )
    backbone = root / f"{name}_backbone.json"
    write_json(backbone, backbone_meta)
    out = root / folder / f"{name}.md"
    inputs = ReportInputs(
        table1_csv=table1_csv,
        table2_csv=evaluation / "table2.csv",
        table3_csv=evaluation / "table3.csv",
        tau_star_json=evaluation / "tau_star.json",
        convergence_json=evaluation / "convergence.json",
        intervals_csv=evaluation / "intervals.csv",
        differences_csv=evaluation / "differences.csv",
        sed_view_csv=evaluation / "sed_view.csv",
        sanity=_sanity_files(root),
        split_summary_json=split_summary,
        backbone_meta_json=backbone,
        figures=list(figures),
        models=models,
    )
    details = out.with_name(f"{name}_details.md")
    versions = {"numpy": "9.9.9", "torch": "not installed"}
    report(out, inputs, config, package_versions=versions, details_path=details)
    return out.read_text(), details.read_text()


PIPELINE_BACKBONE = {"source": "pipeline", "width": 0.125, "sha256": "f00d" * 16}


@pytest.fixture(scope="module")
def written(run_outputs: tuple[Path, FakeRun], figures: list[Path]) -> tuple[str, str]:
    return _write_summary(run_outputs[0], figures, CONFIG, PIPELINE_BACKBONE)


@pytest.fixture(scope="module")
def summary(written: tuple[str, str]) -> str:
    return written[0]


@pytest.fixture(scope="module")
def details(written: tuple[str, str]) -> str:
    return written[1]


def _row(text: str, first_cell: str, after: str) -> list[str]:
    section = text[text.index(after) :]
    line = next(line for line in section.splitlines() if line.startswith(f"| {first_cell} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_summary_table1_has_the_run_beside_the_paper(summary: str) -> None:
    assert _row(summary, "Dog", "## Table I") == [
        "Dog", "0.50", "1.00", "0.12", "0.56", "0.20", "0.71", "3"
    ]  # fmt: skip


def test_summary_table2_has_the_run_beside_the_paper(summary: str) -> None:
    ig = _row(summary, "IG", "## Table II")
    # Ours then the paper's: mean IoU, F1, std IoU, PG; then instances and classes.
    assert ig == ["IG", "1.00", "0.39", "1.00", "0.52", "0.00", "0.23", "100.0%", "82.6%", "4", "3"]
    energy = _row(summary, "Energy baseline", "## Table II")
    assert energy[2] == "0.16" and energy[8] == "15.9%"


def test_summary_table3_and_tau_star(summary: str, details: str) -> None:
    alarm = _row(summary, "Alarm_bell_ringing", "## Table III")
    assert alarm[:4] == ["Alarm_bell_ringing", "0", "n/a", "0.44"]
    dog = _row(summary, "Dog", "## Table III")
    assert dog[:6] == ["Dog", "2", "1.00", "0.45", "1.00", "0.57"]
    ig_tau = _row(details, "IG", "## Chosen thresholds")
    assert ig_tau == ["IG", "96", "1.00", "96", "1.00", "56", "57"]


def test_summary_metadata_and_figures(summary: str, details: str) -> None:
    assert "`soundbank.synthetic.seed` = 1" in details and "`split.seed` = 11" in details
    assert "`attribution.methods.random.seed` = 13" in details
    assert "smoothgrad" not in _seeds_line(details)
    assert "f00d" * 16 in details and "numpy 9.9.9" in details
    assert "Clip-head time pooling: `max`" in details
    assert "```yaml\nsoundbank:\n  source: synthetic" in details
    assert "![Fig. 2" in summary and "(../figures/fig2_attribution.png)" in summary
    assert "(../figures/fig3_threshold.svg)" in summary
    assert "| `evalpool.kept` | 151 |" in details
    assert "[summary_details.md](summary_details.md)" in summary
    # IG convergence: val attributions and the one undefined relative error (Blender).
    convergence = _row(details, "val", "## Completeness")
    assert convergence[1] == "6" and convergence[2] == "0.0100"


def _opening(summary: str) -> str:
    return summary.split("\n## ", 1)[0]


def _seeds_line(summary: str) -> str:
    return next(line for line in summary.splitlines() if line.startswith("- Seeds: "))


def test_summary_opening_names_the_synthetic_run(summary: str) -> None:
    opening = _opening(summary)
    assert "the synthetic soundbank (generator seed 1)" in opening
    assert "the pipeline-trained CNN14 backbone at width 0.125" in opening
    assert (
        "A run on the synthetic soundbank and the pipeline-trained backbone is not expected "
        "to match them." in opening.replace("\n", " ")
    )


def test_summary_opening_names_a_folder_soundbank(run_outputs: tuple[Path, FakeRun]) -> None:
    config = {
        **CONFIG,
        "soundbank": {
            "source": "folder",
            "synthetic": {"seed": 1},
            "folder": {"path": "/data/my_soundbank"},
        },
        "backbone": {"pretrained": "pipeline", "pretrain": {"seed": 3}},
    }
    text, details = _write_summary(run_outputs[0], [], config, PIPELINE_BACKBONE, name="folder")
    opening = _opening(text)
    assert "the folder soundbank `/data/my_soundbank`" in opening
    assert "synthetic" not in opening
    assert "A run on a folder soundbank and the pipeline-trained backbone" in opening
    seeds = _seeds_line(details)
    assert "soundbank.synthetic.seed" not in seeds  # a folder run generates nothing
    assert "`backbone.pretrain.seed` = 3" in seeds and "`synthesis.seed` = 7" in seeds


def test_summary_opening_names_the_panns_backbone(run_outputs: tuple[Path, FakeRun]) -> None:
    config = {
        **CONFIG,
        "soundbank": {"source": "desed", "synthetic": {"seed": 1}},
        "backbone": {"pretrained": "panns", "width": 1.0, "pretrain": {"seed": 3}},
    }
    meta = {"source": "panns", "width": 1.0, "sha256": "beef" * 16}
    text, details = _write_summary(run_outputs[0], [], config, meta, name="panns")
    opening = _opening(text)
    assert "the DESED soundbank and the PANNs AudioSet CNN14 backbone" in opening
    assert "pipeline-trained" not in opening and "synthetic" not in opening
    assert "not expected to match" not in opening
    seeds = _seeds_line(details)
    assert "soundbank.synthetic.seed" not in seeds and "backbone.pretrain.seed" not in seeds
    assert "`split.seed` = 11" in seeds and "`heads.seed` = 5" in seeds


def test_installed_package_versions_reads_metadata() -> None:
    versions = installed_package_versions(("numpy", "no-such-package-igsed"))
    assert versions["numpy"][0].isdigit()
    assert versions["no-such-package-igsed"] == "not installed"
    assert json.dumps(versions)


def test_summary_has_intervals_threshold_free_metrics_and_differences(
    summary: str, details: str
) -> None:
    ig = _row(summary, "IG", "## Confidence intervals")
    # IG is perfect on every instance: every resample gives 1.
    assert ig == ["IG", "1.00 [1.00, 1.00]", "1.00 [1.00, 1.00]", "1.00 [1.00, 1.00]"]
    # The default resampling, and the instances per class beside the table: Table III's.
    section = summary[summary.index("## Confidence intervals") : summary.index("## Threshold")]
    assert "a wild bootstrap over the test clips" in section
    counts_line = next(line for line in section.splitlines() if "instances per class" in line)
    table3 = [_row(summary, name, "## Table III") for name in CLASSES]
    expected = ", ".join(f"{row[0]} {row[1]}" for row in table3)
    assert counts_line.endswith(f"rest on): {expected}.")
    ig_free = _row(summary, "IG", "## Threshold-free")
    assert ig_free[1:] == ["1.00 [1.00, 1.00]"] * 4
    energy = _row(details, "Energy baseline", "## Differences")
    # Energy minus IG: flat scores give AUROC 0.5 against IG's 1; bold where the interval
    # excludes 0.
    assert energy[1] == "IG" and energy[5] == "**-0.500 [-0.500, -0.500]**"


def test_the_summary_opens_with_findings_from_the_intervals(summary: str) -> None:
    findings = summary[summary.index("## Findings") : summary.index("## Table I")]
    assert summary.index("## Findings") < summary.index("## Table I")
    auroc = next(line for line in findings.splitlines() if line.startswith("- **AUROC**"))
    # IG is perfect; energy's flat scores give AUROC 0.5, which the paired interval shows.
    assert "best point value IG 1.00 [1.00, 1.00]" in auroc
    assert "Worse than IG: " in auroc and "Energy baseline -0.5 [-0.5, -0.5]" in auroc
    assert "Better than IG: none" in auroc
    assert "## Differences" not in summary and "```yaml" not in summary


def test_benchmark_figures_are_written_as_png_and_svg(benchmark_figure_paths: list[Path]) -> None:
    names = {p.name for p in benchmark_figure_paths}
    assert names == {f"{stem}.{ext}" for stem in BENCHMARK_FIGURE_NAMES for ext in ("png", "svg")}
    forest = next(p for p in benchmark_figure_paths if p.name == "forest.svg").read_text()
    assert forest.count('<g id="axes_') == 2  # IoU and AUROC
    curves = next(p for p in benchmark_figure_paths if p.name == "faithfulness_curves.svg")
    assert curves.read_text().count('<g id="axes_') == 2  # deletion and insertion


def test_faithfulness_intervals_and_the_best_baseline_by_direction(
    run_outputs: tuple[Path, FakeRun],
) -> None:
    evaluation = run_outputs[0] / "evaluation"
    intervals = pd.read_csv(evaluation / "intervals.csv")
    deletion = intervals[intervals["metric"] == "deletion_morf"].set_index("method")["value"]
    # The fake IG curve p(1 - f)^3 on 11 points has the trapezoid area 0.2525 / p * p.
    assert deletion["ig"] == pytest.approx(0.2525, abs=1e-6)
    assert deletion["energy"] < deletion["random"]
    differences = pd.read_csv(evaluation / "differences.csv")
    against = differences[
        (differences["method"] == "ig") & (differences["metric"] == "deletion_morf")
    ]
    # Lower deletion areas are better, so the best baseline is the energy one.
    assert set(against["reference"]) == {"energy"}


def test_summary_has_the_sed_view_faithfulness_and_sanity(summary: str) -> None:
    for heading in ("## SED view (test)", "## Faithfulness (test)", "## Sanity"):
        assert heading in summary
    ig = _row(summary, "IG", "## Faithfulness")
    assert ig[1] == "0.25 [0.25, 0.25]"
    level8 = _row(summary, "8: conv_block1", "## Sanity")
    assert level8 == ["8: conv_block1", "0.05 [0.05, 0.05]", "0.80 [0.80, 0.80]"]
    assert "**Flagged** (median correlation above 0.5 with every layer randomised): Saliency" in (
        summary
    )
    sed = _row(summary, "IG", "## SED view")
    assert len(sed) == 4 and all("[" in cell for cell in sed[1:])


def _fake_model(root: Path) -> ModelResults:
    """The hand-built run as a cnn14 that ran every method of CONFIG."""
    evaluation = root / "evaluation"
    return ModelResults(
        evaluation / "intervals.csv",
        evaluation / "differences.csv",
        evaluation / "sed_view.csv",
        evaluation / "sed_view_differences.csv",
        _sanity_files(root),
    )


def test_one_model_leaves_the_summary_as_it_was(
    run_outputs: tuple[Path, FakeRun], figures: list[Path], summary: str
) -> None:
    root = run_outputs[0]
    models = {"cnn14": _fake_model(root)}
    text, _ = _write_summary(
        root, figures, CONFIG, PIPELINE_BACKBONE, models=models, folder="one_model"
    )
    assert text == summary and "## Models" not in text
    table = read_models_table(root / "one_model" / "models.csv")
    assert set(table["model"]) == {"cnn14"} and (root / "one_model" / "models.svg").is_file()


def test_two_models_get_a_models_section_after_the_findings(
    run_outputs: tuple[Path, FakeRun], figures: list[Path], tmp_path: Path
) -> None:
    root = run_outputs[0]
    models = {"cnn14": _fake_model(root), "crnn": write_model(tmp_path, "crnn")}
    text, _ = _write_summary(
        root, figures, CONFIG, PIPELINE_BACKBONE, models=models, folder="two_models"
    )
    assert text.index("## Findings") < text.index("## Models") < text.index("## Table I")
    out = root / "two_models"
    assert {p.name for p in out.glob("models.*") if p.suffix != ".check"} == {
        "models.csv",
        "models.md",
        "models.png",
        "models.svg",
    }
    intervals = pd.read_csv(root / "evaluation" / "intervals.csv")
    energy = intervals[(intervals["method"] == "energy") & (intervals["metric"] == "iou")]
    row = _row(text, "Energy baseline", "## Models")
    # Methods down; cnn14's five metrics, then crnn's (support.models_run).
    assert row[1] == "{:.2f} [{:.2f}, {:.2f}]".format(
        *energy[["value", "ci_low", "ci_high"]].iloc[0]
    )
    assert row[6] == "0.25 [0.20, 0.30]"
    reason = "needs CNN14's framewise heads (trained on its frame embeddings)"
    assert _row(text, "FW-WS", "## Models")[6:] == [f"n/a (skipped: {reason})"] + ["n/a"] * 4
    assert f"- crnn: FW-WS, FW-SS skipped ({reason}).\n" in text
    # Grad-CAM is not among the hand-built cnn14's methods, and not skipped by it either.
    assert _row(text, "Grad-CAM", "## Models")[1:6] == ["—"] * 5
    assert "![Model × method forest plot](models.png)" in text
    assert "- **IoU**: beat IG — cnn14: none; crnn: Model frames." in text


def test_the_seed_agreement_section(
    run_outputs: tuple[Path, FakeRun], figures: list[Path], summary: str, tmp_path: Path
) -> None:
    """Without agreement seeds the section says so; with them it gives each method's seed
    agreement and the heads' spread with intervals."""
    assert "## Seed agreement" in summary
    assert "Not computed: sanity.agreement_seeds is empty" in summary
    root, run = run_outputs
    copy = tmp_path / "run"
    shutil.copytree(root, copy)
    instances = read_instances(run.instances["test"])
    rows = [(i.clip_id, i.class_name, 0.5, 0.25) for i in instances]
    table = copy / "sanity" / "agreement" / "ig.csv"
    write_agreement(table, pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS)))
    evaluation = copy / "evaluation"
    job = StatisticsJob(
        evaluation / "instances_test.csv",
        run.manifest,
        {},
        evaluation / "intervals.csv",
        evaluation / "differences.csv",
        agreement={"ig": table},
    )
    statistics(job, BootstrapSettings(n_resamples=200))
    config = {**CONFIG, "sanity": {"agreement_seeds": [1, 2]}}
    text, _ = _write_summary(copy, figures, config, PIPELINE_BACKBONE)
    section = text[text.index("## Seed agreement") :]
    assert "seeds 1, 2 beside the trained one (3 heads" in section
    # Every instance agrees at 0.5 and spreads 0.25: every resample gives the same.
    assert _row(section, "IG", "## Seed agreement") == [
        "IG",
        "0.50 [0.50, 0.50]",
        "0.25 [0.25, 0.25]",
    ]
