"""Rule figures: Fig. 2, Fig. 3 and the per-class IoU bars."""

import sys
from pathlib import Path

# Rules may run in a conda env without igsed installed: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from igsed.figures import make_figures  # noqa: E402
from igsed.formats.atomic import read_json  # noqa: E402
from igsed.logs import log_to_file  # noqa: E402

log_to_file(snakemake.log[0])
make_figures(
    [Path(p) for p in snakemake.input.test],
    Path(snakemake.input.manifest),
    Path(snakemake.input.events),
    Path(snakemake.input.sweep_val),
    Path(snakemake.input.sweep_test),
    Path(snakemake.input.tau_star),
    Path(snakemake.input.table3),
    Path(snakemake.output[0]).parent,
    figure_clip=read_json(snakemake.input.figure_clips)["figure_clip"],
)
