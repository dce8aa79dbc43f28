"""Rule conditions: the table and figure of every method's metrics across test conditions."""

from pathlib import Path

from igsed.conditions.compare import ComparisonJob, ConditionResults, compare_conditions
from igsed.core.logs import log_to_file

log_to_file(snakemake.log[0])
# rules/common.smk lists the inputs in the order of the descriptions (main first).
descriptions = dict(snakemake.params.conditions)
# Each condition's Table III, for its instances per class; a rule without that input
# gives a comparison without the count.
table3 = snakemake.input.get("table3") or [None] * len(descriptions)
compare_conditions(
    ComparisonJob(
        conditions=[
            ConditionResults(
                name,
                dict(description),
                Path(intervals),
                Path(summary),
                Path(counts) if counts else None,
            )
            for (name, description), intervals, summary, counts in zip(
                descriptions.items(),
                snakemake.input.intervals,
                snakemake.input.summaries,
                table3,
                strict=True,
            )
        ],
        methods=list(snakemake.params.methods),
        table_csv=Path(snakemake.output.table_csv),
        table_md=Path(snakemake.output.table_md),
        figure_dir=Path(snakemake.output.figures[0]).parent,
    )
)
