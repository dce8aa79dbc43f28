"""The `evaluate` stage: attribution shards -> Tables II and III, sweep curves, tau*, IG checks.

Protocol (docs/metrics.md; conventions of the metrics in `igsed.core.metrics`):

- Instances are the (clip, class) pairs of the instances file (clip-classifier probability
  > `threshold`, rule `instances`) whose class has at least one active ground-truth frame.
  The same instances are scored by every method, so the comparison is paired.
  `count_false_positives=True` also scores detections of classes absent from the clip: the
  ground truth is empty, so IoU = F1 = PG = 0 for such an instance (a percentile mask is never
  empty). `fw_detections="own"` gives the methods with their own detections (the framewise
  heads) their own instances instead: the classes whose clip probability (max over the
  head's frames) is > `threshold`.
- Scores per instance: the class's row of the method's frame scores (igsed.formats.shards).
- tau* is chosen on val per method, separately for IoU and F1: the tau of the highest macro
  mean over tau_range (integers, inclusive); exact ties go to the lowest tau. Test IoU is at
  the method's tau*_IoU and test F1 at its tau*_F1 (as in the paper's Table II, each metric at
  its own tau*); Pointing Game does not depend on tau.
- Padded clips (a recordings condition's short recordings and last windows): the
  manifest's `valid_seconds` gives each clip's valid frames; an instance is scored, its
  percentile taken and its ground truth checked on those frames only
  (igsed.core.metrics.on_valid_frames). Without a manifest every clip is whole.
- Non-finite scores raise (naming clip, class and method); so do missing clips.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from igsed.core.annotations import frame_labels
from igsed.core.atomic import write_text
from igsed.core.constants import (
    CLASS_INDEX,
    CLASSES,
    EVAL_FRAME_SECONDS,
    EVAL_SPLITS,
    N_CLASSES,
    N_EVAL_FRAMES,
)
from igsed.core.methods import method_info, method_label
from igsed.core.metrics import (
    COMPLEXITY,
    THRESHOLD_FREE,
    best_tau,
    class_means,
    macro_average,
    on_valid_frames,
    pointing_game,
    sweep,
)
from igsed.evaluation.scores import MethodScores, ShardSet, checked_row, load_method_scores
from igsed.formats.handover import write_handover_json
from igsed.formats.instances import Instance, read_instances
from igsed.formats.manifest import events_by_clip, read_events, read_valid_frames
from igsed.formats.shards import ClipScores
from igsed.formats.tables import (
    finite_or_none,
    format_number,
    markdown_table,
    no_instances_note,
    table3_methods,
    write_csv,
)
from igsed.formats.tau_star import TauStar, write_tau_star

logger = logging.getLogger(__name__)

FW_DETECTION_MODES: tuple[str, ...] = ("classifier", "own")
# |F(x) - F(0)| at or below this leaves IG's relative completeness error undefined.
SCORE_GAP_FLOOR = 1e-3
# The diagnostics a method records when it satisfies completeness (IG).
COMPLETENESS_DIAGNOSTICS: tuple[str, ...] = ("convergence_delta", "f_input", "f_baseline")


@dataclass(frozen=True)
class MetricSettings:
    """Config `metrics` and the detection threshold, validated on construction."""

    tau_range: tuple[int, int] = (1, 99)
    threshold: float = 0.5
    count_false_positives: bool = False
    fw_detections: str = "classifier"

    def __post_init__(self) -> None:
        if self.fw_detections not in FW_DETECTION_MODES:
            raise ValueError(
                f"metrics.fw_detections={self.fw_detections!r}; "
                f"expected one of {FW_DETECTION_MODES}"
            )

    @classmethod
    def from_config(cls, metrics: Mapping[str, Any], threshold: float) -> MetricSettings:
        return cls(
            tau_range=tuple(metrics["tau"]),
            threshold=float(threshold),
            count_false_positives=bool(metrics["count_false_positives"]),
            fw_detections=str(metrics["fw_detections"]),
        )

    def options(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "count_false_positives": self.count_false_positives,
            "fw_detections": self.fw_detections,
        }


@dataclass(frozen=True)
class EvaluationInputs:
    """What `evaluate` reads: the shards, each split's instances, the events, the clip ids,
    and the split's manifest for the clips' valid lengths (None: every clip is whole)."""

    shards: ShardSet
    instances: Mapping[str, Path]  # split -> instances file
    events: Path
    expected_clips: Mapping[str, Sequence[str]]  # split -> clip ids
    manifest: Path | None = None


@dataclass
class SplitScores:
    """Everything scored on one split: ground truth, detections and every method's scores."""

    clip_ids: list[str]
    truth: dict[str, np.ndarray]  # clip -> (100, 10) bool
    detections: list[Instance]  # the classifier's detected pairs (instances file)
    methods: dict[str, MethodScores]
    valid_frames: dict[str, int] = field(default_factory=dict)  # clip -> frames; absent: 100


