"""Rule faithfulness: one method's deletion and insertion curves on the test instances."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.faithfulness.faithfulness import FaithfulnessJob, FaithfulnessSettings, faithfulness
from igsed.formats.shards import MODEL_ROLES

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
job = FaithfulnessJob(
    method=snakemake.wildcards.method,
    method_params=snakemake.params.method,
    manifest=Path(snakemake.input.manifest),
    instances=Path(snakemake.input.instances),
    shards=tuple(Path(path) for path in snakemake.input.shards),
    # The clip classifier's files by role (rule input names: MODEL_ROLES).
    models={role: Path(path) for role, path in snakemake.input.items() if role in MODEL_ROLES},
    curves=Path(snakemake.output.curves),
    areas=Path(snakemake.output.areas),
)
faithfulness(job, FaithfulnessSettings.from_config(snakemake.params.faithfulness))
