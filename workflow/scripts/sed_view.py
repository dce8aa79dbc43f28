"""Rule sed_view: every method's test scores as a sound event detector's (sed_scores_eval)."""

from pathlib import Path

from igsed.core.logs import log_to_file
from igsed.core.statistics import BootstrapSettings
from igsed.evaluation.sed_view import SedViewJob, SedViewSettings, sed_view, sed_view_shards
from igsed.formats.shards import MODEL_ROLES

log_to_file(snakemake.log[0])
inputs = dict(snakemake.input.items())
sed_view(
    SedViewJob(
        shards=sed_view_shards(
            snakemake.params.shards,
            snakemake.params.methods,
            Path(snakemake.input.instances),
            models={role: inputs[role] for role in MODEL_ROLES if role in inputs},
        ),
        instances=Path(snakemake.input.instances),
        manifest=Path(snakemake.input.manifest),
        events=Path(snakemake.input.events),
        output=Path(snakemake.output.table),
        differences=Path(snakemake.output.differences),
    ),
    SedViewSettings.from_config(snakemake.params.sed_view),
    BootstrapSettings(**snakemake.params.bootstrap),
)
