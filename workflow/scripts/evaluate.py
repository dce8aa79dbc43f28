"""Rule evaluate: percentile sweep on val, tau*, Tables II and III on test, every method."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.evaluation.evaluate import EvaluationInputs, MetricSettings, evaluate
from igsed.evaluation.scores import ShardSet
from igsed.formats.shards import MODEL_ROLES

log_to_file(snakemake.log[0])
inputs = dict(snakemake.input.items())
instances = {split: Path(inputs[f"instances_{split}"]) for split in ("val", "test")}
shards = ShardSet.for_run(
    snakemake.params.shards,
    models={role: inputs[role] for role in MODEL_ROLES if role in inputs},
    method_params=snakemake.params.methods,
    instances=instances,
)
evaluate(
    EvaluationInputs(
        shards=shards,
        instances=instances,
        events=Path(snakemake.input.events),
        # Its valid lengths: padded frames of short recordings are excluded from every metric.
        manifest=Path(snakemake.input.manifest),
        expected_clips=dict(snakemake.params.expected),
    ),
    MetricSettings.from_config(snakemake.params.metrics, snakemake.params.threshold),
    Path(snakemake.output.table2_csv).parent,
)