@dataclass
class InstanceSet:
    """The instances one method is scored on, with their frame scores and ground truth."""

    method: str
    clip_ids: list[str]
    class_index: np.ndarray  # (n,) int
    scores: np.ndarray  # (n, frames) float64
    truth: np.ndarray  # (n, frames) bool
    present: np.ndarray  # (n,) bool: the class has ground-truth frames in the clip
    valid_frames: np.ndarray | None = None  # (n,) int frames holding audio; None: all

    def __len__(self) -> int:
        return len(self.clip_ids)


def ground_truth(events: Path, clip_ids: Sequence[str]) -> dict[str, np.ndarray]:
    """(100, 10) bool frame labels of every clip (sed_eval's segment rule)."""
    by_clip = events_by_clip(read_events(events))
    return {
        clip_id: frame_labels(by_clip.get(clip_id, []), EVAL_FRAME_SECONDS, N_EVAL_FRAMES).astype(
            bool
        )
        for clip_id in clip_ids
    }


def load_split(inputs: EvaluationInputs, split: str) -> SplitScores:
    """Ground truth, detections and every method's scores of one split, checked."""
    clip_ids = list(inputs.expected_clips[split])
    detections = read_instances(inputs.instances[split])
    unknown = sorted({d.clip_id for d in detections} - set(clip_ids))
    if unknown:
        raise ValueError(f"{inputs.instances[split]}: clips not in the {split} split: {unknown}")
    started = time.monotonic()
    methods = {
        method: load_method_scores(inputs.shards.of(method, split), method, split, clip_ids)
        for method in inputs.shards.methods
    }
    logger.info(
        "%s: %d clips, %d methods read in %.1f s",
        split,
        len(clip_ids),
        len(methods),
        time.monotonic() - started,
    )
    valid = read_valid_frames(inputs.manifest) if inputs.manifest is not None else {}
    truth = ground_truth(inputs.events, clip_ids)
    return SplitScores(
        clip_ids, truth, detections, methods, {c: valid.get(c, N_EVAL_FRAMES) for c in clip_ids}
    )


def _detected_pairs(
    data: SplitScores, method: str, settings: MetricSettings
) -> list[tuple[str, int]]:
    """(clip, class index) pairs the method is scored on before the ground-truth filter."""
    if settings.fw_detections == "own" and method_info(method).own_detections:
        pairs = []
        for clip_id in data.clip_ids:
            probabilities = data.methods[method].clips[clip_id].clip_probabilities
            if probabilities is None or np.shape(probabilities) != (N_CLASSES,):
                raise ValueError(f"clip {clip_id}: {method} shard has no clip probabilities")
            if not np.all(np.isfinite(probabilities)):
                raise ValueError(f"clip {clip_id}: non-finite clip probabilities for {method}")
            pairs += [(clip_id, int(i)) for i in np.flatnonzero(probabilities > settings.threshold)]
        return pairs
    return [(d.clip_id, CLASS_INDEX[d.class_name]) for d in data.detections]


