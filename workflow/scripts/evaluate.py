"""Rule evaluate: percentile sweep on val, tau*, Tables II and III on test."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.evaluation.evaluate import evaluate
from igsed.formats.shards import MODEL_ROLES, ShardExpectation

log_to_file(snakemake.log[0])
metrics = dict(snakemake.params.metrics)
evaluate(
    [Path(p) for p in snakemake.input.val],
    [Path(p) for p in snakemake.input.test],
    Path(snakemake.output.table2_csv).parent,
    expected_clips={k: list(v) for k, v in dict(snakemake.params.expected).items()},
    tau_range=tuple(metrics["tau"]),
    threshold=snakemake.params.threshold,
    count_false_positives=metrics["count_false_positives"],
    fw_detections=metrics["fw_detections"],
    shards_made_with=ShardExpectation.of(
        {role: snakemake.input[role] for role in MODEL_ROLES}, snakemake.params.shard_settings
    ),
)
