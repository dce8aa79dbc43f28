"""Rule register_model: a user's model (kind torchscript or python), checked and recorded."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.training.models import register_model

log_to_file(snakemake.log[0])
register_model(snakemake.wildcards.model, dict(snakemake.params.spec), Path(snakemake.output[0]))
