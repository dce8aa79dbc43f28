"""Rule report: results/report/summary.md beside the paper's numbers."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.evaluation.report import report

log_to_file(snakemake.log[0])
report(
    Path(snakemake.output[0]),
    table1_csv=Path(snakemake.input.table1),
    table2_csv=Path(snakemake.input.table2),
    table3_csv=Path(snakemake.input.table3),
    tau_star_json=Path(snakemake.input.tau_star),
    convergence_json=Path(snakemake.input.convergence),
    intervals_csv=Path(snakemake.input.intervals),
    differences_csv=Path(snakemake.input.differences),
    split_summary_json=Path(snakemake.input.split_summary),
    backbone_meta_json=Path(snakemake.input.backbone_meta),
    config=dict(snakemake.params.config),
    figures=[Path(p) for p in snakemake.input.figures],
)
