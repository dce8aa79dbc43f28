"""Rule train_head: one of the clip, FW-WS and FW-SS heads on the feature cache."""

from pathlib import Path

import torch

from igsed.core.logs import log_to_file
from igsed.training.train_head import train_head

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
train_head(
    snakemake.wildcards.head,
    Path(snakemake.input.train),
    Path(snakemake.input.val),
    Path(snakemake.input.backbone),
    Path(snakemake.output.weights),
    Path(snakemake.output.log_table),
    **dict(snakemake.params.settings),
)
