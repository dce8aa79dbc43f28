"""Rule attribute: IG, FW-WS, FW-SS, energy and random frame scores of one shard."""

import sys
from pathlib import Path

# Rules may run in a conda env without igsed installed: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import torch  # noqa: E402

from igsed.attribution.shard import attribute_shard  # noqa: E402
from igsed.formats.atomic import read_json  # noqa: E402
from igsed.logs import log_to_file  # noqa: E402

log_to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
ig = dict(snakemake.params.ig)
attribute_shard(
    list(snakemake.params.clip_ids),
    manifest_path=Path(snakemake.input.manifest),
    events_path=Path(snakemake.input.events),
    backbone_path=Path(snakemake.input.backbone),
    clip_head_path=Path(snakemake.input.clip_head),
    fw_weak_path=Path(snakemake.input.fw_weak),
    fw_strong_path=Path(snakemake.input.fw_strong),
    out_path=Path(snakemake.output[0]),
    split=snakemake.wildcards.eval_split,
    threshold=snakemake.params.threshold,
    n_steps=ig["n_steps"],
    method=ig["method"],
    internal_batch_size=ig["internal_batch_size"],
    engine=ig["engine"],
    memory_budget_mb=ig["memory_budget_mb"],
    random_seed=snakemake.params.random_seed,
    figure_clips=read_json(snakemake.input.figure_clips)["keep_signed"],
    device=snakemake.params.device,
)
