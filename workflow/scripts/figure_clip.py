"""Rule figure_clip: the clips whose shards keep full-resolution signed IG."""

import sys
from pathlib import Path

# Rules may run in a conda env without igsed installed: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from igsed.figure_clip import choose_figure_clip  # noqa: E402
from igsed.formats.atomic import write_json  # noqa: E402
from igsed.logs import log_to_file  # noqa: E402

log_to_file(snakemake.log[0])
chosen = choose_figure_clip(Path(snakemake.input.manifest), Path(snakemake.input.events))
clips = list(dict.fromkeys([chosen, *snakemake.params.figure_clips]))
write_json(snakemake.output[0], {"figure_clip": chosen, "keep_signed": clips})
