"""Rule attribute: IG, FW-WS, FW-SS, energy and random frame scores of one shard."""

from pathlib import Path

import torch

from igsed.attribution.attribute import AttributeSettings, ModelFiles, ShardJob, attribute
from igsed.core.logs import log_to_file

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
job = ShardJob(
    clip_ids=tuple(snakemake.params.clip_ids),
    split=snakemake.wildcards.eval_split,
    manifest=Path(snakemake.input.manifest),
    events=Path(snakemake.input.events),
    models=ModelFiles(
        backbone=Path(snakemake.input.backbone),
        clip_head=Path(snakemake.input.clip_head),
        fw_weak=Path(snakemake.input.fw_weak),
        fw_strong=Path(snakemake.input.fw_strong),
    ),
    out_path=Path(snakemake.output[0]),
    signed_clips=tuple(snakemake.params.signed_clips),
)
settings = AttributeSettings.from_config(
    {
        "ig": snakemake.params.ig,
        "threshold": snakemake.params.threshold,
        "random_seed": snakemake.params.random_seed,
        "device": snakemake.params.device,
    }
)
attribute(job, settings)
