"""Test conditions on the finished tiny run: a folder of recordings that holds only an
`eval/` half and lacks classes, explained by the run's models, and compared with main."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from scipy.signal import resample_poly
from support.workflow import MAIN_RUN, planned_jobs, run_snakemake

from igsed.core.constants import CLASSES
from igsed.core.metrics import iou, percentile_mask
from igsed.evaluation.evaluate import ground_truth
from igsed.formats.conditions import read_conditions_table
from igsed.formats.manifest import read_events, read_manifest, read_valid_frames
from igsed.formats.shards import read_shard

TINY = "workflow/presets/tiny.yaml"
PRESENT = ("Cat", "Dishes", "Speech", "Vacuum_cleaner")
# The rules a condition runs: main's, with {condition} (and its own soundbank's rule).
CONDITION_RULES = {
    "soundbank_condition",
    "split_recordings",
    "synthesize",
    "split",
    "cache_features",
    "classify",
    "table1",
    "instances",
    "attribute",
    "evaluate",
    "statistics",
    "conditions",
}
# Where a condition's jobs write: its own folders, the comparison and the report.
CONDITION_OUTPUTS = (
    "results/rec/",
    "results/real/",
    "resources/soundbank/conditions/rec",
    "results/conditions/",
    "results/report/",
)


def _recordings(tiny_run: Path, root: Path) -> Path:
    """An eval-only folder soundbank with four classes, from the tiny run's eval half."""
    source = tiny_run / "resources" / "soundbank" / "synthetic" / "eval"
    for name in PRESENT:
        shutil.copytree(source / "foreground" / name, root / "eval" / "foreground" / name)
    shutil.copytree(source / "background", root / "eval" / "background")
    return root


# Methods whose scores depend on the audio alone, not on a seed drawn from the clip id
# (a recording's clip id is its file name's, so seeded methods draw other masks).
UNSEEDED = ("ig", "saliency", "input_x_gradient", "gradcam", "occlusion", "energy", "fw_strong")
# The recordings of condition `real` that differ from main's clips, by file name.
CUT_CLIP_SECONDS = 7.0


def _real_recordings(tiny_run: Path, root: Path) -> dict:
    """Main's val and test clips as a folder of recordings with DCASE annotations: most as
    they are; two test clips as 44.1 kHz stereo FLAC, one of them cut to 7 s; and rows of a
    class outside the ten. Returns the condition's `recordings` section."""
    manifest = read_manifest(tiny_run / "results/main/split/manifest.tsv")
    events = read_events(tiny_run / "results/main/split/events.tsv")
    audio = root / "audio"
    audio.mkdir(parents=True)
    rows: dict[str, list[str]] = {"val": [], "test": []}
    changed = list(manifest.loc[manifest["split"] == "test", "clip_id"])[:2]
    for clip in manifest[manifest["split"] != "train"].itertuples():
        clip_events = events[events["clip_id"] == clip.clip_id]
        if clip.clip_id in changed:
            name = f"{clip.clip_id}.flac"
            samples, rate = sf.read(tiny_run / clip.audio_path, dtype="float64")
            if clip.clip_id == changed[0]:
                samples = samples[: int(CUT_CLIP_SECONDS * rate)]
                clip_events = clip_events[clip_events["onset"] < CUT_CLIP_SECONDS].assign(
                    offset=lambda frame: frame["offset"].clip(upper=CUT_CLIP_SECONDS)
                )
            stereo = np.stack([samples, 0.5 * samples], axis=1)
            sf.write(audio / name, resample_poly(stereo, 441, 320, axis=0), 44100)
        else:
            name = f"{clip.clip_id}.wav"
            shutil.copy(tiny_run / clip.audio_path, audio / name)
        rows[clip.split] += [
            f"{name}\t{e.onset:.6f}\t{e.offset:.6f}\t{e.event_label}"
            for e in clip_events.itertuples()
        ]
    rows["test"].append(f"{changed[1]}.flac\t1.0\t2.0\tBird")  # not one of the ten
    annotations = {}
    for split, lines in rows.items():
        annotations[split] = str(root / f"{split}.tsv")
        Path(annotations[split]).write_text(
            "\n".join(["filename\tonset\toffset\tevent_label", *lines]) + "\n"
        )
    return {"audio": str(audio), "annotations": annotations}


def _with_conditions(workdir: Path, conditions: dict) -> list[str]:
    (workdir / "conditions.yaml").write_text(yaml.safe_dump({"conditions": conditions}))
    return ["--cores", "2", "--configfile", TINY, "conditions.yaml"]


