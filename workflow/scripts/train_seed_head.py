"""Rule train_seed_head: the clip head again, from an agreement seed (the seed agreement's)."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.training.train_head import train_head

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
train_head(
    "clip",
    Path(snakemake.input.train),
    Path(snakemake.input.val),
    Path(snakemake.input.backbone),
    Path(snakemake.output.weights),
    Path(snakemake.output.log_table),
    **{**dict(snakemake.params.settings), "seed": int(snakemake.wildcards.seed)},
)
