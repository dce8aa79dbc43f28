"""Rule table1: Table I, the clip classifier on the test split at classify.threshold."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.training.classify import table1

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
table1(
    Path(snakemake.input.test),
    Path(snakemake.input.backbone),
    Path(snakemake.input.head),
    Path(snakemake.output.table_csv),
    Path(snakemake.output.table_md),
    threshold=snakemake.params.threshold,
)