def select_instances(data: SplitScores, method: str, settings: MetricSettings) -> InstanceSet:
    """The instances of one method, in clip order then class order."""
    rows: dict[str, list[Any]] = {k: [] for k in ("clip_ids", "index", "scores", "truth", "valid")}
    present_flags = []
    order = {clip_id: i for i, clip_id in enumerate(data.clip_ids)}
    for clip_id, index in sorted(
        _detected_pairs(data, method, settings), key=lambda p: (order[p[0]], p[1])
    ):
        truth = data.truth[clip_id][:, index]
        valid = data.valid_frames.get(clip_id, N_EVAL_FRAMES)
        present = bool(truth[:valid].any())
        if not (present or settings.count_false_positives):
            continue
        clip = data.methods[method].clips[clip_id]
        rows["clip_ids"].append(clip_id)
        rows["index"].append(index)
        rows["scores"].append(checked_row(clip, CLASSES[index], method))
        rows["truth"].append(truth)
        rows["valid"].append(valid)
        present_flags.append(present)
    n = len(rows["clip_ids"])
    return InstanceSet(
        method=method,
        clip_ids=rows["clip_ids"],
        class_index=np.asarray(rows["index"], dtype=np.int64).reshape(n),
        scores=np.asarray(rows["scores"], dtype=np.float64).reshape(n, N_EVAL_FRAMES),
        truth=np.asarray(rows["truth"], dtype=bool).reshape(n, N_EVAL_FRAMES),
        present=np.asarray(present_flags, dtype=bool).reshape(n),
        valid_frames=np.asarray(rows["valid"], dtype=np.int64).reshape(n),
    )


@dataclass
class MethodSweep:
    """Macro-averaged sweep curves of one method on one split, plus the per-instance arrays."""

    instances: InstanceSet
    taus: np.ndarray
    iou_instances: np.ndarray  # (taus, n)
    f1_instances: np.ndarray  # (taus, n)
    iou_curve: np.ndarray  # (taus,) macro mean, NaN without instances
    f1_curve: np.ndarray


def sweep_method(instances: InstanceSet, taus: np.ndarray) -> MethodSweep:
    result = sweep(instances.scores, instances.truth, taus, instances.valid_frames)
    iou_class, counts = class_means(result.iou, instances.class_index, N_CLASSES)
    f1_class, _ = class_means(result.f1, instances.class_index, N_CLASSES)
    return MethodSweep(
        instances=instances,
        taus=result.taus,
        iou_instances=result.iou,
        f1_instances=result.f1,
        iou_curve=np.asarray(macro_average(iou_class, counts), dtype=np.float64).reshape(-1),
        f1_curve=np.asarray(macro_average(f1_class, counts), dtype=np.float64).reshape(-1),
    )


def _tau_grid(tau_range: Sequence[int]) -> np.ndarray:
    if len(tau_range) != 2:
        raise ValueError(f"metrics.tau must be [low, high], got {list(tau_range)!r}")
    low, high = (int(t) for t in tau_range)
    if (low, high) != tuple(tau_range) or not 0 <= low <= high <= 100:
        raise ValueError(
            f"metrics.tau must be integers with 0 <= low <= high <= 100, got {list(tau_range)}"
        )
    return np.arange(low, high + 1, dtype=np.float64)


def _sweep_frame(sweeps: dict[str, MethodSweep]) -> pd.DataFrame:
    rows = []
    for method, result in sweeps.items():
        for tau, iou_value, f1_value in zip(
            result.taus, result.iou_curve, result.f1_curve, strict=True
        ):
            rows.append(
                {
                    "tau": int(tau),
                    "method": method,
                    "iou": finite_or_none(iou_value),
                    "f1": finite_or_none(f1_value),
                    "n_instances": len(result.instances),
                }
            )
    return pd.DataFrame(rows, columns=["tau", "method", "iou", "f1", "n_instances"])


def _completeness_rows(clips: Mapping[str, ClipScores], method: str) -> list[dict[str, Any]]:
    rows = []
    for clip in clips.values():
        k = len(clip.classes)
        for name in COMPLETENESS_DIAGNOSTICS:
            if np.shape(clip.diagnostics[name]) != (k,):
                raise ValueError(
                    f"clip {clip.clip_id}: {name} has shape {np.shape(clip.diagnostics[name])}, "
                    f"expected ({k},) for classes {clip.classes}"
                )
        for row, class_name in enumerate(clip.classes):
            values = {name: float(clip.diagnostics[name][row]) for name in COMPLETENESS_DIAGNOSTICS}
            for name, value in values.items():
                if not math.isfinite(value):
                    raise ValueError(
                        f"clip {clip.clip_id}, class {class_name}, method {method}: "
                        f"{name} is {value}"
                    )
            rows.append({"class": class_name, **values})
    return rows


