# Shared helpers for every stage: config validation, input functions, code versions.
import os
import sys
from pathlib import Path

import yaml
from snakemake.utils import validate

SRC_ROOT = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC_ROOT)
from igsed.pipeline import environment  # noqa: E402
from igsed.pipeline.code_digest import code_digest  # noqa: E402
from igsed.pipeline.config import coerce_command_line, config_errors  # noqa: E402
from igsed.formats.manifest import read_clip_ids, shard_assignment  # noqa: E402

# Every job finds igsed through PYTHONPATH (no per-script sys.path preamble).
environment.export_src_path(SRC_ROOT)
environment.prefer_passive_openmp()

SCHEMA = "../workflow/schemas/config.schema.yaml"
SRC = Path(workflow.basedir) / "src" / "igsed"
SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"


def validate_config():
    """Fail before any job runs, naming each bad key and what it allows."""
    coerce_command_line(config, workflow.config_settings.overwrite_config)
    schema_path = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
    with open(schema_path) as handle:
        schema = yaml.safe_load(handle)
    problems = config_errors(config, schema)
    if problems:
        raise WorkflowError(
            "invalid configuration:\n  - "
            + "\n  - ".join(problems)
            + f"\n(schema: {schema_path})"
        )
    validate(config, SCHEMA)


validate_config()


def code_version(script):
    """Digest of a rule's script and every src/igsed module it can import.

    Snakemake tracks a rule's script and params, not the modules the script imports;
    passing this digest as a param makes a code change in src/igsed re-run the stage.
    """
    return code_digest(SCRIPTS / script, SRC.parent)


SOURCE = config["soundbank"]["source"]
SOUNDBANK = f"resources/soundbank/{SOURCE}"
CHUNKS = list(range(config["synthesis"]["chunks"]))
POOLS = ("pretrain", "train", "evalpool")
HEADS = ("clip", "fw_weak", "fw_strong")
EVAL_SPLITS = ("val", "test")
FIGURES = ("fig2_attribution", "fig3_threshold", "per_class_iou")


def chunk_dirs(pool):
    return [f"results/synthesis/{pool}/chunk_{chunk}" for chunk in CHUNKS]


def pretrain_inputs(wildcards):
    if config["backbone"]["pretrained"] == "pipeline":
        return chunk_dirs("pretrain")
    return []


def split_clip_ids(split):
    """Clip ids of a split, known once the split checkpoint has run."""
    return read_clip_ids(checkpoints.split.get().output.manifest, split)


def split_shards(split):
    return shard_assignment(
        split_clip_ids(split), config["attribution"]["clips_per_shard"]
    )


def shard_files(split):
    return [f"results/attribution/{split}/{shard}.h5" for shard in split_shards(split)]


def expected_clips(wildcards):
    return {split: split_clip_ids(split) for split in EVAL_SPLITS}


def figure_paths():
    return [
        f"results/figures/{name}.{ext}" for name in FIGURES for ext in ("png", "svg")
    ]


def attribution_runtime(wildcards):
    """Minutes one attribution shard may take on a CPU node (SLURM sums them per group job)."""
    minutes_per_clip = 15 if config["backbone"]["width"] > 0.5 else 3
    return 5 + minutes_per_clip * config["attribution"]["clips_per_shard"]


def gpus(device):
    """GPUs a job asks the scheduler for: one only when the config insists on CUDA."""
    return 1 if device == "cuda" else 0


def default_targets():
    return ["results/report/summary.md"] + figure_paths()
