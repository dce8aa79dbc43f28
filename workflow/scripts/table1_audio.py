"""Rule table1_audio: Table I of a model that is not a CNN14, at classify.threshold."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.training.models import table1_audio

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
table1_audio(
    Path(snakemake.input.manifest),
    Path(snakemake.input.events),
    {"classifier": Path(snakemake.input.classifier)},
    Path(snakemake.output.table_csv),
    Path(snakemake.output.table_md),
    threshold=snakemake.params.threshold,
)
