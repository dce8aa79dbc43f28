"""Rule conditions: the table and figure of every method's metrics across test conditions."""

from pathlib import Path

from igsed.conditions.compare import ComparisonJob, ConditionResults, compare_conditions
from igsed.core.logs import log_to_file

log_to_file(snakemake.log[0])
# rules/common.smk lists the inputs in the order of the descriptions (main first).
descriptions = dict(snakemake.params.conditions)
compare_conditions(
    ComparisonJob(
        conditions=[
            ConditionResults(name, dict(description), Path(intervals), Path(summary))
            for (name, description), intervals, summary in zip(
                descriptions.items(),
                snakemake.input.intervals,
                snakemake.input.summaries,
                strict=True,
            )
        ],
        methods=list(snakemake.params.methods),
        table_csv=Path(snakemake.output.table_csv),
        table_md=Path(snakemake.output.table_md),
        figure_dir=Path(snakemake.output.figures[0]).parent,
    )
)
