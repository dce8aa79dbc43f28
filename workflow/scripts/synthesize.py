"""Rule synthesize: one chunk of Scaper soundscapes of one pool."""

import sys
from pathlib import Path

# Rules may run in a conda env without igsed installed: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from igsed.formats.atomic import atomic_dir  # noqa: E402
from igsed.logs import log_to_file  # noqa: E402
from igsed.synthesis import SynthesisSettings, chunk_indices, synthesize_chunk  # noqa: E402

log_to_file(snakemake.log[0])
chunk = int(snakemake.wildcards.chunk)
with atomic_dir(snakemake.output[0]) as out_dir:
    synthesize_chunk(
        Path(snakemake.input.soundbank),
        snakemake.wildcards.pool,
        out_dir,
        indices=chunk_indices(snakemake.params.n_clips, snakemake.params.chunks, chunk),
        seed=snakemake.params.seed,
        settings=SynthesisSettings.from_config(dict(snakemake.params.settings)),
    )
