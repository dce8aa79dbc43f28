"""Rule figure_clip: the clips whose shards keep full-resolution signed IG."""

from pathlib import Path

from igsed.attribution.figure_clip import choose_figure_clip
from igsed.core.atomic import write_json
from igsed.core.logs import log_to_file

log_to_file(snakemake.log[0])
chosen = choose_figure_clip(Path(snakemake.input.manifest), Path(snakemake.input.events))
clips = list(dict.fromkeys([chosen, *snakemake.params.signed_clips]))
write_json(snakemake.output[0], {"figure_clip": chosen, "signed_clips": clips})
