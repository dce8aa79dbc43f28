"""Rule train_head: one of the clip, FW-WS and FW-SS heads on the feature cache."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.training.train_head import train_head

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
train_head(
    snakemake.wildcards.head,
    Path(snakemake.input.train),
    Path(snakemake.input.val),
    Path(snakemake.input.backbone),
    Path(snakemake.output.weights),
    Path(snakemake.output.log_table),
    **dict(snakemake.params.settings),
)
