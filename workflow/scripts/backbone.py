"""Rule backbone: download the PANNs CNN14 or pretrain one here, then freeze it."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.threads import fix_threads
from igsed.training.backbone import BackboneSettings, backbone

log_to_file(snakemake.log[0])
fix_threads(snakemake.params.threads)
settings = BackboneSettings.from_config(
    {
        "pretrained": snakemake.params.pretrained,
        "width": snakemake.params.width,
        "device": snakemake.params.device,
        "panns": dict(snakemake.params.panns),
        "pretrain": dict(snakemake.params.pretrain),
    }
)
backbone(
    Path(snakemake.output.weights),
    Path(snakemake.output.meta),
    settings,
    downloads_dir=Path(snakemake.params.downloads),
    pretrain_chunk_dirs=[Path(p) for p in snakemake.input.pretrain],
)
