"""Rule agreement: one gradient or layer method with clip heads retrained from other seeds."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.sanity.agreement import AgreementJob, agreement
from igsed.sanity.sanity import SanitySettings

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
job = AgreementJob(
    method=snakemake.wildcards.method,
    manifest=Path(snakemake.input.manifest),
    backbone=Path(snakemake.input.backbone),
    # rules/common.smk lists the trained head first, then one per agreement seed
    heads=[Path(path) for path in snakemake.input.heads],
    instances=Path(snakemake.input.instances),
    out_path=Path(snakemake.output[0]),
)
agreement(job, SanitySettings.from_config(snakemake.params.sanity), snakemake.params.method)
