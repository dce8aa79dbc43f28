"""The `evaluate` stage: attribution shards -> Tables II and III, sweep curves, tau*, IG checks.

Protocol (docs/metrics.md; conventions of the metrics in `igsed.core.metrics`):

- Instances are (clip, class) pairs whose clip-classifier probability is > `threshold` (the
  attributed classes) and whose class has at least one active ground-truth frame. The same
  instances are scored by every method (IG, FW-WS, FW-SS, energy, random), so the
  comparison is paired.
  `count_false_positives=True` also scores detections of classes absent from the clip: the
  ground truth is empty, so IoU = F1 = PG = 0 for such an instance (a percentile mask is never
  empty). `fw_detections="own"` gives FW-WS and FW-SS their own instances instead: the
  classes whose FW clip probability (max over frames) is > `threshold`.
- Scores per instance: IG = the class's row of mean |IG| per 100 ms frame; FW = the class
  column of the frame probabilities; energy = mean |x| per frame (the same for every class of
  a clip); random = the class column of the seeded U(0, 1) scores.
- tau* is chosen on val per method, separately for IoU and F1: the tau of the highest macro
  mean over tau_range (integers, inclusive); exact ties go to the lowest tau. Test IoU is at
  the method's tau*_IoU and test F1 at its tau*_F1 (as in the paper's Table II, each metric at
  its own tau*); Pointing Game does not depend on tau.
- Non-finite scores raise (naming clip, class and method); so do missing clips.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from igsed.core.atomic import write_json, write_text
from igsed.core.constants import CLASS_INDEX, CLASSES, N_CLASSES, N_EVAL_FRAMES
from igsed.core.logs import Progress
from igsed.core.metrics import best_tau, class_means, macro_average, pointing_game, sweep
from igsed.formats.shards import (
    FRAME_METHODS,
    ClipAttribution,
    ShardExpectation,
    read_shard,
    require_current_shards,
)
from igsed.formats.tables import (
    METHOD_LABELS,
    TABLE2_ORDER,
    TABLE3_METHODS,
    finite_or_none,
    format_number,
    markdown_table,
    write_csv,
)

logger = logging.getLogger(__name__)

METHODS: tuple[str, ...] = FRAME_METHODS  # ig, fw_weak, fw_strong, energy, random
FW_DETECTION_MODES: tuple[str, ...] = ("classifier", "own")
# |F(x) - F(0)| at or below this leaves IG's relative completeness error undefined.
SCORE_GAP_FLOOR = 1e-3


@dataclass
class InstanceSet:
    """The instances one method is scored on, with their frame scores and ground truth."""

    method: str
    clip_ids: list[str]
    class_index: np.ndarray  # (n,) int
    scores: np.ndarray  # (n, frames) float64
    truth: np.ndarray  # (n, frames) bool
    present: np.ndarray  # (n,) bool: the class has ground-truth frames in the clip

    def __len__(self) -> int:
        return len(self.clip_ids)


def _method_scores(clip: ClipAttribution, method: str, class_name: str) -> np.ndarray:
    index = CLASS_INDEX[class_name]
    if method == "ig":
        if class_name not in clip.attributed_classes:
            raise ValueError(
                f"clip {clip.clip_id}: class {class_name} is an instance (probability "
                f"{float(clip.probabilities[index]):.4f}) but has no IG row; attributed classes "
                f"are {clip.attributed_classes}. Was attribution run with a higher threshold?"
            )
        return np.asarray(clip.ig[clip.attributed_classes.index(class_name)])
    if method in ("fw_weak", "fw_strong", "random"):
        return np.asarray(getattr(clip, method))[:, index]
    if method == "energy":
        return np.asarray(clip.energy).reshape(-1)
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def _detected(
    clip: ClipAttribution, method: str, threshold: float, fw_detections: str
) -> np.ndarray:
    if fw_detections == "own" and method in ("fw_weak", "fw_strong"):
        probabilities = np.asarray(getattr(clip, f"{method}_clip"), dtype=np.float64)
    else:
        probabilities = np.asarray(clip.probabilities, dtype=np.float64)
    if probabilities.shape != (N_CLASSES,):
        raise ValueError(
            f"clip {clip.clip_id}: clip probabilities for {method} have shape "
            f"{probabilities.shape}, expected ({N_CLASSES},)"
        )
    if not np.all(np.isfinite(probabilities)):
        raise ValueError(f"clip {clip.clip_id}: non-finite clip probabilities for {method}")
    return probabilities > threshold


def select_instances(
    clips: Sequence[ClipAttribution],
    *,
    threshold: float = 0.5,
    count_false_positives: bool = False,
    fw_detections: str = "classifier",
    methods: Sequence[str] = METHODS,
) -> dict[str, InstanceSet]:
    """The instances of every method, in clip order then class order."""
    if fw_detections not in FW_DETECTION_MODES:
        raise ValueError(f"fw_detections={fw_detections!r}; expected one of {FW_DETECTION_MODES}")
    collected: dict[str, dict[str, list[Any]]] = {
        m: {"clip_ids": [], "class_index": [], "scores": [], "truth": [], "present": []}
        for m in methods
    }
    for clip in clips:
        truth_matrix = np.asarray(clip.ground_truth).astype(bool)
        if truth_matrix.shape != (N_EVAL_FRAMES, N_CLASSES):
            raise ValueError(
                f"clip {clip.clip_id}: ground truth shape {truth_matrix.shape}, "
                f"expected ({N_EVAL_FRAMES}, {N_CLASSES})"
            )
        present = truth_matrix.any(axis=0)
        for method in methods:
            detected = _detected(clip, method, threshold, fw_detections)
            selected = detected & (present | count_false_positives)
            store = collected[method]
            for index in np.flatnonzero(selected):
                class_name = CLASSES[index]
                scores = np.asarray(_method_scores(clip, method, class_name), dtype=np.float64)
                if scores.shape != (N_EVAL_FRAMES,):
                    raise ValueError(
                        f"clip {clip.clip_id}, class {class_name}, method {method}: "
                        f"frame scores have shape {scores.shape}, expected ({N_EVAL_FRAMES},)"
                    )
                bad = ~np.isfinite(scores)
                if bad.any():
                    frames = np.flatnonzero(bad)
                    raise ValueError(
                        f"clip {clip.clip_id}, class {class_name}, method {method}: "
                        f"{frames.size} non-finite frame score(s) (first at frame {frames[0]}: "
                        f"{scores[frames[0]]}); refusing to average them"
                    )
                store["clip_ids"].append(clip.clip_id)
                store["class_index"].append(index)
                store["scores"].append(scores)
                store["truth"].append(truth_matrix[:, index])
                store["present"].append(bool(present[index]))
    result: dict[str, InstanceSet] = {}
    for method, store in collected.items():
        n = len(store["clip_ids"])
        result[method] = InstanceSet(
            method=method,
            clip_ids=store["clip_ids"],
            class_index=np.asarray(store["class_index"], dtype=np.int64).reshape(n),
            scores=np.asarray(store["scores"], dtype=np.float64).reshape(n, N_EVAL_FRAMES),
            truth=np.asarray(store["truth"], dtype=bool).reshape(n, N_EVAL_FRAMES),
            present=np.asarray(store["present"], dtype=bool).reshape(n),
        )
    return result


def _load_split(
    shard_paths: Iterable[str | os.PathLike[str]], split: str, expected_ids: Sequence[str]
) -> tuple[list[ClipAttribution], list[dict[str, Any]]]:
    """The clips (see load_clips) and the distinct shard `settings` of the split."""
    paths = [Path(p) for p in shard_paths]
    settings: dict[str, dict[str, Any]] = {}
    missing_paths = [str(p) for p in paths if not p.is_file()]
    by_id: dict[str, ClipAttribution] = {}
    source: dict[str, Path] = {}
    progress = Progress(logger, f"{split}: shards read", len(paths), every_s=5.0)
    for number, path in enumerate(paths, start=1):
        if not path.is_file():
            continue
        shard = read_shard(path)
        settings.setdefault(json.dumps(shard.settings, sort_keys=True), shard.settings)
        if shard.split != split:
            raise ValueError(f"{path}: shard of split {shard.split!r}, expected {split!r}")
        for clip in shard.clips:
            if clip.clip_id in by_id:
                raise ValueError(
                    f"clip {clip.clip_id} is in two shards: {source[clip.clip_id]} and {path}"
                )
            by_id[clip.clip_id] = clip
            source[clip.clip_id] = path
        progress.update(number)
    expected = list(expected_ids)
    missing = [clip_id for clip_id in expected if clip_id not in by_id]
    if missing:
        detail = f"; shard files not found: {missing_paths}" if missing_paths else ""
        raise FileNotFoundError(
            f"{split}: {len(missing)} of {len(expected)} expected clips have no attribution "
            f"shard: {missing}{detail}"
        )
    if missing_paths:
        raise FileNotFoundError(f"{split}: shard files not found: {missing_paths}")
    expected_set = set(expected)
    unexpected = sorted(clip_id for clip_id in by_id if clip_id not in expected_set)
    if unexpected:
        raise ValueError(
            f"{split}: shards hold clips that are not in the {split} manifest: {unexpected} "
            f"(first in {source[unexpected[0]]})"
        )
    logger.info(
        "%s: %d clips from %d shards in %.1f s",
        split,
        len(expected),
        len(paths),
        progress.elapsed(),
    )
    return [by_id[clip_id] for clip_id in expected], [settings[k] for k in sorted(settings)]


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
    result = sweep(instances.scores, instances.truth, taus)
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


def _convergence_summary(clips: Sequence[ClipAttribution]) -> dict[str, Any]:
    deltas: list[float] = []
    gaps: list[float] = []
    per_class: dict[str, dict[str, list[float]]] = {}
    for clip in clips:
        k = len(clip.attributed_classes)
        arrays = {
            "convergence_delta": np.asarray(clip.convergence_delta, dtype=np.float64),
            "f_input": np.asarray(clip.f_input, dtype=np.float64),
            "f_baseline": np.asarray(clip.f_baseline, dtype=np.float64),
        }
        for name, array in arrays.items():
            if array.shape != (k,):
                raise ValueError(
                    f"clip {clip.clip_id}: {name} has shape {array.shape}, expected ({k},) "
                    f"for attributed classes {clip.attributed_classes}"
                )
        for row, class_name in enumerate(clip.attributed_classes):
            values = {name: float(array[row]) for name, array in arrays.items()}
            for name, value in values.items():
                if not math.isfinite(value):
                    raise ValueError(
                        f"clip {clip.clip_id}, class {class_name}, method ig: {name} is {value}"
                    )
            deltas.append(abs(values["convergence_delta"]))
            gaps.append(abs(values["f_input"] - values["f_baseline"]))
            store = per_class.setdefault(
                class_name, {"abs_delta": [], "f_input": [], "f_baseline": []}
            )
            store["abs_delta"].append(abs(values["convergence_delta"]))
            store["f_input"].append(values["f_input"])
            store["f_baseline"].append(values["f_baseline"])
    delta_array = np.asarray(deltas)
    gap_array = np.asarray(gaps)
    defined = gap_array > SCORE_GAP_FLOOR
    summary: dict[str, Any] = {
        "n_attributions": int(delta_array.size),
        "median_abs_delta": finite_or_none(np.median(delta_array)) if deltas else None,
        "mean_abs_delta": finite_or_none(np.mean(delta_array)) if deltas else None,
        "p90_abs_delta": finite_or_none(np.percentile(delta_array, 90)) if deltas else None,
        "max_abs_delta": finite_or_none(np.max(delta_array)) if deltas else None,
        "score_gap_floor": SCORE_GAP_FLOOR,
        "n_small_score_gap": int(np.count_nonzero(~defined)),
        "median_relative_abs_delta": (
            finite_or_none(np.median(delta_array[defined] / gap_array[defined]))
            if defined.any()
            else None
        ),
        "per_class": {
            name: {
                "n": len(per_class[name]["abs_delta"]),
                "median_abs_delta": float(np.median(per_class[name]["abs_delta"])),
                "median_f_input": float(np.median(per_class[name]["f_input"])),
                "median_f_baseline": float(np.median(per_class[name]["f_baseline"])),
            }
            for name in CLASSES
            if name in per_class
        },
    }
    return summary


def evaluate(
    val_shards: list[Path],
    test_shards: list[Path],
    out_dir: Path,
    *,
    expected_clips: dict[str, list[str]],
    tau_range: tuple[int, int] = (1, 99),
    threshold: float = 0.5,
    count_false_positives: bool = False,
    fw_detections: str = "classifier",
    shards_made_with: ShardExpectation | None = None,
) -> dict[str, Any]:
    """Score every method on val and test, pick tau* on val, write Tables II/III and curves.

    Writes into `out_dir`: table2.{csv,md}, table3.{csv,md}, sweep_val.csv, sweep_test.csv,
    instances_test.csv, tau_star.json, convergence.json. Returns the Table II rows and tau*.
    With `shards_made_with`, first refuses shards made with other models or settings.
    """
    out_dir = Path(out_dir)
    if shards_made_with is not None:
        present = [Path(p) for p in [*val_shards, *test_shards] if Path(p).is_file()]
        require_current_shards(present, shards_made_with)
    taus = _tau_grid(tau_range)
    if fw_detections not in FW_DETECTION_MODES:
        raise ValueError(f"fw_detections={fw_detections!r}; expected one of {FW_DETECTION_MODES}")
    for split in ("val", "test"):
        if split not in expected_clips:
            raise KeyError(
                f"expected_clips has no {split!r} entry (keys: {sorted(expected_clips)})"
            )
    options = {
        "threshold": threshold,
        "count_false_positives": count_false_positives,
        "fw_detections": fw_detections,
    }
    clips: dict[str, list[ClipAttribution]] = {}
    shard_settings: dict[str, dict[str, Any]] = {}
    for split, paths in (("val", val_shards), ("test", test_shards)):
        clips[split], split_settings = _load_split(paths, split, expected_clips[split])
        for entry in split_settings:
            shard_settings.setdefault(json.dumps(entry, sort_keys=True), entry)
    sweeps: dict[str, dict[str, MethodSweep]] = {}
    for split, split_clips in clips.items():
        started = time.monotonic()
        instance_sets = select_instances(split_clips, **options)
        sweeps[split] = {m: sweep_method(instance_sets[m], taus) for m in METHODS}
        logger.info(
            "%s: swept %d taus for %s in %.2f s",
            split,
            taus.size,
            ", ".join(f"{m} ({len(instance_sets[m])} instances)" for m in METHODS),
            time.monotonic() - started,
        )

    tau_star: dict[str, dict[str, Any]] = {}
    for method in METHODS:
        val = sweeps["val"][method]
        entry: dict[str, Any] = {"n_val_instances": len(val.instances)}
        for metric, curve in (("iou", val.iou_curve), ("f1", val.f1_curve)):
            index = best_tau(taus, curve)
            if index is None:
                logger.warning("%s: no val instances, tau*_%s undefined", method, metric)
            entry[metric] = {
                "tau": None if index is None else int(taus[index]),
                "val_value": None if index is None else finite_or_none(curve[index]),
            }
        tau_star[method] = entry

    table2_rows: list[dict[str, Any]] = []
    table3_parts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    instance_rows: list[pd.DataFrame] = []
    for method in TABLE2_ORDER:
        test = sweeps["test"][method]
        inst = test.instances
        n = len(inst)
        tau_iou = tau_star[method]["iou"]["tau"]
        tau_f1 = tau_star[method]["f1"]["tau"]
        iou_values = (
            test.iou_instances[int(np.flatnonzero(taus == tau_iou)[0])]
            if tau_iou is not None
            else np.full(n, np.nan)
        )
        f1_values = (
            test.f1_instances[int(np.flatnonzero(taus == tau_f1)[0])]
            if tau_f1 is not None
            else np.full(n, np.nan)
        )
        pg_values = np.asarray(pointing_game(inst.scores, inst.truth), dtype=np.float64).reshape(n)
        iou_class, counts = class_means(iou_values, inst.class_index, N_CLASSES)
        f1_class, _ = class_means(f1_values, inst.class_index, N_CLASSES)
        pg_class, _ = class_means(pg_values, inst.class_index, N_CLASSES)
        table3_parts[method] = (iou_class, f1_class, counts)
        table2_rows.append(
            {
                "method": method,
                "label": METHOD_LABELS[method],
                "mean_iou": finite_or_none(macro_average(iou_class, counts)),
                "f1": finite_or_none(macro_average(f1_class, counts)),
                "std_iou": finite_or_none(np.std(iou_values)) if n else None,
                "pg": finite_or_none(macro_average(pg_class, counts)),
                "tau_star_iou": tau_iou,
                "tau_star_f1": tau_f1,
                "n_instances": n,
                "n_classes": int(np.count_nonzero(counts)),
            }
        )
        instance_rows.append(
            pd.DataFrame(
                {
                    "clip_id": inst.clip_ids,
                    "class": [CLASSES[i] for i in inst.class_index],
                    "method": method,
                    "present": inst.present,
                    "iou": iou_values,
                    "f1": f1_values,
                    "pg": pg_values,
                    "tau_iou": tau_iou,
                    "tau_f1": tau_f1,
                }
            )
        )

    table2 = pd.DataFrame(table2_rows)
    table3_rows = []
    for class_index, class_name in enumerate(CLASSES):
        row: dict[str, Any] = {"class": class_name}
        for method in TABLE3_METHODS:
            iou_class, f1_class, counts = table3_parts[method]
            row[f"{method}_n"] = int(counts[class_index])
            row[f"{method}_iou"] = finite_or_none(iou_class[class_index])
            row[f"{method}_f1"] = finite_or_none(f1_class[class_index])
        table3_rows.append(row)
    table3 = pd.DataFrame(table3_rows)

    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(table2, out_dir / "table2.csv")
    write_text(out_dir / "table2.md", table2_markdown(table2))
    write_csv(table3, out_dir / "table3.csv")
    write_text(out_dir / "table3.md", table3_markdown(table3))
    write_csv(_sweep_frame(sweeps["val"]), out_dir / "sweep_val.csv")
    write_csv(_sweep_frame(sweeps["test"]), out_dir / "sweep_test.csv")
    instances = pd.concat(instance_rows, ignore_index=True)
    instances["tau_iou"] = instances["tau_iou"].astype("Int64")
    instances["tau_f1"] = instances["tau_f1"].astype("Int64")
    write_csv(instances, out_dir / "instances_test.csv")
    tau_payload = {
        "selection": (
            "argmax over integer tau in tau_range of the val macro mean (per-class mean over "
            "instances, then mean over classes with instances); exact ties -> lowest tau"
        ),
        "tau_range": [int(taus[0]), int(taus[-1])],
        "options": options,
        "methods": tau_star,
    }
    write_json(out_dir / "tau_star.json", tau_payload)
    convergence = {
        "note": (
            "IG completeness: delta = sum(attributions) - (F(x) - F(0)) as recorded by the "
            "attribute stage, over every attributed (clip, class); the relative error is taken "
            f"only where |F(x) - F(0)| > {SCORE_GAP_FLOOR}"
        ),
        **{split: _convergence_summary(split_clips) for split, split_clips in clips.items()},
        "shard_settings": [shard_settings[k] for k in sorted(shard_settings)],
    }
    write_json(out_dir / "convergence.json", convergence)
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
    return markdown_table(header, rows)


def table3_markdown(table3: pd.DataFrame) -> str:
    header = ["Class"]
    for method in TABLE3_METHODS:
        label = METHOD_LABELS[method]
        header += [f"{label} n", f"{label} IoU", f"{label} F1"]
    rows = []
    for r in table3.to_dict("records"):
        row = [str(r["class"])]
        for method in TABLE3_METHODS:
            row += [
                str(int(r[f"{method}_n"])),
                format_number(finite_or_none(r[f"{method}_iou"])),
                format_number(finite_or_none(r[f"{method}_f1"])),
            ]
        rows.append(row)
    return markdown_table(header, rows)
