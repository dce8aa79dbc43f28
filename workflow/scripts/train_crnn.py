"""Rule train_crnn: a CRNN (model kind crnn) trained on the train split's clip labels."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.training.models import train_crnn_model

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
train_crnn_model(
    Path(snakemake.input.manifest),
    Path(snakemake.input.events),
    Path(snakemake.output.weights),
    Path(snakemake.output.log_table),
    shape=dict(snakemake.params.shape),
    training=dict(snakemake.params.training),
)