@pytest.fixture(scope="module")
def condition_run(
    tiny_run: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str, str]:
    """A copy of the tiny run with condition `rec` run to the report; the output holding its
    plan (the "Job stats" table) and the run's output (the same text)."""
    workdir = tmp_path_factory.mktemp("conditions") / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    recordings = _recordings(tiny_run, workdir.parent / "recordings")
    real = _real_recordings(tiny_run, workdir.parent / "real")
    args = _with_conditions(
        workdir,
        {"rec": {"soundbank": {"folder": str(recordings)}}, "real": {"recordings": real}},
    )
    run = run_snakemake(workdir, *args, timeout=1200)
    output = run.stdout + run.stderr
    # The plan is the "Job stats" table the run prints before its first job, the table a dry
    # run (-n) prints: a separate dry run would only build the same DAG once more.
    assert output.count("Job stats:") == 1, output
    return workdir, output, output


def test_a_condition_reuses_the_models_and_reruns_only_the_report(
    condition_run: tuple[Path, str, str],
) -> None:
    _, plan, run = condition_run
    ran = set(re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):", run, re.MULTILINE))
    assert ran == CONDITION_RULES | {"report", "all"}, ran
    outputs = re.findall(r"^    output: (.+)$", run, re.MULTILINE)
    written = [path for line in outputs for path in line.split(", ")]
    assert written and all(path.startswith(CONDITION_OUTPUTS) for path in written), written
    planned = planned_jobs(plan)
    # The jobs after the condition's split checkpoint are planned once it has run.
    assert set(planned) <= CONDITION_RULES | {"report", "all"}, planned
    assert planned["split"] == 1 and planned["soundbank_condition"] == 1
    assert planned["split_recordings"] == 1
    assert planned["synthesize"] == 2  # the tiny preset's eval-pool chunks


def test_missing_classes_are_named_and_never_occur(condition_run: tuple[Path, str, str]) -> None:
    workdir, _, _ = condition_run
    log = (workdir / "results" / "logs" / "conditions" / "rec" / "soundbank.log").read_text()
    missing = [name for name in CLASSES if name not in PRESENT]
    warning = next(line for line in log.splitlines() if "no foreground audio" in line)
    assert all(name in warning for name in missing), warning
    split_dir = workdir / "results" / "rec" / "split"
    manifest = read_manifest(split_dir / "manifest.tsv")
    # The train split is main's (it trained the models); val and test are the condition's.
    evaluated = manifest[manifest["split"] != "train"]
    assert evaluated["audio_path"].str.startswith("results/rec/synthesis/").all()
    events = read_events(split_dir / "events.tsv")
    evaluated_events = events[events["clip_id"].isin(evaluated["clip_id"])]
    assert len(evaluated_events) > 0
    assert set(evaluated_events["event_label"]) <= set(PRESENT)


def test_the_comparison_holds_main_and_the_condition(condition_run: tuple[Path, str, str]) -> None:
    workdir, _, _ = condition_run
    config = yaml.safe_load((workdir / TINY).read_text())
    table = read_conditions_table(workdir / "results" / "conditions" / "cnn14" / "table.csv")
    # By SNR (rec's is main's), real recordings last.
    assert list(dict.fromkeys(table["condition"])) == ["main", "rec", "real"]
    assert list(dict.fromkeys(table["method"])) == config["attribution"]["run"]
    rec = table[table["condition"] == "rec"]
    assert rec["soundbank"].str.startswith("folder ").all()
    iou = table[(table["metric"] == "iou") & (table["method"] == "ig")]
    assert np.isfinite(iou["value"]).all()
    # Main's row is main's own Table II.
    main_iou = float(iou[iou["condition"] == "main"]["value"].iloc[0])
    table2 = (workdir / MAIN_RUN / "evaluation" / "table2.csv").read_text().splitlines()
    ig_row = next(line for line in table2 if line.startswith("ig,"))
    assert main_iou == pytest.approx(float(ig_row.split(",")[2]), abs=1e-6)
    summary = (workdir / "results" / "report" / "summary.md").read_text()
    assert "## Test conditions" in summary and "| rec |" in summary
    for ext in ("png", "svg"):
        assert (workdir / "results/conditions/cnn14" / f"conditions.{ext}").stat().st_size > 0


