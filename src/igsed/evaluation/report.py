"""The run's summary: results/report/summary.md with every table beside the paper's numbers.

Every number of the run comes from the stage outputs passed in; the only constants are the
paper's published values (`igsed.evaluation.paper`), printed in columns labelled "paper".

Table I is read from the classify stage's table1.csv: one row per class with a class-name
column (`class`, or the first column) and `precision`, `recall`, `f1` columns (names matched
case-insensitively; further columns such as a support count are shown as they are).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from igsed.core.atomic import read_json, write_text
from igsed.core.constants import CLASSES
from igsed.core.methods import method_label
from igsed.core.statistics import MIN_OWN_SPREAD, BootstrapSettings
from igsed.core.versions import package_version
from igsed.evaluation.findings import findings
from igsed.evaluation.headings import (
    AGREEMENT_METRICS,
    CI_METRICS,
    COMPLEXITY_METRICS,
    FAITHFULNESS_METRICS,
    ROBUSTNESS_METRICS,
    SED_VIEW_METRICS,
    THRESHOLD_FREE_METRICS,
)
from igsed.evaluation.models import ModelResults, write_models_outputs
from igsed.evaluation.paper import (
    PAPER_REFERENCE,
    PAPER_SPLIT_COUNTS,
    PAPER_TABLE1,
    PAPER_TABLE2,
    PAPER_TABLE3,
    PAPER_TAU_STAR,
)
from igsed.evaluation.summaries import flagged_methods, sanity_intervals
from igsed.formats.handover import read_handover_json
from igsed.formats.intervals import read_differences, read_intervals
from igsed.formats.manifest import read_split_summary
from igsed.formats.sed_view import read_sed_view
from igsed.formats.tables import (
    NO_INSTANCES,
    NOT_AVAILABLE,
    class_instance_counts,
    format_count,
    format_number,
    markdown_table,
    no_instances_note,
    read_table,
    table3_methods,
)
from igsed.formats.tau_star import TAU_METRICS, TauStar, read_tau_star

REPORTED_PACKAGES: tuple[str, ...] = (
    "snakemake",
    "torch",
    "captum",
    "scaper",
    "numpy",
    "pandas",
    "h5py",
)
_TABLE1_ALIASES: dict[str, tuple[str, ...]] = {
    "precision": ("precision", "p"),
    "recall": ("recall", "r"),
    "f1": ("f1", "f1_score", "f-score", "f_score", "f"),
}
_FIGURE_CAPTIONS: dict[str, str] = {
    "fig2_attribution": "Fig. 2: one polyphonic test clip, its ground truth and every method's "
    "frame scores (small multiples)",
    "fig3_threshold": "Fig. 3: threshold sensitivity (IoU solid, frame F1 dashed) on val and test",
    "per_class_iou": "Per-class test IoU of every method (heatmap)",
    "forest": "Forest plot: test IoU and AUROC of every method with bootstrap intervals",
    "faithfulness_curves": "Deletion and insertion curves (MoRF solid, LeRF dashed)",
    "sanity_curves": "Sanity: Spearman correlation under cascading randomisation",
}
# The methods the paper's Table III reports (the others get no paper column).
PAPER_TABLE3_METHODS: frozenset[str] = frozenset(
    method for by_method in PAPER_TABLE3.values() for method in by_method
)


def installed_package_versions(names: Sequence[str] = REPORTED_PACKAGES) -> dict[str, str]:
    """Installed distribution versions (read from metadata; nothing is imported)."""
    return {name: package_version(name, missing="not installed") for name in names}


def _paper(value: float | None, percent: bool = False) -> str:
    return "—" if value is None else format_number(value, percent=percent)


def _column(frame: pd.DataFrame, aliases: Sequence[str], path: Path) -> str:
    lowered = {str(c).strip().lower(): str(c) for c in frame.columns}
    for alias in aliases:
        if alias in lowered:
            return lowered[alias]
    raise ValueError(f"{path}: no column among {list(aliases)}; columns are {list(frame.columns)}")


def _table1_section(path: Path) -> str:
    frame = read_table(path)
    lowered = {str(c).strip().lower(): str(c) for c in frame.columns}
    class_column = lowered.get("class", str(frame.columns[0]))
    metric_columns = {
        metric: _column(frame, aliases, path) for metric, aliases in _TABLE1_ALIASES.items()
    }
    extra = [c for c in frame.columns if c != class_column and c not in metric_columns.values()]
    header = ["Class"]
    for title in ("Precision", "Recall", "F1"):
        header += [title, f"{title} (paper)"]
    header += [str(c) for c in extra]
    rows = []
    for record in frame.to_dict("records"):
        name = str(record[class_column])
        paper = PAPER_TABLE1.get(name, {})
        row = [name]
        for metric in ("precision", "recall", "f1"):
            row += [format_number(record[metric_columns[metric]]), _paper(paper.get(metric))]
        row += [str(record[c]) for c in extra]
        rows.append(row)
    return markdown_table(header, rows)


def _table2_section(path: Path) -> str:
    frame = read_table(path, keep_default_na=True)
    header = [
        "Method",
        "Mean IoU",
        "Mean IoU (paper)",
        "F1",
        "F1 (paper)",
        "Std IoU",
        "Std IoU (paper)",
        "PG",
        "PG (paper)",
        "Instances",
        "Classes",
    ]
    rows = []
    for record in frame.to_dict("records"):
        method = str(record["method"])
        paper = PAPER_TABLE2.get(method, {})
        rows.append(
            [
                method_label(method),
                format_number(record["mean_iou"]),
                _paper(paper.get("mean_iou")),
                format_number(record["f1"]),
                _paper(paper.get("f1")),
                format_number(record["std_iou"]),
                _paper(paper.get("std_iou")),
                format_number(record["pg"], percent=True),
                _paper(paper.get("pg"), percent=True),
                format_count(record["n_instances"]),
                format_count(record.get("n_classes")),
            ]
        )
    undetected = [
        method_label(str(r["method"])) for r in frame.to_dict("records") if r["n_instances"] == 0
    ]
    return markdown_table(header, rows) + no_instances_note(undetected)


def _table3_section(path: Path, only_paper_methods: bool = False) -> str:
    frame = read_table(path)
    methods = table3_methods(frame)
    if only_paper_methods:
        methods = [m for m in methods if m in PAPER_TABLE3_METHODS]
    header = ["Class", "Instances"]
    for method in methods:
        label = method_label(method)
        header += [f"{label} IoU", f"{label} F1"]
        if method in PAPER_TABLE3_METHODS:
            header[-2:] = [f"{label} IoU", "(paper)", f"{label} F1", "(paper)"]
    rows = []
    counts_differ = False
    for record in frame.to_dict("records"):
        name = str(record["class"])
        counts = [format_count(record[f"{m}_n"]) for m in methods]
        counts_differ |= len(set(counts)) > 1
        row = [name, counts[0] if len(set(counts)) == 1 else " / ".join(counts)]
        for method in methods:
            paper = PAPER_TABLE3.get(name, {}).get(method, {})
            cells = [format_number(record[f"{method}_iou"]), format_number(record[f"{method}_f1"])]
            if method in PAPER_TABLE3_METHODS:
                cells = [cells[0], _paper(paper.get("iou")), cells[1], _paper(paper.get("f1"))]
            row += cells
        rows.append(row)
    labels = " / ".join(method_label(m) for m in methods)
    note = (
        "\nInstances differ between methods (methods with their own detections used them); "
        f"shown as {labels}.\n"
        if counts_differ
        else ""
    )
    return markdown_table(header, rows) + note


def _tau_section(tau_star: TauStar) -> str:
    header = [
        "Method",
        "τ* IoU",
        "val IoU at τ*",
        "τ* F1",
        "val F1 at τ*",
        "τ* IoU (paper)",
        "τ* F1 (paper)",
    ]
    rows = []
    for method in tau_star.methods:
        paper = PAPER_TAU_STAR.get(method, {})
        row = [method_label(method)]
        for metric in TAU_METRICS:
            row += [
                format_count(tau_star.tau(method, metric)),
                format_number(tau_star.val_value(method, metric)),
            ]
        row += [str(paper[metric]) if metric in paper else "—" for metric in TAU_METRICS]
        rows.append(row)
    first, last = tau_star.tau_range
    return (
        markdown_table(header, rows)
        + f"\nSwept τ = {first}..{last}; selection: {tau_star.selection}.\n"
    )


def _convergence_section(convergence: Mapping[str, Any]) -> str:
    """Completeness of every method that records it (IG), one table per method."""
    methods = convergence.get("methods", {})
    if not methods:
        return "No method of this run records completeness diagnostics.\n"
    parts = []
    for method, entry in methods.items():
        parts.append(f"### {method_label(method)}\n\n")
        parts.append(_method_convergence(entry))
    if convergence.get("note"):
        parts.append(f"\n{convergence['note'][:1].upper()}{convergence['note'][1:]}.\n")
    return "".join(parts)


def _method_convergence(convergence: Mapping[str, Any]) -> str:
    splits = [s for s in ("val", "test") if isinstance(convergence.get(s), Mapping)]
    header = [
        "Split",
        "Attributions",
        "median abs(δ)",
        "90th pct abs(δ)",
        "max abs(δ)",
        "median abs(δ) / abs(F(x)−F(0))",
        "abs(F(x)−F(0)) ≤ floor",
    ]
    rows = []
    for split in splits:
        entry = convergence[split]
        rows.append(
            [
                split,
                format_count(entry.get("n_attributions")),
                format_number(entry.get("median_abs_delta"), digits=4),
                format_number(entry.get("p90_abs_delta"), digits=4),
                format_number(entry.get("max_abs_delta"), digits=4),
                format_number(entry.get("median_relative_abs_delta"), digits=4),
                f"{format_count(entry.get('n_small_score_gap'))} "
                f"(floor {entry.get('score_gap_floor', NOT_AVAILABLE)})",
            ]
        )
    parts = [markdown_table(header, rows)]
    class_header = ["Class"] + [
        f"{split} {what}" for split in splits for what in ("n", "median F(x)", "median F(0)")
    ]
    class_rows = []
    for name in CLASSES:
        row = [name]
        seen = False
        for split in splits:
            entry = convergence[split].get("per_class", {}).get(name)
            seen |= entry is not None
            entry = entry or {}
            row += [
                format_count(entry.get("n", 0)),
                format_number(entry.get("median_f_input"), digits=3),
                format_number(entry.get("median_f_baseline"), digits=3),
            ]
        if seen:
            class_rows.append(row)
    if class_rows:
        parts.append("\nClassifier score at the input F(x) and at the zero baseline F(0), ")
        parts.append("per attributed class:\n\n")
        parts.append(markdown_table(class_header, class_rows))
    return "".join(parts)


def _with_interval(record: Mapping[str, Any], digits: int = 2) -> str:
    value = format_number(record.get("value"), digits)
    if value == NOT_AVAILABLE:
        return value
    low = format_number(record.get("ci_low"), digits)
    return f"{value} [{low}, {format_number(record.get('ci_high'), digits)}]"


def _intervals_section(frame: pd.DataFrame, metrics: Mapping[str, str]) -> str:
    if frame.empty:
        return f"No figures: {NO_INSTANCES} in the test split.\n"
    header = ["Method", *metrics.values()]
    rows = []
    for method in dict.fromkeys(frame["method"].astype(str)):
        rows.append(
            [method_label(method)]
            + [
                _with_interval(
                    next(
                        iter(
                            frame[(frame["method"] == method) & (frame["metric"] == m)].to_dict(
                                "records"
                            )
                        ),
                        {},
                    )
                )
                for m in metrics
            ]
        )
    return markdown_table(header, rows)


def _differences_section(frame: pd.DataFrame, metrics: Mapping[str, str]) -> str:
    frame = frame[frame["metric"].isin(list(metrics))]
    if frame.empty:
        return "No method to compare.\n"
    header = ["Method", "Compared with", *metrics.values()]
    rows = []
    pairs = frame[["method", "reference"]].drop_duplicates().itertuples(index=False)
    for method, reference in pairs:
        cells = []
        for metric in metrics:
            match = frame[
                (frame["method"] == method)
                & (frame["reference"] == reference)
                & (frame["metric"] == metric)
            ]
            if match.empty:
                cells.append("—")
                continue
            record = match.iloc[0].to_dict()
            # Three digits: an interval that excludes 0 should not print a bound as 0.00.
            cell = _with_interval({**record, "value": record["difference"]}, digits=3)
            cells.append(f"**{cell}**" if str(record["excludes_zero"]) == "True" else cell)
        rows.append([method_label(method), method_label(reference), *cells])
    return markdown_table(header, rows)


def _flatten(payload: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(payload, list) and all(not isinstance(v, (Mapping, list)) for v in payload):
        yield prefix, ", ".join(str(v) for v in payload)
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            yield from _flatten(value, f"{prefix}[{index}]")
    else:
        yield prefix, payload


def _key_value_table(payload: Mapping[str, Any]) -> str:
    rows = [[f"`{key}`", str(value)] for key, value in _flatten(payload)]
    return markdown_table(["Key", "Value"], rows) if rows else "(empty)\n"


def _seeds(config: Mapping[str, Any], backbone_source: Any) -> list[tuple[str, Any]]:
    """The config's seeds that this run used: not those of sections it never read."""
    unused = _unused_sections(config, backbone_source)
    return [
        (key, value)
        for key, value in _flatten(config)
        if key.rsplit(".", 1)[-1].endswith("seed")
        and not any(key.startswith(f"{section}.") for section in unused)
    ]


