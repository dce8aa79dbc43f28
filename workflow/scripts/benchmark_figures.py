"""Rule benchmark_figures: the forest plot, deletion/insertion curves and sanity curves."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.evaluation.benchmark_figures import BenchmarkFigureInputs, benchmark_figures

log_to_file(snakemake.log[0])
benchmark_figures(
    BenchmarkFigureInputs(
        intervals_csv=Path(snakemake.input.intervals),
        # results/faithfulness/{method}/curves.csv and results/sanity/{method}.csv
        faithfulness_curves={Path(p).parent.name: Path(p) for p in snakemake.input.faithfulness},
        sanity={Path(p).stem: Path(p) for p in snakemake.input.sanity},
        flag_correlation=snakemake.params.flag_correlation,
    ),
    snakemake.params.methods,
    Path(snakemake.output[0]).parent,
)
