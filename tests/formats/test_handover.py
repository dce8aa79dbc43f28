"""Issue 26 items 3 and 10: every handover file is checked on reading against its writer's record.

Each format of src/igsed/formats writes a small, valid file; the file is then damaged as the
issue found them (cut mid-line, halved, missing its last rows) or its record removed (a file
of an older igsed), and its reader must refuse it, naming the file and the options that
rebuild it. The completeness checks refuse a file whose record matches but whose writer left
out an instance's level, a curve's step or a method's metric.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from igsed.core.constants import CLASSES
from igsed.formats.conditions import (
    CONDITION_COLUMNS,
    CONDITION_METRICS,
    read_conditions_table,
    write_conditions_table,
)
from igsed.formats.faithfulness import (
    AREA_COLUMNS,
    read_areas,
    read_curves,
    write_areas,
    write_curves,
)
from igsed.formats.handover import DamagedFileError, read_handover, record_path
from igsed.formats.instances import Instance, read_instances, write_instances
from igsed.formats.intervals import (
    FAITHFULNESS_METRICS,
    INSTANCE_METRICS,
    read_differences,
    read_intervals,
    write_differences,
    write_intervals,
)
from igsed.formats.manifest import (
    read_clip_ids,
    read_events,
    read_manifest,
    read_split_summary,
    write_events,
    write_manifest,
    write_split_summary,
)
from igsed.formats.probabilities import read_probabilities, write_probabilities
from igsed.formats.sanity import CASCADE_LAYERS, SANITY_COLUMNS, read_sanity, write_sanity
from igsed.formats.sed_view import (
    SED_VIEW_COLUMNS,
    SED_VIEW_METRICS,
    read_sed_view,
    read_sed_view_differences,
    write_sed_view,
    write_sed_view_differences,
)
from igsed.formats.tau_star import TauStar, read_tau_star, write_tau_star

CLIPS = [f"test_{i:05d}" for i in range(4)]


def _curves() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (clip, "Dog", curve, order, step / 4, 0.9 - step / 10)
            for clip in CLIPS[:2]
            for curve in ("deletion", "insertion")
            for order in ("morf", "lerf")
            for step in range(5)
        ],
        columns=["clip_id", "class", "curve", "order", "fraction", "probability"],
    )


def _areas() -> pd.DataFrame:
    return pd.DataFrame(
        [(clip, "Dog", 0.9, 0.1, 0.5, 0.6, 0.2) for clip in CLIPS], columns=list(AREA_COLUMNS)
    )


def _sanity() -> pd.DataFrame:
    rows = [
        (level, CASCADE_LAYERS[level - 1], clip, "Dog", 0.5 - level / 20)
        for level in range(1, len(CASCADE_LAYERS) + 1)
        for clip in CLIPS[:2]
    ]
    return pd.DataFrame(rows, columns=list(SANITY_COLUMNS))


def _intervals() -> pd.DataFrame:
    rows = [
        {"method": m, "metric": metric, "value": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 9}
        for m in ("ig", "random")
        for metric in (*INSTANCE_METRICS, *FAITHFULNESS_METRICS)
    ]
    return pd.DataFrame(rows)


def _differences(metrics: tuple[str, ...] = INSTANCE_METRICS) -> pd.DataFrame:
    rows = [
        {
            "method": "random",
            "reference": "ig",
            "metric": metric,
            "difference": -0.1,
            "ci_low": -0.2,
            "ci_high": 0.0,
            "n": 9,
            "excludes_zero": False,
        }
        for metric in metrics
    ]
    return pd.DataFrame(rows)


def _manifest() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "clip_id": CLIPS,
            "split": ["val", "test", "test", "test"],
            "audio_path": [f"a/{c}.wav" for c in CLIPS],
            "jams_path": [f"a/{c}.jams" for c in CLIPS],
            "n_events": [1, 2, 1, 3],
            "polyphony": [1, 2, 1, 2],
        }
    )


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "clip_id": CLIPS,
            "onset": [0.5, 1.0, 2.0, 3.5],
            "offset": [1.5, 4.0, 2.5, 9.0],
            "event_label": ["Dog", "Cat", "Speech", "Dog"],
            "source_file": ["d.wav", "c.wav", "s.wav", "d2.wav"],
        }
    )


def _sed_view() -> pd.DataFrame:
    rows = [("ig", metric, 0.5, 0.4, 0.6, 4) for metric in SED_VIEW_METRICS] + [
        ("random", metric, 0.1, 0.0, 0.2, 4) for metric in SED_VIEW_METRICS
    ]
    return pd.DataFrame(rows, columns=list(SED_VIEW_COLUMNS))


def _conditions() -> pd.DataFrame:
    rows = [
        (name, snr, snr + 10, 1, 3, -55.0, "synthetic", 11, "ig", metric, 0.5, 0.4, 0.6, 7)
        for name, snr in (("main", 15), ("low", -5))
        for metric in CONDITION_METRICS
    ]
    return pd.DataFrame(rows, columns=list(CONDITION_COLUMNS))


def _tau_star() -> TauStar:
    entry = {"n_val_instances": 4, "iou": {"tau": 40, "val_value": 0.4}, "f1": {"tau": 55}}
    return TauStar("argmax", (1, 99), {"threshold": 0.5}, {"ig": entry, "random": entry})


INSTANCES = [Instance(clip, name, 0.75, True) for clip in CLIPS for name in ("Dog", "Cat")]

# name -> (write into path, read path)
FORMATS: dict[str, tuple[Callable[[Path], None], Callable[[Path], Any]]] = {
    "curves.csv": (lambda p: write_curves(p, _curves()), read_curves),
    "areas.csv": (lambda p: write_areas(p, _areas()), read_areas),
    "sanity.csv": (lambda p: write_sanity(p, _sanity()), read_sanity),
    "intervals.csv": (lambda p: write_intervals(_intervals(), p), read_intervals),
    "differences.csv": (lambda p: write_differences(_differences(), p), read_differences),
    "instances.tsv": (lambda p: write_instances(p, INSTANCES), read_instances),
    "probabilities.tsv": (
        lambda p: write_probabilities(p, CLIPS, np.full((len(CLIPS), len(CLASSES)), 0.25)),
        read_probabilities,
    ),
    "manifest.tsv": (lambda p: write_manifest(_manifest(), p), read_manifest),
    "manifest ids": (lambda p: write_manifest(_manifest(), p), lambda p: read_clip_ids(p, "test")),
    "events.tsv": (lambda p: write_events(_events(), p), read_events),
    "sed_view.csv": (lambda p: write_sed_view(_sed_view(), p), read_sed_view),
    "sed_view_differences.csv": (
        lambda p: write_sed_view_differences(_differences(SED_VIEW_METRICS), p),
        read_sed_view_differences,
    ),
    "conditions.csv": (lambda p: write_conditions_table(_conditions(), p), read_conditions_table),
    "tau_star.json": (lambda p: write_tau_star(p, _tau_star()), read_tau_star),
    "summary.json": (
        lambda p: write_split_summary({"seed": 3, "counts": {"val": 1, "test": 3}}, p),
        read_split_summary,
    ),
}


def _cut_mid_line(data: bytes) -> bytes:
    return data[:-3]  # the last line loses its end and its newline


def _halved(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _without_last_rows(data: bytes) -> bytes:
    return b"".join(data.splitlines(keepends=True)[:-2])


DAMAGES = {"cut mid-line": _cut_mid_line, "halved": _halved, "last rows": _without_last_rows}


@pytest.mark.parametrize("name", FORMATS)
def test_a_whole_file_reads_back(name: str, tmp_path: Path) -> None:
    write, read = FORMATS[name]
    path = tmp_path / name.split()[0]
    write(path)
    assert record_path(path).is_file()
    read(path)


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("name", FORMATS)
def test_a_damaged_file_is_refused_with_its_rebuild_command(
    name: str, damage: str, tmp_path: Path
) -> None:
    write, read = FORMATS[name]
    path = tmp_path / name.split()[0]
    write(path)
    path.write_bytes(DAMAGES[damage](path.read_bytes()))
    with pytest.raises(DamagedFileError) as error:
        read(path)
    message = str(error.value)
    assert f"{path} is damaged" in message
    assert "Rebuild it by adding these options to the run's snakemake command: " in message
    assert message.endswith(f"--rerun-incomplete --forcerun {path}")


@pytest.mark.parametrize("name", ["areas.csv", "tau_star.json", "manifest ids"])
def test_a_file_of_an_older_igsed_is_refused_clearly(name: str, tmp_path: Path) -> None:
    write, read = FORMATS[name]
    path = tmp_path / name.split()[0]
    write(path)
    record_path(path).unlink()
    with pytest.raises(DamagedFileError) as error:
        read(path)
    message = str(error.value)
    assert f"{path} cannot be checked: its record {record_path(path)} is missing" in message
    assert f"--forcerun {path}" in message
    record_path(path).write_text("{not json")
    with pytest.raises(DamagedFileError, match="record .* is unreadable"):
        read(path)


def test_a_file_changed_in_place_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "areas.csv"
    write_areas(path, _areas())
    path.write_text(path.read_text().replace("0.90000000", "0.80000000", 1))
    with pytest.raises(DamagedFileError, match="with other content"):
        read_handover(path)


def _written(write: Callable[[Path], None], path: Path) -> Path:
    write(path)
    return path


@pytest.mark.parametrize(
    ("name", "write", "read", "problem"),
    [
        (
            "sanity.csv",
            lambda p: write_sanity(p, _sanity().iloc[:-1]),
            read_sanity,
            rf"clip_id {CLIPS[1]}, class Dog has 7 level values, expected 8",
        ),
        (
            "curves.csv",
            lambda p: write_curves(p, _curves().drop(index=7)),
            read_curves,
            rf"clip_id {CLIPS[0]}, class Dog, curve deletion, order lerf has 4 fraction values",
        ),
        (
            "curves.csv",
            lambda p: write_curves(p, _curves()[lambda f: f["order"] == "morf"]),
            read_curves,
            "has 2 which values, expected 4",
        ),
        (
            "intervals.csv",
            lambda p: write_intervals(_intervals().iloc[:-1], p),
            read_intervals,
            r"method random lacks the metrics \['insertion_lerf'\]",
        ),
        (
            "areas.csv",
            lambda p: write_areas(p, pd.concat([_areas(), _areas().iloc[:1]])),
            read_areas,
            "listed twice",
        ),
        (
            "sed_view.csv",
            lambda p: write_sed_view(_sed_view().iloc[:-1], p),
            read_sed_view,
            "method random has 2 metric values, expected 3",
        ),
    ],
    ids=["sanity level", "curve step", "curve order", "interval metric", "areas", "sed view"],
)
def test_an_incomplete_table_is_refused(
    name: str,
    write: Callable[[Path], None],
    read: Callable[[Path], Any],
    problem: str,
    tmp_path: Path,
) -> None:
    path = _written(write, tmp_path / name)
    with pytest.raises(DamagedFileError, match=problem) as error:
        read(path)
    assert str(path) in str(error.value) and f"--forcerun {path}" in str(error.value)


def test_no_detected_instances_is_a_header_only_table(tmp_path: Path) -> None:
    """Issue 26 item 2: statistics' tables of a condition without instances read back empty."""
    write_intervals(pd.DataFrame(), tmp_path / "intervals.csv")
    write_differences(pd.DataFrame(), tmp_path / "differences.csv")
    assert read_intervals(tmp_path / "intervals.csv").empty
    assert read_differences(tmp_path / "differences.csv").empty
    assert (tmp_path / "intervals.csv").read_text() == "method,metric,value,ci_low,ci_high,n\n"


