"""Rule classify: clip probabilities for val/test and Table I."""

import sys
from pathlib import Path

# Rules may run in a conda env without igsed installed: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import torch  # noqa: E402

from igsed.classify import classify  # noqa: E402
from igsed.logs import log_to_file  # noqa: E402

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
classify(
    caches={"val": Path(snakemake.input.val), "test": Path(snakemake.input.test)},
    backbone_path=Path(snakemake.input.backbone),
    head_path=Path(snakemake.input.head),
    out_probabilities={
        "val": Path(snakemake.output.probabilities_val),
        "test": Path(snakemake.output.probabilities_test),
    },
    table_csv=Path(snakemake.output.table_csv),
    table_md=Path(snakemake.output.table_md),
    threshold=snakemake.params.threshold,
)
