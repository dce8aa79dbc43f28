"""Rule figures: Fig. 2 (every method on one clip), Fig. 3 and the per-class IoU bars."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.evaluation.figures import figures
from igsed.evaluation.scores import ShardSet
from igsed.formats.shards import MODEL_ROLES

log_to_file(snakemake.log[0])
inputs = dict(snakemake.input.items())
shards = ShardSet.for_run(
    snakemake.params.shards,
    models={role: inputs[role] for role in MODEL_ROLES if role in inputs},
    method_params=snakemake.params.methods,
    instances={"val": inputs["instances_val"], "test": inputs["instances_test"]},
)
figures(
    shards,
    Path(snakemake.input.tau_star).parent,
    manifest_path=Path(snakemake.input.manifest),
    events_path=Path(snakemake.input.events),
    instances_test=Path(snakemake.input.instances_test),
    out_dir=Path(snakemake.output[0]).parent,
    figure_clip=snakemake.params.figure_clip,
)