def _unused_sections(config: Mapping[str, Any], backbone_source: Any) -> set[str]:
    """The other soundbank sources' settings, and a downloaded backbone's pretraining recipe."""
    unused: set[str] = set()
    source = _get(config, "soundbank.source")
    soundbank = _get(config, "soundbank")
    if source is not None and isinstance(soundbank, Mapping):
        unused |= {
            f"soundbank.{name}"
            for name, section in soundbank.items()
            if isinstance(section, Mapping) and name != source
        }
    if backbone_source is not None and backbone_source != "pipeline":
        unused.add("backbone.pretrain")
    methods = _get(config, "attribution.methods")
    run = _get(config, "attribution.run") or []
    if isinstance(methods, Mapping):
        unused |= {f"attribution.methods.{name}" for name in methods if name not in run}
    return unused


def _get(config: Mapping[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _backbone_source(config: Mapping[str, Any], backbone: Mapping[str, Any]) -> Any:
    """What the backbone stage recorded, else what the config asked for."""
    return backbone.get("source", _get(config, "backbone.pretrained"))


def _soundbank_phrase(config: Mapping[str, Any]) -> str:
    source = _get(config, "soundbank.source")
    if source == "synthetic":
        seed = _get(config, "soundbank.synthetic.seed")
        return "the synthetic soundbank" + ("" if seed is None else f" (generator seed {seed})")
    if source == "desed":
        return "the DESED soundbank"
    if source == "folder":
        path = _get(config, "soundbank.folder.path")
        return f"the folder soundbank `{path}`" if path else "a folder soundbank"
    return "a soundbank of unrecorded source" if source is None else f"the {source} soundbank"


def _backbone_phrase(source: Any, width: Any) -> str:
    if source == "panns":
        return "the PANNs AudioSet CNN14 backbone"
    if source == "pipeline":
        at_width = "" if width is None else f" at width {width}"
        return f"the pipeline-trained CNN14 backbone{at_width}"
    return "a backbone of unrecorded source" if source is None else f"the {source} backbone"


# How the comparison sentence names what differs from the paper's DESED + PANNs setup.
_OTHER_SOUNDBANKS = {"synthetic": "the synthetic soundbank", "folder": "a folder soundbank"}
_OTHER_BACKBONES = {"pipeline": "the pipeline-trained backbone"}


def _opening(config: Mapping[str, Any], backbone: Mapping[str, Any]) -> str:
    """What the run was, and why its numbers may differ from the paper's (DESED + PANNs)."""
    source = _get(config, "soundbank.source")
    backbone_source = _backbone_source(config, backbone)
    width = backbone.get("width", _get(config, "backbone.width"))
    differences = []
    if source != "desed":
        differences.append(_OTHER_SOUNDBANKS.get(source, "a soundbank other than DESED's"))
    if backbone_source != "panns":
        differences.append(_OTHER_BACKBONES.get(backbone_source, "a backbone other than PANNs'"))
    if differences:
        comparison = f"A run on {' and '.join(differences)} is not expected to match them."
    else:
        comparison = (
            "The paper used the same soundbank and backbone; this run's soundscapes and heads "
            "are its own, so its numbers can still differ from them."
        )
    return (
        f"Reproduction of {PAPER_REFERENCE}. This run used {_soundbank_phrase(config)} and "
        f"{_backbone_phrase(backbone_source, width)}. Columns marked *(paper)* are the paper's "
        "published numbers, for comparison only; every other number comes from this run's "
        f"outputs. {comparison}\n"
    )


def _metadata_section(
    config: Mapping[str, Any], backbone: Mapping[str, Any], versions: Mapping[str, str]
) -> str:
    def show(value: Any) -> str:
        return "not recorded" if value is None else f"`{value}`"

    backbone_source = _backbone_source(config, backbone)
    seeds = _seeds(config, backbone_source)
    lines = [
        f"- Soundbank source: {show(_get(config, 'soundbank.source'))}",
        f"- Backbone source: {show(backbone_source)}",
        f"- Backbone width: {show(backbone.get('width', _get(config, 'backbone.width')))}",
        f"- Backbone sha256: {show(backbone.get('sha256'))}",
        f"- Clip-head time pooling: {show(_get(config, 'heads.clip_pooling'))}",
        f"- Methods run: {show(', '.join(_get(config, 'attribution.run') or []))}",
        f"- IG: {show(json.dumps(_get(config, 'attribution.methods.ig'), sort_keys=True))}",
        f"- Metrics options: {show(json.dumps(_get(config, 'metrics'), sort_keys=True))}",
        "- Seeds: " + (", ".join(f"`{key}` = {value}" for key, value in seeds) or "none in config"),
        "- Package versions: " + ", ".join(f"{name} {ver}" for name, ver in versions.items()),
    ]
    other = {k: v for k, v in backbone.items() if k not in {"source", "width", "sha256"}}
    text = "\n".join(lines) + "\n"
    if other:
        text += "\nBackbone metadata (backbone.json):\n\n" + _key_value_table(other)
    return text


def _figures_section(figures: Sequence[Path], base: Path) -> str:
    by_stem: dict[str, list[Path]] = {}
    for figure in figures:
        by_stem.setdefault(Path(figure).stem, []).append(Path(figure))
    parts = []
    for stem, paths in by_stem.items():
        caption = _FIGURE_CAPTIONS.get(stem, stem)
        parts.append(f"### {caption}\n")
        for path in sorted(paths, key=lambda p: p.suffix != ".png"):
            relative = Path(os.path.relpath(path, base)).as_posix()
            if path.suffix.lower() == ".png":
                parts.append(f"![{caption}]({relative})\n")
            else:
                parts.append(f"[{path.suffix.lstrip('.').upper()} version]({relative})\n")
        parts.append("")
    return "\n".join(parts)


def _level(config: Mapping[str, Any]) -> str:
    level = _get(config, "metrics.bootstrap.level")
    return "95 %" if level is None else f"{100 * float(level):g} %"


def _resampling_phrase(config: Mapping[str, Any]) -> str:
    settings = BootstrapSettings(**(_get(config, "metrics.bootstrap") or {}))
    if settings.resampling == "clips":
        return (
            "the test clips resampled with replacement, the macro average over the classes "
            "present recomputed per resample"
        )
    return (
        "a wild bootstrap over the test clips, in which every resample keeps every class and "
        "moves each instance by its residual times its clip's random sign, and a class with "
        f"fewer than {MIN_OWN_SPREAD} instances takes its spread from the other classes"
    )


def _class_counts_line(table3_csv: Path) -> str:
    counts = class_instance_counts(read_table(table3_csv))
    cells = ", ".join(f"{name} {count}" for name, count in counts.items())
    return f"Test instances per class (what the macro averages rest on): {cells}.\n"


def _plain(config: Mapping[str, Any]) -> Any:
    return json.loads(json.dumps(config, default=str))


def _sed_view_section(path: Path) -> str:
    frame = read_sed_view(path)
    return _intervals_section(frame, SED_VIEW_METRICS)


def _sanity_cell(record: Mapping[str, Any] | None) -> str:
    """The median [interval], and how many correlations are defined when some are not
    (a constant score row, e.g. an all-zero Grad-CAM map, has none)."""
    if record is None:
        return "—"
    cell = _with_interval({**record, "value": record["median"]})
    if record["n"] < record["instances"]:
        cell += f" ({record['n']}/{record['instances']} defined)"
    return cell


def _sanity_section(sanity: Mapping[str, Path], config: Mapping[str, Any]) -> str:
    if not sanity:
        return "The run has no gradient or layer method to check.\n"
    settings = BootstrapSettings(**(_get(config, "metrics.bootstrap") or {}))
    levels = sanity_intervals(sanity, settings)
    methods = list(sanity)
    header = ["Randomised up to", *(method_label(m) for m in methods)]
    rows = []
    for (level, layer), group in levels.groupby(["level", "layer"], sort=True):
        records = {r["method"]: r for r in group.to_dict("records")}
        cells = [_sanity_cell(records.get(m)) for m in methods]
        rows.append([f"{int(level)}: {layer}", *cells])
    threshold = float(_get(config, "sanity.flag_correlation") or 0.5)
    flagged = flagged_methods(levels, threshold)
    verdict = (
        "**Flagged** (median correlation above "
        f"{threshold:g} with every layer randomised): "
        + ", ".join(method_label(m) for m in flagged)
        if flagged
        else f"No method is flagged: every median falls to {threshold:g} or below once "
        "every layer is randomised."
    )
    return markdown_table(header, rows) + "\n" + verdict + "\n"


@dataclass(frozen=True)
class ReportInputs:
    """The stage outputs the summary reads (sanity: results/{condition}/{model}/sanity/
    {method}.csv, by method)."""

    table1_csv: Path
    table2_csv: Path
    table3_csv: Path
    tau_star_json: Path
    convergence_json: Path
    intervals_csv: Path
    differences_csv: Path
    sed_view_csv: Path
    sanity: Mapping[str, Path]
    split_summary_json: Path
    # The CNN14 backbone's record (rule backbone); None when the run explains no CNN14.
    backbone_meta_json: Path | None
    figures: Sequence[Path]
    # The cross-condition comparison's markdown (rule conditions); None without conditions.
    conditions_md: Path | None = None
    # Every model's results on main, in the configured order (the first is the one above):
    # models.csv/.md/.png/.svg are written beside the summary, which gets a Models section
    # when there are two or more. None: neither.
    models: Mapping[str, ModelResults] | None = None


def _paper_sections(inputs: ReportInputs, config: Mapping[str, Any]) -> list[str]:
    options = dict(read_tau_star(inputs.tau_star_json).options)
    return [
        "## Table I: clip classification (test, clip-probability threshold "
        f"{_get(config, 'classify.threshold')})\n",
        _table1_section(Path(inputs.table1_csv)),
        "## Table II: temporal detection (test)\n",
        "Mean IoU at each method's τ\\* for IoU and F1 at its τ\\* for F1 (both chosen on "
        "val); Pointing Game does not depend on τ. Per-class means over instances, "
        "macro-averaged over the classes with instances; Std IoU over all instances. "
        "Instance options: "
        f"`{json.dumps(options, sort_keys=True)}`.\n",
        _table2_section(Path(inputs.table2_csv)),
        "## Table III: per-class temporal detection (test)\n",
        "The paper's methods beside its numbers; n/a: no instance of the class (count 0), not "
        "a score of 0. Every method's per-class IoU is the heatmap `per_class_iou` under "
        "Figures; every figure per class and method is in `evaluation/table3_long.csv` "
        "(long format) and `evaluation/table3.md`.\n",
        _table3_section(Path(inputs.table3_csv), only_paper_methods=True),
    ]


def _differences_sections(inputs: ReportInputs) -> list[str]:
    differences = read_differences(inputs.differences_csv)
    return [
        "## Differences (test, paired)\n",
        "Each method minus IG, and minus the best baseline on that metric, with paired "
        "bootstrap intervals (the same resamples for both). **Bold**: the interval "
        "excludes 0.\n",
        _differences_section(differences, CI_METRICS | THRESHOLD_FREE_METRICS | COMPLEXITY_METRICS),
        "## Faithfulness differences (test, paired)\n",
        "Each method minus IG and minus the best baseline; **bold**: the interval excludes 0.\n",
        _differences_section(differences, FAITHFULNESS_METRICS),
    ]


def _findings_section(inputs: ReportInputs) -> str:
    intervals = read_intervals(inputs.intervals_csv)
    return findings(intervals, read_differences(inputs.differences_csv))


def _benchmark_sections(inputs: ReportInputs, config: Mapping[str, Any]) -> list[str]:
    intervals = read_intervals(inputs.intervals_csv)
    differences = read_differences(inputs.differences_csv)
    level = _level(config)
    return [
        "## Confidence intervals (test)\n",
        f"Table II's figures with their {level} bootstrap intervals: "
        f"{_resampling_phrase(config)} (docs/metrics.md).\n",
        _intervals_section(intervals, CI_METRICS),
        _class_counts_line(Path(inputs.table3_csv)),
        "## Threshold-free (test)\n",
        "No threshold, so nothing is tuned on val: AUROC and average precision of the frame "
        "scores against the ground-truth frames, the share of the positive score mass on the "
        "ground truth, and the share of the top-|GT| frames that are ground truth; macro "
        "averages over the instances where each is defined, with bootstrap intervals.\n",
        _intervals_section(intervals, THRESHOLD_FREE_METRICS),
        "## Complexity (test)\n",
        "How concentrated each method's frame scores are, whatever the ground truth: the "
        "Gini index of their magnitudes (0: every frame alike; 0.99: one frame holds all) and "
        "the entropy of the frames' shares, divided by its maximum (1: an even spread; ↓: "
        "more concentrated). A description, not a score: a sparse map is no better at "
        "timing unless it sits on the events (docs/metrics.md).\n",
        _intervals_section(intervals, COMPLEXITY_METRICS),
        "## SED view (test)\n",
        "Each method's frame scores of the detected classes, min-max normalised per "
        "instance and multiplied by the clip probability (0 for undetected classes), scored "
        "with sed_scores_eval as a sound event detector, with "
        f"{level} bootstrap intervals over the test clips (docs/metrics.md).\n",
        _sed_view_section(Path(inputs.sed_view_csv)),
        "## Faithfulness (test)\n",
        "Areas under the clip classifier's probability of the attributed class as 100 ms "
        "frames are zeroed (deletion) or restored from silence (insertion), most relevant "
        "first (MoRF) or least relevant first (LeRF, the control), divided by the unmasked "
        "probability; ↓/↑: lower/higher is more faithful. Macro averages with "
        f"{level} bootstrap intervals.\n",
        _intervals_section(intervals, FAITHFULNESS_METRICS),
        "## Sanity (cascading randomisation, test subset)\n",
        "Median Spearman correlation of each method's frame scores with its scores on the "
        "trained model, as the model's named layers are re-initialised in turn from the top "
        f"down (the rows), with {level} bootstrap intervals over the subset's clips. "
        "A method whose scores stay correlated once every layer is random does not explain "
        "the model.\n",
        _sanity_section(inputs.sanity, config),
        *_robustness_sections(intervals, differences, level),
        *_agreement_sections(intervals, differences, level, config),
        *_conditions_sections(inputs.conditions_md),
    ]


def _robustness_sections(
    intervals: pd.DataFrame, differences: pd.DataFrame, level: str
) -> list[str]:
    rows = intervals[intervals["metric"].isin(list(ROBUSTNESS_METRICS))]
    heading = "## Robustness (sanity subset, trained model)\n"
    if rows.empty:
        return [heading, "No figures: no method had sanity checks on this model.\n"]
    return [
        heading,
        "On the sanity checks' instances: the Spearman correlation of a method's frame "
        "scores with its scores for a class the classifier does not detect in the clip "
        "(random-logit; near 1: the map does not depend on the class), and the largest "
        "relative change of the scores over seeded noisy copies of the clip "
        f"(max-sensitivity); ↓: lower is better. Macro averages with {level} bootstrap "
        "intervals, then paired differences (**bold**: the interval excludes 0; "
        "docs/metrics.md).\n",
        _intervals_section(rows, ROBUSTNESS_METRICS),
        _differences_section(differences, ROBUSTNESS_METRICS),
    ]


def _agreement_sections(
    intervals: pd.DataFrame, differences: pd.DataFrame, level: str, config: Mapping[str, Any]
) -> list[str]:
    rows = intervals[intervals["metric"].isin(list(AGREEMENT_METRICS))]
    heading = "## Seed agreement (sanity subset, retrained clip heads)\n"
    seeds = _get(config, "sanity.agreement_seeds") or []
    if not seeds:
        return [
            heading,
            "Not computed: sanity.agreement_seeds is empty (the full preset, "
            "workflow/presets/full.yaml, sets two seeds).\n",
        ]
    if rows.empty:
        return [heading, "No figures: only a CNN14's clip head is retrained by seed.\n"]
    return [
        heading,
        f"The clip head retrained with seeds {', '.join(map(str, seeds))} beside the trained "
        f"one ({len(seeds) + 1} heads on the same frozen backbone): the mean Spearman "
        "correlation of a method's frame scores over every pair of heads (↑: the map does "
        "not depend on the seed), beside the spread (max - min) of the heads' own clip "
        "probabilities, which is the same for every method. Macro averages with "
        f"{level} bootstrap intervals, then paired differences (**bold**: the interval "
        "excludes 0; docs/metrics.md).\n",
        _intervals_section(rows, AGREEMENT_METRICS),
        _differences_section(differences, {"seed_agreement": AGREEMENT_METRICS["seed_agreement"]}),
    ]


def _conditions_sections(conditions_md: Path | None) -> list[str]:
    if conditions_md is None:
        return []
    return [
        "## Test conditions\n",
        "Main is the configured synthesis; every other condition re-synthesised only the "
        "eval pool with its overrides and re-ran the split, instances, attribution and "
        "evaluation with the same models. Each condition's τ\\* is chosen on its own val "
        "split; intervals are bootstrap intervals over its test clips.\n",
        Path(conditions_md).read_text(encoding="utf-8"),
    ]


def _models_section(inputs: ReportInputs, config: Mapping[str, Any], out_dir: Path) -> list[str]:
    """Write the model × method outputs into `out_dir`; the summary's section on them when
    the run explains two or more models."""
    if not inputs.models:
        return []
    body = write_models_outputs(
        inputs.models,
        BootstrapSettings(**(_get(config, "metrics.bootstrap") or {})),
        out_dir,
        methods=_get(config, "attribution.run") or (),
        level=_level(config),
    )
    if len(inputs.models) < 2:
        return []
    first, *others = inputs.models
    intro = (
        f"The findings above and the tables below are {first}'s. Here every method on every "
        f"model ({', '.join([first, *others])}), on the test split of main.\n"
    )
    return ["## Models\n", intro, body]


def _details(inputs: ReportInputs, config: dict[str, Any], versions: dict[str, str]) -> str:
    backbone = read_json(inputs.backbone_meta_json) if inputs.backbone_meta_json else {}
    sections = [
        "# igsed run details\n",
        "What the summary leaves out: every method per class, every paired difference, "
        "the thresholds, IG's convergence, the data split and the run's metadata.\n",
        "## Table III: per-class temporal detection, every method (test)\n",
        "n/a: no instance of the class (count 0), not a score of 0.\n",
        _table3_section(Path(inputs.table3_csv)),
        *_differences_sections(inputs),
        "## Chosen thresholds τ\\*\n",
        _tau_section(read_tau_star(inputs.tau_star_json)),
        "## Completeness (Integrated Gradients convergence)\n",
        _convergence_section(read_handover_json(inputs.convergence_json)),
        "## Data split\n",
        _key_value_table(read_split_summary(inputs.split_summary_json)),
        "\nPaper's counts: "
        + ", ".join(f"{key} {value}" for key, value in PAPER_SPLIT_COUNTS.items())
        + ".\n",
        "## Run metadata\n",
        _metadata_section(config, backbone, versions),
        "\nConfiguration of this run:\n",
        "```yaml\n" + yaml.safe_dump(_plain(config), sort_keys=False) + "```\n",
    ]
    return "\n".join(sections)


def report(
    out_path: Path,
    inputs: ReportInputs,
    config: dict[str, Any],
    package_versions: dict[str, str] | None = None,
    details_path: Path | None = None,
) -> None:
    """Write the run's summary (markdown) to `out_path`, read in minutes: findings first,
    then the tables with intervals and the figures. Everything else goes to `details_path`
    (default: details.md beside it). Figure links are relative to the summary."""
    out_path = Path(out_path)
    details_path = Path(details_path) if details_path else out_path.parent / "details.md"
    versions = package_versions if package_versions is not None else installed_package_versions()
    backbone = read_json(inputs.backbone_meta_json) if inputs.backbone_meta_json else {}
    sections = [
        "# igsed run summary\n",
        _opening(config, backbone),
        "## Findings\n",
        _findings_section(inputs),
        *_models_section(inputs, config, out_path.parent),
        *_paper_sections(inputs, config),
        *_benchmark_sections(inputs, config),
        "## Figures\n",
        _figures_section(inputs.figures, out_path.parent) if inputs.figures else "(none)\n",
        "## Details\n",
        f"Every method per class, the paired differences, τ\\*, IG's convergence, the data "
        f"split, the run's metadata and config: [{details_path.name}]"
        f"({os.path.relpath(details_path, out_path.parent)}).\n",
    ]
    write_text(details_path, _details(inputs, config, versions))
    write_text(out_path, "\n".join(sections))
