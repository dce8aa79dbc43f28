"""Rule train_head: one of the clip, FW-WS and FW-SS heads on the feature cache."""

import sys
from pathlib import Path

# Rules may run in a conda env without igsed installed: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import torch  # noqa: E402

from igsed.logs import log_to_file  # noqa: E402
from igsed.training import train_head  # noqa: E402

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
