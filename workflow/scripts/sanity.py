"""Rule sanity: one gradient or layer method under cascading model randomisation."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.formats.shards import MODEL_ROLES
from igsed.sanity.sanity import SanityJob, SanitySettings, sanity

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
inputs = dict(snakemake.input.items())
job = SanityJob(
    method=snakemake.wildcards.method,
    manifest=Path(inputs["manifest"]),
    # The clip classifier's files by role: backbone and clip_head, or classifier.
    models={role: Path(inputs[role]) for role in MODEL_ROLES if role in inputs},
    instances=Path(inputs["instances"]),
    out_path=Path(snakemake.output.table),
    robustness_path=Path(snakemake.output.robustness),
)
sanity(job, SanitySettings.from_config(snakemake.params.sanity), snakemake.params.method)
