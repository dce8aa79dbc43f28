"""Rule instances: the (clip, class) pairs every classifier-dependent method attributes."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.instances.instances import write_split_instances

log_to_file(snakemake.log[0])
write_split_instances(
    snakemake.wildcards.eval_split,
    probabilities_path=Path(snakemake.input.probabilities),
    manifest_path=Path(snakemake.input.manifest),
    events_path=Path(snakemake.input.events),
    out_path=Path(snakemake.output[0]),
    threshold=snakemake.params.threshold,
)
