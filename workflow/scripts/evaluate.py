"""Rule evaluate: percentile sweep on val, tau*, Tables II and III on test."""

import sys
from pathlib import Path

# Rules may run in a conda env without igsed installed: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from igsed.evaluate import evaluate  # noqa: E402
from igsed.logs import log_to_file  # noqa: E402

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
)
