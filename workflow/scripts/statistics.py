"""Rule statistics: bootstrap intervals of every test metric and paired differences."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.statistics import BootstrapSettings
from igsed.evaluation.statistics import StatisticsJob, statistics

log_to_file(snakemake.log[0])
statistics(
    StatisticsJob(
        instances_csv=Path(snakemake.input.instances),
        manifest=Path(snakemake.input.manifest),
        # rules/common.smk lists the areas in the order of attribution.run
        faithfulness={Path(path).parent.name: Path(path) for path in snakemake.input.faithfulness},
        robustness={Path(path).stem: Path(path) for path in snakemake.input.robustness},
        agreement={Path(path).stem: Path(path) for path in snakemake.input.agreement},
        intervals_csv=Path(snakemake.output.intervals),
        differences_csv=Path(snakemake.output.differences),
    ),
    BootstrapSettings(**snakemake.params.bootstrap),
)
