"""The model × method comparison of the summary: one table, one figure, generated sentences.

Each model's figures are its own stage outputs on main (intervals.csv, sed_view.csv, the
sanity CSVs), gathered into the long table of formats.models_table, drawn as a forest plot
per metric with one marker per model, and rendered as markdown: methods down, one column
group per model, a skipped method named with its reason.

Where the ranking of the methods differs between models is said from the intervals only:
per model, which methods beat IG and the best baseline with a paired interval of the
difference that excludes 0 (differences.csv and, for PSDS1, sed_view_differences.csv: the
same resamples for both methods, within one model).
A sentence names each method that beats a reference on some models but not on others, and
each metric whose top three methods by point value differ between models.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from igsed.core.atomic import write_text
from igsed.core.methods import REFERENCE_METHOD, method_label
from igsed.core.statistics import BootstrapSettings
from igsed.evaluation.headings import METRIC_HEADINGS
from igsed.evaluation.statistics import LOWER_IS_BETTER
from igsed.evaluation.summaries import sanity_intervals
from igsed.formats import layout
from igsed.formats.figures import empty_figure, method_colors, save_figure
from igsed.formats.intervals import read_differences, read_intervals
from igsed.formats.models_table import (
    MEASURED,
    MODEL_METRICS,
    MODEL_TABLE_COLUMNS,
    NOT_MEASURED,
    SKIPPED,
    read_models_table,
    write_models_table,
)
from igsed.formats.sed_view import read_sed_view, read_sed_view_differences
from igsed.formats.tables import NOT_AVAILABLE, format_number, markdown_table

logger = logging.getLogger(__name__)

# The outputs' file stem in the report folder: models.csv, models.md, models.png/.svg.
MODELS_STEM = "models"
METRIC_LABELS: dict[str, str] = {
    **{metric: METRIC_HEADINGS[metric] for metric in ("iou", "auroc", "psds1", "deletion_morf")},
    "sanity_full": "Sanity ρ, all random ↓",
}
# The metrics whose ranking the sentences compare, as the sentences name them.
RANKED_METRICS: dict[str, str] = {
    "iou": "IoU",
    "auroc": "AUROC",
    "psds1": "PSDS1",
    "deletion_morf": "deletion MoRF area",
}
# Where each figure comes from: the intervals table, the SED view or the sanity check.
_SOURCES: dict[str, str] = {
    "iou": "intervals",
    "auroc": "intervals",
    "deletion_morf": "intervals",
    "psds1": "sed_view",
    "sanity_full": "sanity",
}
_NOT_MEASURED: dict[str, str] = {
    "iou": "no interval of the method",
    "auroc": "no interval of the method",
    "deletion_morf": "no faithfulness curves of the method",
    "psds1": "the method is not in the SED view",
    "sanity_full": "no sanity check of the method on this model",
}
TOP = 3
_IG = "ig"
_BASELINE = "baseline"
_MARKERS = ("o", "s", "^", "D", "v", "P")


@dataclass(frozen=True)
class ModelResults:
    """One model's outputs on main; `sanity`: its sanity CSVs by method; `skipped`: the
    methods of attribution.run it cannot run, with why (igsed.core.model_kinds.skip_reason)."""

    intervals_csv: Path
    differences_csv: Path
    sed_view_csv: Path
    sed_view_differences_csv: Path
    sanity: Mapping[str, Path] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)


def model_results(
    models: Sequence[str],
    intervals: Sequence[str | Path],
    differences: Sequence[str | Path],
    sed_view: Sequence[str | Path],
    sed_view_differences: Sequence[str | Path],
    sanity: Sequence[str | Path],
    skipped: Mapping[str, Mapping[str, str]],
) -> dict[str, ModelResults]:
    """The rule's inputs as ModelResults: one intervals, differences, SED view and SED view
    differences file per model in the order of `models`, the sanity CSVs of all models (each
    under its model's run folder, results/main/{model}/sanity/{method}.csv), the skipped
    methods by model."""
    runs = {model: Path(layout.run_dir(layout.MAIN, model)) for model in models}
    by_model: dict[str, dict[str, Path]] = {model: {} for model in models}
    for path in map(Path, sanity):
        owner = [model for model, run in runs.items() if path.parent.parent == run]
        if len(owner) != 1:
            raise ValueError(f"{path}: not a sanity table of one of the models {list(models)}")
        by_model[owner[0]][path.stem] = path
    files = zip(models, intervals, differences, sed_view, sed_view_differences, strict=True)
    return {
        model: ModelResults(*map(Path, paths), by_model[model], skipped.get(model, {}))
        for model, *paths in files
    }


@dataclass(frozen=True)
class _Figures:
    """One model's figures as long frames: method, metric, value, ci_low, ci_high, n."""

    intervals: pd.DataFrame
    sed_view: pd.DataFrame
    sanity: pd.DataFrame

    def methods(self) -> list[str]:
        frames = (self.sed_view, self.intervals, self.sanity)
        return list(dict.fromkeys(m for frame in frames for m in frame["method"].astype(str)))


def _last_levels(sanity: Mapping[str, Path], settings: BootstrapSettings) -> pd.DataFrame:
    """Each method's median correlation at its deepest level (every layer randomised)."""
    levels = sanity_intervals(sanity, settings)
    deepest = levels.sort_values("level", kind="stable").groupby("method", sort=False).tail(1)
    return deepest.rename(columns={"median": "value"}).assign(metric="sanity_full")


def _read(results: ModelResults, settings: BootstrapSettings) -> _Figures:
    return _Figures(
        read_intervals(results.intervals_csv),
        read_sed_view(results.sed_view_csv),
        _last_levels(results.sanity, settings),
    )


def _row(model: str, method: str, metric: str, **cells: Any) -> dict[str, Any]:
    empty = {"value": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": pd.NA, "reason": ""}
    return {"model": model, "method": method, "metric": metric, **empty, **cells}


def _measured(model: str, method: str, metric: str, figures: _Figures) -> dict[str, Any]:
    frame = getattr(figures, _SOURCES[metric])
    match = frame[(frame["method"] == method) & (frame["metric"] == metric)]
    if not match.empty:
        record = match.iloc[0]
        cells = {key: float(record[key]) for key in ("value", "ci_low", "ci_high")}
        return _row(model, method, metric, **cells, n=int(record["n"]), status=MEASURED)
    # No interval of a method at all: it had no instance to score (n = 0), a result.
    if _SOURCES[metric] == "intervals" and method not in set(figures.intervals["method"]):
        return _row(model, method, metric, n=0, status=MEASURED)
    return _row(model, method, metric, status=NOT_MEASURED, reason=_NOT_MEASURED[metric])


def _model_rows(
    model: str, results: ModelResults, figures: _Figures, order: Sequence[str]
) -> list[dict[str, Any]]:
    ran = figures.methods()
    both = sorted(set(ran) & set(results.skipped))
    if both:
        raise ValueError(f"model {model}: {both} are skipped yet have results")
    rows = []
    for method in (m for m in order if m in ran or m in results.skipped):
        for metric in MODEL_METRICS:
            if method in results.skipped:
                reason = results.skipped[method]
                rows.append(_row(model, method, metric, status=SKIPPED, reason=reason))
            else:
                rows.append(_measured(model, method, metric, figures))
    return rows


def _method_order(
    figures: Mapping[str, _Figures], skipped: Sequence[str], methods: Sequence[str]
) -> list[str]:
    found = [m for f in figures.values() for m in f.methods()] + list(skipped)
    return list(dict.fromkeys([*(m for m in methods if m in found), *found]))


def model_table(
    models: Mapping[str, ModelResults], settings: BootstrapSettings, methods: Sequence[str] = ()
) -> pd.DataFrame:
    """The long model × method table (formats.models_table) of `models`, in their order,
    methods in the order of `methods` (attribution.run), then any others as found."""
    figures = {name: _read(results, settings) for name, results in models.items()}
    skipped = [m for results in models.values() for m in results.skipped]
    order = _method_order(figures, skipped, methods)
    rows = [
        row
        for name, results in models.items()
        for row in _model_rows(name, results, figures[name], order)
    ]
    return pd.DataFrame(rows, columns=list(MODEL_TABLE_COLUMNS))


@dataclass(frozen=True)
class Comparison:
    """One method against a reference (IG or the best baseline) on one model and metric."""

    model: str
    metric: str
    kind: str  # _IG or _BASELINE
    method: str
    reference: str
    beats: bool
    evidence: str  # the difference [interval]


def _signed(value: float) -> str:
    # Two significant digits: a small difference that excludes 0 never prints as 0.00.
    return f"{value:+.2g}"


def _paired(model: str, differences: pd.DataFrame) -> list[Comparison]:
    comparisons = []
    for record in differences[differences["metric"].isin(list(RANKED_METRICS))].itertuples():
        sign = -1.0 if record.metric in LOWER_IS_BETTER else 1.0
        better = sign * record.difference > 0
        comparisons.append(
            Comparison(
                model,
                str(record.metric),
                _IG if record.reference == REFERENCE_METHOD else _BASELINE,
                str(record.method),
                str(record.reference),
                bool(record.excludes_zero and better),
                f"{_signed(record.difference)} [{_signed(record.ci_low)}, "
                f"{_signed(record.ci_high)}]",
            )
        )
    return comparisons


def comparisons(models: Mapping[str, ModelResults]) -> list[Comparison]:
    """Every method against IG and the best baseline, per model, on the RANKED_METRICS."""
    found = []
    for name, results in models.items():
        found += _paired(name, read_differences(results.differences_csv))
        found += _paired(name, read_sed_view_differences(results.sed_view_differences_csv))
    return found


def _labels(methods: Sequence[str]) -> str:
    return ", ".join(method_label(m) for m in methods) or "none"


def _of(found: Sequence[Comparison], model: str, metric: str, kind: str) -> list[Comparison]:
    return [c for c in found if (c.model, c.metric, c.kind) == (model, metric, kind)]


def _beats(found: Sequence[Comparison], model: str, metric: str, kind: str) -> list[Comparison]:
    return [c for c in _of(found, model, metric, kind) if c.beats]


def _reference(found: Sequence[Comparison], model: str, metric: str, kind: str) -> str | None:
    references = [c.reference for c in _of(found, model, metric, kind)]
    return references[0] if references else None


def _per_model_line(found: Sequence[Comparison], models: Sequence[str], metric: str) -> str:
    """Which methods beat IG and the best baseline on `metric`, model by model."""
    against_ig = "; ".join(
        f"{m}: {_labels([c.method for c in _beats(found, m, metric, _IG)])}" for m in models
    )
    baseline_parts = []
    for model in models:
        reference = _reference(found, model, metric, _BASELINE)
        named = f"{model} ({method_label(reference)})" if reference else model
        beat = [c.method for c in _beats(found, model, metric, _BASELINE)]
        baseline_parts.append(f"{named}: {_labels(beat)}")
    return (
        f"**{RANKED_METRICS[metric]}**: beat IG — {against_ig}. Beat the best "
        f"baseline — {'; '.join(baseline_parts)}."
    )


def _why_not(found: Sequence[Comparison], model: str, key: tuple[str, str, str]) -> str:
    """The evidence of a model where a method does not beat the reference."""
    metric, kind, method = key
    match = [c for c in _of(found, model, metric, kind) if c.method == method]
    if match:
        return f"{model} ({match[0].evidence})"
    if _reference(found, model, metric, kind) == method:
        return f"{model} (where it is the reference)"
    return f"{model} (no figure)"


def _run_everywhere(table: pd.DataFrame, models: Sequence[str]) -> list[str]:
    """The methods that every model ran (none skipped them), in table order."""
    ran = table[table["status"] != SKIPPED]
    by_model = [set(ran.loc[ran["model"] == m, "method"]) for m in models]
    return [m for m in dict.fromkeys(table["method"]) if all(m in s for s in by_model)]


def _differing_sentences(
    found: Sequence[Comparison], table: pd.DataFrame, models: Sequence[str], metric: str
) -> list[str]:
    """A sentence per method every model ran that beats a reference on some models but not
    on the others (a method a model skips is named once, in the skipped lines)."""
    sentences = []
    methods = _run_everywhere(table, models)
    for kind, what in ((_IG, "IG"), (_BASELINE, "the best baseline")):
        winners = {m: {c.method: c for c in _beats(found, m, metric, kind)} for m in models}
        for method in methods:
            on = [m for m in models if method in winners[m]]
            if not on or len(on) == len(models):
                continue
            yes = ", ".join(f"{m} ({winners[m][method].evidence})" for m in on)
            no = ", ".join(
                _why_not(found, m, (metric, kind, method)) for m in models if m not in on
            )
            sentences.append(
                f"On {RANKED_METRICS[metric]}, {method_label(method)} beats {what} on {yes} "
                f"but not on {no}."
            )
    return sentences


def _top(table: pd.DataFrame, model: str, metric: str, common: Sequence[str]) -> list[str]:
    rows = table[
        (table["model"] == model) & (table["metric"] == metric) & table["method"].isin(common)
    ]
    rows = rows.dropna(subset=["value"])
    ascending = metric in LOWER_IS_BETTER
    return list(rows.sort_values("value", ascending=ascending, kind="stable")["method"][:TOP])


def _order_sentence(table: pd.DataFrame, models: Sequence[str], metric: str) -> str | None:
    """The top methods by point value among those measured on every model, if they differ."""
    rows = table[(table["metric"] == metric) & table["value"].notna()]
    measured = [set(rows.loc[rows["model"] == m, "method"]) for m in models]
    common = [m for m in dict.fromkeys(table["method"]) if all(m in s for s in measured)]
    tops = {m: _top(table, m, metric, common) for m in models}
    if len({tuple(t) for t in tops.values()}) < 2:
        return None
    listed = "; ".join(f"{m} {' > '.join(method_label(x) for x in top)}" for m, top in tops.items())
    return (
        f"On {RANKED_METRICS[metric]}, the top {TOP} by point value (among the methods every "
        f"model ran) differ: {listed}."
    )


def ranking_lines(table: pd.DataFrame, found: Sequence[Comparison]) -> list[str]:
    """The summary's lines on the models' rankings: per metric who beats IG and the best
    baseline on each model, then where that or the top methods' order differs."""
    models = list(dict.fromkeys(table["model"]))
    lines = [_per_model_line(found, models, metric) for metric in RANKED_METRICS]
    if len(models) < 2:
        return lines
    agree = []
    for metric in RANKED_METRICS:
        differing = _differing_sentences(found, table, models, metric)
        order = _order_sentence(table, models, metric)
        differing += [order] if order else []
        lines += differing
        if not differing:
            agree.append(RANKED_METRICS[metric])
    if agree:
        lines.append(
            f"On {' and '.join(agree)} the models agree: of the methods every model ran, the "
            f"same beat IG and the best baseline, and the same top {TOP} lead by point value."
        )
    return lines


def skipped_lines(table: pd.DataFrame) -> list[str]:
    """One line per model and reason: the methods it skipped ("crnn: FW-WS, FW-SS skipped
    (needs CNN14's framewise heads ...)")."""
    skipped = table[table["status"] == SKIPPED].drop_duplicates(["model", "method"])
    lines = []
    for (model, reason), rows in skipped.groupby(["model", "reason"], sort=False):
        lines.append(f"{model}: {_labels(list(rows['method']))} skipped ({reason}).")
    return lines


def _cell(record: Mapping[str, Any], first: bool) -> str:
    if record["status"] == SKIPPED:
        return f"{NOT_AVAILABLE} (skipped: {record['reason']})" if first else NOT_AVAILABLE
    if record["status"] == NOT_MEASURED:
        return "—"
    value = format_number(record["value"])
    if value == NOT_AVAILABLE:
        return value
    return f"{value} [{format_number(record['ci_low'])}, {format_number(record['ci_high'])}]"


def table_markdown(table: pd.DataFrame) -> str:
    """Methods down, one column group (MODEL_METRICS) per model."""
    models = list(dict.fromkeys(table["model"]))
    header = ["Method"] + [f"{m} {METRIC_LABELS[k]}" for m in models for k in MODEL_METRICS]
    records = {(r["model"], r["method"], r["metric"]): r for r in table.to_dict("records")}
    rows = []
    for method in dict.fromkeys(table["method"]):
        row = [method_label(method)]
        for model in models:
            for index, metric in enumerate(MODEL_METRICS):
                record = records.get((model, method, metric))
                row.append("—" if record is None else _cell(record, index == 0))
        rows.append(row)
    return markdown_table(header, rows)


def models_markdown(table: pd.DataFrame, found: Sequence[Comparison], level: str) -> str:
    """The model × method section: table, skipped methods, ranking lines, links (relative
    to the report folder, where MODELS_STEM's files lie)."""
    parts = [
        f"Each model's test figures with their {level} bootstrap intervals over the test clips "
        "(sanity: over the sanity subset's clips); ↓: lower is better. —: the metric does not "
        "apply to the method on that model; n/a: no figure. Long format: "
        f"[{MODELS_STEM}.csv]({MODELS_STEM}.csv).\n",
        table_markdown(table),
    ]
    skipped = skipped_lines(table)
    if skipped:
        parts.append("".join(f"- {line}\n" for line in skipped))
    parts.append(
        "Rankings, generated from the paired intervals: a method beats a reference only where "
        "the interval of its difference excludes 0.\n"
    )
    parts.append("".join(f"- {line}\n" for line in ranking_lines(table, found)))
    parts.append(
        f"![Model × method forest plot]({MODELS_STEM}.png)\n[SVG version]({MODELS_STEM}.svg)\n"
    )
    return "\n".join(parts)


def models_figure(table: pd.DataFrame) -> Figure:
    """Per metric a panel, methods on the y axis, one marker and interval per model."""
    measured = table[table["value"].notna()]
    if measured.empty:
        return empty_figure("No figure of any model: nothing to draw.")
    models = list(dict.fromkeys(table["model"]))
    methods = list(dict.fromkeys(table["method"]))
    fig = Figure(figsize=(3.2 * len(MODEL_METRICS), 1.4 + 0.4 * len(methods)))
    axes = fig.subplots(1, len(MODEL_METRICS), sharey=True)
    positions = np.arange(len(methods))[::-1].astype(float)
    offsets = (np.arange(len(models)) - (len(models) - 1) / 2) * min(0.6 / len(models), 0.2)
    colors = method_colors(models)
    y_of = dict(zip(methods, positions, strict=True))
    for ax, metric in zip(axes, MODEL_METRICS, strict=True):
        for index, model in enumerate(models):
            rows = measured[(measured["model"] == model) & (measured["metric"] == metric)]
            # The first model's marker on top, as the legend lists it.
            y = rows["method"].map(y_of).to_numpy() - offsets[index]
            value = rows["value"].to_numpy()
            error = np.vstack([value - rows["ci_low"], rows["ci_high"] - value])
            ax.errorbar(
                value,
                y,
                xerr=np.nan_to_num(np.abs(error)),
                fmt=_MARKERS[index % len(_MARKERS)],
                color=colors[model],
                capsize=3,
                label=model,
            )
        ax.set_title(METRIC_LABELS[metric])
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(positions)
    axes[0].set_yticklabels([method_label(m) for m in methods])
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    fig.suptitle("Test figures per model (bootstrap intervals; no marker: skipped or n/a)")
    fig.tight_layout()
    return fig


def write_models_outputs(
    models: Mapping[str, ModelResults],
    settings: BootstrapSettings,
    out_dir: Path,
    methods: Sequence[str] = (),
    level: str = "95 %",
) -> str:
    """Write models.csv, models.md and models.png/.svg into `out_dir`; the markdown body
    (the summary's Models section) is returned."""
    path = Path(out_dir) / f"{MODELS_STEM}.csv"
    write_models_table(model_table(models, settings, methods), path)
    # Rendered from the file, so the markdown shows the CSV's (rounded) figures.
    table = read_models_table(path)
    body = models_markdown(table, comparisons(models), level)
    write_text(Path(out_dir) / f"{MODELS_STEM}.md", f"# Models × methods\n\n{body}")
    save_figure(models_figure(table), Path(out_dir), MODELS_STEM)
    logger.info("wrote the model × method table of %s to %s", ", ".join(models), out_dir)
    return body
