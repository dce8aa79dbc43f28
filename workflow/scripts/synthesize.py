"""Rule synthesize: one chunk of Scaper soundscapes of one pool."""

from pathlib import Path

from igsed.core.atomic import atomic_dir
from igsed.core.logs import log_to_file
from igsed.synthesis.synthesize import SynthesisSettings, chunk_indices, synthesize

log_to_file(snakemake.log[0])
chunk = int(snakemake.wildcards.chunk)
with atomic_dir(snakemake.output[0]) as out_dir:
    synthesize(
        Path(snakemake.input.soundbank),
        snakemake.wildcards.pool,
        out_dir,
        indices=chunk_indices(snakemake.params.n_clips, snakemake.params.chunks, chunk),
        seed=snakemake.params.seed,
        settings=SynthesisSettings.from_config(dict(snakemake.params.settings)),
    )
