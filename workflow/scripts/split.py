"""Checkpoint split: polyphony filter, val/test split and the manifests."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.synthesis.split import split

log_to_file(snakemake.log[0])
split(
    [Path(p) for p in snakemake.input.train],
    [Path(p) for p in snakemake.input.evalpool],
    max_polyphony=snakemake.params.max_polyphony,
    seed=snakemake.params.seed,
    manifest_path=Path(snakemake.output.manifest),
    events_path=Path(snakemake.output.events),
    summary_path=Path(snakemake.output.summary),
)
