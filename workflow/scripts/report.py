"""Rule report: results/report/summary.md beside the paper's numbers."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.evaluation.models import model_results
from igsed.evaluation.report import ReportInputs, report

log_to_file(snakemake.log[0])
inputs = snakemake.input
# Every model's results on main (model_* inputs, in the order of params.models), when the
# rule passes them: models.csv/.md/.png/.svg beside the summary, a Models section with two.
models = None
if snakemake.params.get("models"):
    models = model_results(
        snakemake.params.models,
        inputs.model_intervals,
        inputs.model_differences,
        inputs.model_sed_view,
        inputs.model_sed_view_differences,
        inputs.model_sanity,
        snakemake.params.skipped,
    )
report(
    Path(snakemake.output.summary),
    ReportInputs(
        table1_csv=Path(inputs.table1),
        table2_csv=Path(inputs.table2),
        table3_csv=Path(inputs.table3),
        tau_star_json=Path(inputs.tau_star),
        convergence_json=Path(inputs.convergence),
        intervals_csv=Path(inputs.intervals),
        differences_csv=Path(inputs.differences),
        sed_view_csv=Path(inputs.sed_view),
        # the first model's sanity/{method}.csv, in the order of attribution.run
        sanity={Path(p).stem: Path(p) for p in inputs.sanity},
        split_summary_json=Path(inputs.split_summary),
        backbone_meta_json=Path(inputs.backbone_meta[0]) if inputs.backbone_meta else None,
        figures=[Path(p) for p in inputs.figures],
        conditions_md=Path(inputs.conditions[0]) if inputs.conditions else None,
        models=models,
    ),
    config=dict(snakemake.params.config),
    details_path=Path(snakemake.output.details),
)