def convergence_summary(clips: Mapping[str, ClipScores], method: str) -> dict[str, Any]:
    """Completeness of a method's attributions: |delta| statistics, overall and per class."""
    frame = pd.DataFrame(
        _completeness_rows(clips, method), columns=["class", *COMPLETENESS_DIAGNOSTICS]
    )
    deltas = frame["convergence_delta"].abs().to_numpy(dtype=np.float64)
    gaps = (frame["f_input"] - frame["f_baseline"]).abs().to_numpy(dtype=np.float64)
    defined = gaps > SCORE_GAP_FLOOR
    any_rows = deltas.size > 0
    return {
        "n_attributions": int(deltas.size),
        "median_abs_delta": finite_or_none(np.median(deltas)) if any_rows else None,
        "mean_abs_delta": finite_or_none(np.mean(deltas)) if any_rows else None,
        "p90_abs_delta": finite_or_none(np.percentile(deltas, 90)) if any_rows else None,
        "max_abs_delta": finite_or_none(np.max(deltas)) if any_rows else None,
        "score_gap_floor": SCORE_GAP_FLOOR,
        "n_small_score_gap": int(np.count_nonzero(~defined)),
        "median_relative_abs_delta": (
            finite_or_none(np.median(deltas[defined] / gaps[defined])) if defined.any() else None
        ),
        "per_class": {
            name: {
                "n": int(len(group)),
                "median_abs_delta": float(np.median(group["convergence_delta"].abs())),
                "median_f_input": float(np.median(group["f_input"])),
                "median_f_baseline": float(np.median(group["f_baseline"])),
            }
            for name in CLASSES
            if not (group := frame[frame["class"] == name]).empty
        },
    }


def _records_completeness(scores: MethodScores) -> bool:
    return any(
        set(COMPLETENESS_DIAGNOSTICS) <= set(clip.diagnostics) for clip in scores.clips.values()
    )


def _convergence_payload(splits: Mapping[str, SplitScores]) -> dict[str, Any]:
    methods = {}
    for method in splits["test"].methods:
        if _records_completeness(splits["test"].methods[method]):
            methods[method] = {
                split: convergence_summary(data.methods[method].clips, method)
                for split, data in splits.items()
            }
    return {
        "note": (
            "completeness: delta = sum(attributions) - (F(x) - F(0)) as recorded by the "
            "attribute stage, over every attributed (clip, class); the relative error is taken "
            f"only where |F(x) - F(0)| > {SCORE_GAP_FLOOR}"
        ),
        "methods": methods,
        "shard_settings": {
            method: splits["test"].methods[method].settings for method in splits["test"].methods
        },
    }


def _choose_tau(val: MethodSweep, method: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"n_val_instances": len(val.instances)}
    for metric, curve in (("iou", val.iou_curve), ("f1", val.f1_curve)):
        index = best_tau(val.taus, curve)
        if index is None:
            logger.warning("%s: no val instances, tau*_%s undefined", method, metric)
        entry[metric] = {
            "tau": None if index is None else int(val.taus[index]),
            "val_value": None if index is None else finite_or_none(curve[index]),
        }
    return entry


def _at_tau(test: MethodSweep, values: np.ndarray, tau: int | None) -> np.ndarray:
    if tau is None:
        return np.full(len(test.instances), np.nan)
    return values[int(np.flatnonzero(test.taus == tau)[0])]


