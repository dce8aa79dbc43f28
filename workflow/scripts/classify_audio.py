"""Rule classify_audio: clip probabilities for val/test of a model that is not a CNN14."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.training.models import classify_audio

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
classify_audio(
    Path(snakemake.input.manifest),
    Path(snakemake.input.events),
    {"classifier": Path(snakemake.input.classifier)},
    {
        "val": Path(snakemake.output.probabilities_val),
        "test": Path(snakemake.output.probabilities_test),
    },
    device=snakemake.params.device,
)
