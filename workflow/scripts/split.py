"""Checkpoint split: polyphony filter, val/test split and the manifests."""

import sys
from pathlib import Path

# Rules may run in a conda env without igsed installed: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from igsed.logs import log_to_file  # noqa: E402
from igsed.split import make_split  # noqa: E402

log_to_file(snakemake.log[0])
make_split(
    [Path(p) for p in snakemake.input.train],
    [Path(p) for p in snakemake.input.evalpool],
    max_polyphony=snakemake.params.max_polyphony,
    seed=snakemake.params.seed,
    manifest_path=Path(snakemake.output.manifest),
    events_path=Path(snakemake.output.events),
    summary_path=Path(snakemake.output.summary),
)
