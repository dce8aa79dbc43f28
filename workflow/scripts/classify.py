"""Rule classify: clip probabilities for val/test (what rule instances reads)."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.training.classify import classify

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
classify(
    caches={"val": Path(snakemake.input.val), "test": Path(snakemake.input.test)},
    backbone_path=Path(snakemake.input.backbone),
    head_path=Path(snakemake.input.head),
    out_probabilities={
        "val": Path(snakemake.output.probabilities_val),
        "test": Path(snakemake.output.probabilities_test),
    },
)