def test_real_recordings_reproduce_main_and_exclude_padded_frames(
    condition_run: tuple[Path, str, str],
) -> None:
    workdir, _, _ = condition_run
    real = workdir / "results" / "real"
    summary = (workdir / "results/logs/split_recordings/real.log").read_text()
    assert "Bird" in summary  # dropped, counted in the log
    main = pd.read_csv(workdir / MAIN_RUN / "evaluation" / "instances_test.csv")
    ours = pd.read_csv(real / "cnn14" / "evaluation" / "instances_test.csv")
    ours["clip_id"] = ours["clip_id"].str.removesuffix("_w000")
    keys = ["clip_id", "class", "method"]
    flac = set(read_manifest(real / "split" / "manifest.tsv")["source_file"])
    changed = {name.removesuffix(".flac") for name in flac if name.endswith(".flac")}
    assert len(changed) == 2
    # The unchanged clips (val entirely: the same tau*) give main's figures exactly.
    merged = main.merge(ours, on=keys, suffixes=("_main", "_real"))
    merged = merged[merged["method"].isin(UNSEEDED) & ~merged["clip_id"].isin(changed)]
    assert len(merged) > 10
    for metric in ("iou", "f1", "pg", "auroc", "tau_iou"):
        np.testing.assert_allclose(merged[f"{metric}_real"], merged[f"{metric}_main"], atol=1e-6)
    # The clip cut to 7 s is scored on its 70 frames of audio, not on the padding.
    valid = read_valid_frames(real / "split" / "manifest.tsv")
    cut = next(clip for clip, frames in valid.items() if frames < 100)
    assert valid[cut] == 70
    truth = ground_truth(real / "split" / "events.tsv", [cut])[cut]
    rows = ours[(ours["clip_id"] == cut.removesuffix("_w000")) & (ours["method"] == "energy")]
    assert len(rows) > 0
    shard = next((real / "cnn14" / "attribution" / "energy" / "test").glob("*.h5"))
    scores = next(c for c in read_shard(shard).clips if c.clip_id == cut)
    for row in rows.to_dict("records"):
        frame_scores = scores.scores[scores.classes.index(row["class"])][:70]
        column = truth[:70, CLASSES.index(row["class"])]
        expected = iou(percentile_mask(frame_scores, row["tau_iou"]), column)
        assert row["iou"] == pytest.approx(expected, abs=1e-6)


def test_the_snakemake_report_has_the_comparison(
    condition_run: tuple[Path, str, str], tmp_path: Path
) -> None:
    workdir, _, _ = condition_run
    args = _with_conditions(
        workdir,
        yaml.safe_load((workdir / "conditions.yaml").read_text())["conditions"],
    )
    html = tmp_path / "report.html"
    run_snakemake(workdir, "--report", str(html), *args[2:])
    text = html.read_text(encoding="utf-8", errors="replace")
    assert '"5. Test conditions"' in text
    assert "table.md" in text and "conditions.png" in text


def test_a_finished_condition_plans_nothing(condition_run: tuple[Path, str, str]) -> None:
    workdir, _, _ = condition_run
    args = _with_conditions(
        workdir,
        yaml.safe_load((workdir / "conditions.yaml").read_text())["conditions"],
    )
    assert planned_jobs(run_snakemake(workdir, "-n", *args).stdout) == {}


def test_a_condition_key_reruns_only_that_conditions_chain(
    condition_run: tuple[Path, str, str],
) -> None:
    workdir, _, _ = condition_run
    conditions = yaml.safe_load((workdir / "conditions.yaml").read_text())["conditions"]
    changed = {"rec": {**conditions["rec"], "snr_db": [0, 10]}}
    try:
        planned = planned_jobs(
            run_snakemake(workdir, "-n", *_with_conditions(workdir, changed)).stdout
        )
    finally:
        _with_conditions(workdir, conditions)
    # The soundbank stays (its folder did not change), and so does every model and main
    # rule; jobs that wait on the condition's split checkpoint are planned once it has run.
    assert set(planned) <= CONDITION_RULES - {"soundbank_condition"} | {"report", "all"}
    assert planned["synthesize"] == 2 and planned["split"] == 1
    assert "conditions" in planned


def test_a_folder_without_foreground_fails_naming_it(
    condition_run: tuple[Path, str, str], tmp_path: Path
) -> None:
    workdir, _, _ = condition_run
    empty = tmp_path / "empty"
    (empty / "eval" / "foreground" / "Cat").mkdir(parents=True)
    (empty / "eval" / "background").mkdir()
    shutil.copy(
        next((workdir.parent / "recordings" / "eval" / "background").iterdir()),
        empty / "eval" / "background",
    )
    args = _with_conditions(workdir, {"bare": {"soundbank": {"folder": str(empty)}}})
    # The target goes first: --configfile takes every word after it.
    result = run_snakemake(workdir, "resources/soundbank/conditions/bare", *args, check=False)
    assert result.returncode != 0
    log = (workdir / "results" / "logs" / "conditions" / "bare" / "soundbank.log").read_text()
    assert f"{empty.resolve()}/eval/foreground holds no foreground audio of any class" in log
    assert not (workdir / "resources" / "soundbank" / "conditions" / "bare").exists()
