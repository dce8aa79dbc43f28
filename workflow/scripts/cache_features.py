"""Rule cache_features: frozen-backbone frame features of one split."""

import sys
from pathlib import Path

# Rules may run in a conda env without igsed installed: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import torch  # noqa: E402

from igsed.features import cache_features  # noqa: E402
from igsed.logs import log_to_file  # noqa: E402

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
cache_features(
    Path(snakemake.input.manifest),
    Path(snakemake.input.events),
    snakemake.wildcards.split,
    Path(snakemake.input.backbone),
    Path(snakemake.output[0]),
    batch_size=snakemake.params.batch_size,
    device=snakemake.params.device,
)