@dataclass
class HeldOutScores:
    """One method's per-instance test-split metrics at its tau* (chosen on val)."""

    method: str
    instances: InstanceSet
    iou: np.ndarray
    f1: np.ndarray
    pg: np.ndarray
    tau_iou: int | None
    tau_f1: int | None
    threshold_free: dict[str, np.ndarray]  # metric -> (n,), NaN where undefined
    complexity: dict[str, np.ndarray]  # metric -> (n,), NaN where every score is 0

    def class_means(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        index = self.instances.class_index
        return {
            name: class_means(values, index, N_CLASSES)
            for name, values in (("iou", self.iou), ("f1", self.f1), ("pg", self.pg))
        }

    def table2_row(self) -> dict[str, Any]:
        means = self.class_means()
        counts = means["iou"][1]
        return {
            "method": self.method,
            "label": method_label(self.method),
            "mean_iou": finite_or_none(macro_average(*means["iou"])),
            "f1": finite_or_none(macro_average(*means["f1"])),
            "std_iou": finite_or_none(np.std(self.iou)) if len(self.instances) else None,
            "pg": finite_or_none(macro_average(*means["pg"])),
            "tau_star_iou": self.tau_iou,
            "tau_star_f1": self.tau_f1,
            "n_instances": len(self.instances),
            "n_classes": int(np.count_nonzero(counts)),
        }

    def instance_frame(self) -> pd.DataFrame:
        inst = self.instances
        return pd.DataFrame(
            {
                "clip_id": inst.clip_ids,
                "class": [CLASSES[i] for i in inst.class_index],
                "method": self.method,
                "present": inst.present,
                "iou": self.iou,
                "f1": self.f1,
                "pg": self.pg,
                "tau_iou": self.tau_iou,
                "tau_f1": self.tau_f1,
                **self.threshold_free,
                **self.complexity,
            }
        )


def held_out_scores(test: MethodSweep, tau_star: Mapping[str, Any], method: str) -> HeldOutScores:
    inst = test.instances
    tau_iou, tau_f1 = tau_star["iou"]["tau"], tau_star["f1"]["tau"]
    return HeldOutScores(
        method=method,
        instances=inst,
        iou=_at_tau(test, test.iou_instances, tau_iou),
        f1=_at_tau(test, test.f1_instances, tau_f1),
        pg=on_valid_frames(pointing_game, inst.scores, inst.truth, inst.valid_frames),
        tau_iou=tau_iou,
        tau_f1=tau_f1,
        threshold_free={
            name: on_valid_frames(metric, inst.scores, inst.truth, inst.valid_frames)
            for name, metric in THRESHOLD_FREE.items()
        },
        complexity={
            name: on_valid_frames(metric, inst.scores, inst.truth, inst.valid_frames)
            for name, metric in COMPLEXITY.items()
        },
    )


def table3_frame(scores: Sequence[HeldOutScores]) -> pd.DataFrame:
    """Per-class IoU and F1 of every method (a column group per method)."""
    means = {s.method: s.class_means() for s in scores}
    rows = []
    for class_index, class_name in enumerate(CLASSES):
        row: dict[str, Any] = {"class": class_name}
        for method, by_metric in means.items():
            row[f"{method}_n"] = int(by_metric["iou"][1][class_index])
            row[f"{method}_iou"] = finite_or_none(by_metric["iou"][0][class_index])
            row[f"{method}_f1"] = finite_or_none(by_metric["f1"][0][class_index])
        rows.append(row)
    return pd.DataFrame(rows)


def table3_long(table3: pd.DataFrame) -> pd.DataFrame:
    """Table III in long format: one row per class and method (instances, IoU, F1), the
    per-class results a reader filters or plots, where the wide table has a column group
    per method."""
    rows = [
        {
            "class": record["class"],
            "method": method,
            "instances": int(record[f"{method}_n"]),
            "iou": finite_or_none(record[f"{method}_iou"]),
            "f1": finite_or_none(record[f"{method}_f1"]),
        }
        for method in table3_methods(table3)
        for record in table3.to_dict("records")
    ]
    return pd.DataFrame(rows, columns=["class", "method", "instances", "iou", "f1"])


def _sweep_splits(
    splits: Mapping[str, SplitScores], taus: np.ndarray, settings: MetricSettings
) -> dict[str, dict[str, MethodSweep]]:
    sweeps: dict[str, dict[str, MethodSweep]] = {}
    for split, data in splits.items():
        started = time.monotonic()
        sweeps[split] = {
            method: sweep_method(select_instances(data, method, settings), taus)
            for method in data.methods
        }
        logger.info(
            "%s: swept %d taus for %s in %.2f s",
            split,
            taus.size,
            ", ".join(f"{m} ({len(s.instances)} instances)" for m, s in sweeps[split].items()),
            time.monotonic() - started,
        )
    return sweeps


def _write_tables(out_dir: Path, scores: Sequence[HeldOutScores]) -> list[dict[str, Any]]:
    table2_rows = [s.table2_row() for s in scores]
    table2 = pd.DataFrame(table2_rows)
    table3 = table3_frame(scores)
    write_csv(table2, out_dir / "table2.csv")
    write_text(out_dir / "table2.md", table2_markdown(table2))
    write_csv(table3, out_dir / "table3.csv")
    write_text(out_dir / "table3.md", table3_markdown(table3))
    write_csv(table3_long(table3), out_dir / "table3_long.csv")
    instances = pd.concat([s.instance_frame() for s in scores], ignore_index=True)
    instances["tau_iou"] = instances["tau_iou"].astype("Int64")
    instances["tau_f1"] = instances["tau_f1"].astype("Int64")
    write_csv(instances, out_dir / "instances_test.csv")
    return table2_rows


def evaluate(inputs: EvaluationInputs, settings: MetricSettings, out_dir: Path) -> dict[str, Any]:
    """Score every method on val and test, pick tau* on val, write Tables II/III and curves.

    Writes into `out_dir`: table2.{csv,md}, table3.{csv,md}, table3_long.csv, sweep_val.csv,
    sweep_test.csv, instances_test.csv, tau_star.json, convergence.json. Returns the Table II
    rows and tau*. First refuses shards made with other models or settings
    (inputs.shards.expectations).
    """
    out_dir = Path(out_dir)
    taus = _tau_grid(settings.tau_range)
    for split in EVAL_SPLITS:
        if split not in inputs.expected_clips or split not in inputs.instances:
            raise KeyError(f"evaluation inputs have no {split!r} clips or instances")
    inputs.shards.require_current()
    splits = {split: load_split(inputs, split) for split in EVAL_SPLITS}
    sweeps = _sweep_splits(splits, taus, settings)
    tau_star = {method: _choose_tau(sweeps["val"][method], method) for method in sweeps["val"]}
    scores = [held_out_scores(sweeps["test"][m], tau_star[m], m) for m in inputs.shards.methods]
    out_dir.mkdir(parents=True, exist_ok=True)
    table2_rows = _write_tables(out_dir, scores)
    write_csv(_sweep_frame(sweeps["val"]), out_dir / "sweep_val.csv")
    write_csv(_sweep_frame(sweeps["test"]), out_dir / "sweep_test.csv")
    chosen = TauStar(
        selection=(
            "argmax over integer tau in tau_range of the val macro mean (per-class mean over "
            "instances, then mean over classes with instances); exact ties -> lowest tau"
        ),
        tau_range=(int(taus[0]), int(taus[-1])),
        options=settings.options(),
        methods=tau_star,
    )
    write_tau_star(out_dir / "tau_star.json", chosen)
    write_handover_json(out_dir / "convergence.json", _convergence_payload(splits))
    logger.info("wrote evaluation outputs to %s", out_dir)
    return {"table2": table2_rows, "tau_star": tau_star}


def table2_markdown(table2: pd.DataFrame) -> str:
    rows = [
        [
            str(r["label"]),
            format_number(r["mean_iou"]),
            format_number(r["f1"]),
            format_number(r["std_iou"]),
            format_number(r["pg"], percent=True),
            format_number(r["tau_star_iou"]),
            format_number(r["tau_star_f1"]),
            str(int(r["n_instances"])),
        ]
        for r in table2.to_dict("records")
    ]
    header = ["Method", "Mean IoU", "F1", "Std IoU", "PG", "τ* IoU", "τ* F1", "Instances"]
    undetected = [str(r["label"]) for r in table2.to_dict("records") if int(r["n_instances"]) == 0]
    return markdown_table(header, rows) + no_instances_note(undetected)


def table3_markdown(table3: pd.DataFrame) -> str:
    methods = table3_methods(table3)
    header = ["Class"]
    for method in methods:
        label = method_label(method)
        header += [f"{label} n", f"{label} IoU", f"{label} F1"]
    rows = []
    for r in table3.to_dict("records"):
        row = [str(r["class"])]
        for method in methods:
            row += [
                str(int(r[f"{method}_n"])),
                format_number(finite_or_none(r[f"{method}_iou"])),
                format_number(finite_or_none(r[f"{method}_f1"])),
            ]
        rows.append(row)
    return markdown_table(header, rows)