def test_the_snakefile_reads_the_manifest_unchecked(tmp_path: Path) -> None:
    """The DAG is planned from the manifest before any job could rebuild it: only the jobs
    refuse a damaged one (Snakemake reads a checkpoint's output even under --forcerun)."""
    path = tmp_path / "manifest.tsv"
    write_manifest(_manifest(), path)
    record_path(path).unlink()
    assert read_clip_ids(path, "test", checked=False) == CLIPS[1:]
    assert read_manifest(path, checked=False)["clip_id"].tolist() == CLIPS
    write_events(_events(), tmp_path / "events.tsv")
    (tmp_path / "events.tsv").write_bytes((tmp_path / "events.tsv").read_bytes()[:-3])
    assert len(read_events(tmp_path / "events.tsv", checked=False)) == len(CLIPS)
    with pytest.raises(DamagedFileError):
        read_clip_ids(path, "test")


def test_each_differences_table_takes_only_its_own_metrics(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown metrics \['psds1'"):
        write_differences(_differences(("psds1",)), tmp_path / "differences.csv")
    with pytest.raises(ValueError, match=r"unknown metrics \['iou'\]"):
        write_sed_view_differences(_differences(("iou",)), tmp_path / "sed.csv")
    assert not list(tmp_path.iterdir())
