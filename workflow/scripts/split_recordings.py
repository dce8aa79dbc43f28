"""Checkpoint split_recordings: a condition's real recordings and strong labels as its split."""

from pathlib import Path

from igsed.conditions.recordings import RecordingsSpec, build_recordings_split
from igsed.core.logs import log_to_file

log_to_file(snakemake.log[0])
spec = RecordingsSpec.from_config(
    dict(snakemake.params.recordings), default_seed=snakemake.params.seed
)
build_recordings_split(
    spec,
    audio_dir=Path(snakemake.output.clips),
    manifest_path=Path(snakemake.output.manifest),
    events_path=Path(snakemake.output.events),
    summary_path=Path(snakemake.output.summary),
)
