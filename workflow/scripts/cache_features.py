"""Rule cache_features: frozen-backbone frame features of one split."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.training.cache_features import cache_features

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
cache_features(
    Path(snakemake.input.manifest),
    Path(snakemake.input.events),
    snakemake.wildcards.split,
    Path(snakemake.input.backbone),
    Path(snakemake.output[0]),
    batch_size=snakemake.params.batch_size,
    device=snakemake.params.device,
)
