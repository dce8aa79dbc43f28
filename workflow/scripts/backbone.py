"""Rule backbone: download the PANNs CNN14 or pretrain one here, then freeze it."""

import sys
from pathlib import Path

# Rules may run in a conda env without igsed installed: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import torch  # noqa: E402

from igsed.backbone import build_backbone  # noqa: E402
from igsed.logs import log_to_file  # noqa: E402

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
build_backbone(
    Path(snakemake.output.weights),
    Path(snakemake.output.meta),
    pretrained=snakemake.params.pretrained,
    width=snakemake.params.width,
    device=snakemake.params.device,
    panns=dict(snakemake.params.panns),
    downloads_dir=Path(snakemake.params.downloads),
    pretrain_chunk_dirs=[Path(p) for p in snakemake.input.pretrain],
    pretrain=dict(snakemake.params.pretrain),
)
