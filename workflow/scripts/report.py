"""Rule report: results/report/summary.md beside the paper's numbers."""

import sys
from pathlib import Path

# Rules may run in a conda env without igsed installed: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from igsed.logs import log_to_file  # noqa: E402
from igsed.report import write_summary  # noqa: E402

log_to_file(snakemake.log[0])
write_summary(
    Path(snakemake.output[0]),
    table1_csv=Path(snakemake.input.table1),
    table2_csv=Path(snakemake.input.table2),
    table3_csv=Path(snakemake.input.table3),
    tau_star_json=Path(snakemake.input.tau_star),
    convergence_json=Path(snakemake.input.convergence),
    split_summary_json=Path(snakemake.input.split_summary),
    backbone_meta_json=Path(snakemake.input.backbone_meta),
    config=dict(snakemake.params.config),
    figures=[Path(p) for p in snakemake.input.figures],
)
