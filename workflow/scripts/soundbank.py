"""Rule soundbank: build resources/soundbank/<source>/ in DESED's layout."""

import sys
from pathlib import Path

# Rules may run in a conda env without igsed installed: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from igsed.logs import log_to_file  # noqa: E402
from igsed.soundbank import build_soundbank  # noqa: E402

log_to_file(snakemake.log[0])
build_soundbank(
    snakemake.wildcards.source,
    Path(snakemake.output[0]),
    settings=dict(snakemake.params.settings),
    downloads_dir=Path(snakemake.params.downloads),
)
