"""Rule faithfulness: one method's deletion and insertion curves on the test instances."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.faithfulness.faithfulness import FaithfulnessJob, FaithfulnessSettings, faithfulness

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
job = FaithfulnessJob(
    method=snakemake.wildcards.method,
    method_params=snakemake.params.method,
    manifest=Path(snakemake.input.manifest),
    instances=Path(snakemake.input.instances),
    shards=tuple(Path(path) for path in snakemake.input.shards),
    backbone=Path(snakemake.input.backbone),
    clip_head=Path(snakemake.input.clip_head),
    curves=Path(snakemake.output.curves),
    areas=Path(snakemake.output.areas),
)
faithfulness(job, FaithfulnessSettings.from_config(snakemake.params.faithfulness))
