"""Rules soundbank and soundbank_condition: a soundbank in DESED's layout."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.soundbank.soundbank import soundbank

log_to_file(snakemake.log[0])
soundbank(
    snakemake.params.source,
    Path(snakemake.output[0]),
    settings=dict(snakemake.params.settings),
    downloads_dir=Path(snakemake.params.downloads),
    eval_only=snakemake.params.eval_only,
)
