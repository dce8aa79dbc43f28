"""Rule attribute: one method's frame scores of one shard of clips."""

from pathlib import Path

from igsed.attribution.attribute import AttributeSettings, ShardJob, attribute
from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.formats.shards import MODEL_ROLES

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
inputs = dict(snakemake.input.items())
job = ShardJob(
    method=snakemake.wildcards.method,
    clip_ids=tuple(snakemake.params.clip_ids),
    split=snakemake.wildcards.eval_split,
    manifest=Path(inputs["manifest"]),
    models={role: Path(inputs[role]) for role in MODEL_ROLES if role in inputs},
    out_path=Path(snakemake.output[0]),
    instances=Path(inputs["instances"]) if "instances" in inputs else None,
    signed_clips=tuple(snakemake.params.signed_clips),
)
attribute(job, AttributeSettings(params=snakemake.params.method, device=snakemake.params.device))
