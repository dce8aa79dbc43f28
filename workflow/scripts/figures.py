"""Rule figures: Fig. 2, Fig. 3 and the per-class IoU bars."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.evaluation.figures import figures
from igsed.formats.shards import MODEL_ROLES, ShardExpectation

log_to_file(snakemake.log[0])
figures(
    [Path(p) for p in snakemake.input.test],
    Path(snakemake.input.manifest),
    Path(snakemake.input.events),
    Path(snakemake.input.sweep_val),
    Path(snakemake.input.sweep_test),
    Path(snakemake.input.tau_star),
    Path(snakemake.input.table3),
    Path(snakemake.output[0]).parent,
    figure_clip=snakemake.params.figure_clip,
    shards_made_with=ShardExpectation.of(
        {role: snakemake.input[role] for role in MODEL_ROLES}, snakemake.params.shard_settings
    ),
)
