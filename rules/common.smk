# Shared helpers for every stage: config validation, input functions, code versions.
import functools
import os
import sys
from pathlib import Path

from snakemake.utils import validate

SRC_ROOT = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC_ROOT)
from igsed.pipeline import environment  # noqa: E402
from igsed.pipeline.code_digest import code_digest  # noqa: E402
from igsed.pipeline.config import (
    coerce_command_line,
    config_errors,
    duplicate_key_errors,
)  # noqa: E402
from igsed.pipeline.schema import load_schema  # noqa: E402
from igsed.formats.manifest import (  # noqa: E402
    read_clip_ids,
    read_events,
    read_manifest,
    shard_assignment,
)
from igsed.attribution.figure_clip import signed_clips  # noqa: E402
from igsed.core.checksums import listing_digest  # noqa: E402
from igsed.soundbank.layout import AUDIO_SUFFIXES  # noqa: E402
from igsed.conditions.settings import (
    MAIN_CONDITION,
    describe,
    soundbank_request,
    synthesis_settings,
)  # noqa: E402
from igsed.core.methods import (
    GRADIENT_FAMILIES,
    METHOD_INFO,
    METHOD_NAMES,
)  # noqa: E402

# Every job finds igsed through PYTHONPATH (no per-script sys.path preamble).
environment.export_src_path(SRC_ROOT)
environment.prefer_passive_openmp()

SCHEMA = "../workflow/schemas/config.schema.yaml"
SRC = Path(workflow.basedir) / "src" / "igsed"
SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"


def validate_config():
    """Fail before any job runs, naming each bad key and what it allows."""
    # Snakemake has loaded the config files (config.yaml, each --configfile) keeping the
    # last of two equal keys; read them again to name both.
    problems = [
        line for path in workflow.configfiles for line in duplicate_key_errors(path)
    ]
    coerce_command_line(config, workflow.config_settings.overwrite_config)
    schema_path = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
    problems = problems or config_errors(config, load_schema(schema_path))
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
# Drawn from the benchmark's outputs (intervals, faithfulness, sanity), not from the shards.
BENCHMARK_FIGURES = ("forest", "faithfulness_curves", "sanity_curves")
# The cross-condition comparison (rule conditions), made only when conditions are configured.
CONDITION_OUTPUTS = ("results/conditions/table.csv", "results/conditions/table.md")


# The model files of every attribution shard, by role (igsed.formats.shards.MODEL_ROLES).
MODEL_FILES = {
    "backbone": "results/models/backbone.pt",
    "clip_head": "results/models/head_clip.pt",
    "fw_weak": "results/models/head_fw_weak.pt",
    "fw_strong": "results/models/head_fw_strong.pt",
}


# The methods this run attributes with, in the order of Tables II and III.
RUN_METHODS = list(config["attribution"]["run"])


# The test conditions beside main (rules/conditions.smk), as configured.
CONDITIONS = dict(config.get("conditions") or {})


def results_root(condition=MAIN_CONDITION):
    """Where a condition's split, attribution and evaluation live."""
    if condition == MAIN_CONDITION:
        return "results"
    return f"results/conditions/{condition}"


def condition_of(wildcards):
    """The condition of a job: its {condition} wildcard, main for the main chain's rules."""
    return wildcards.get("condition", MAIN_CONDITION)


# The methods the sanity checks re-attribute with: the gradient and layer methods of the run.
SANITY_METHODS = [m for m in RUN_METHODS if METHOD_INFO[m].family in GRADIENT_FAMILIES]


def method_params(method):
    """A method's config section: its attribute jobs' params, so only its shards re-run."""
    return config["attribution"]["methods"][method]


def method_models(method):
    """The model files one method runs with, by role (only those re-run it)."""
    return {role: MODEL_FILES[role] for role in METHOD_INFO[method].models}


def run_model_files():
    """The model files of every method this run attributes with, by role."""
    return {
        role: path
        for method in RUN_METHODS
        for role, path in method_models(method).items()
    }


def attribute_inputs(wildcards):
    """Manifest, the method's model files and, for classifier-dependent methods, instances."""
    root = results_root(condition_of(wildcards))
    inputs = {
        "manifest": f"{root}/split/manifest.tsv",
        **method_models(wildcards.method),
    }
    if not METHOD_INFO[wildcards.method].all_classes:
        inputs["instances"] = f"{root}/attribution/instances_{wildcards.eval_split}.tsv"
    return inputs


def instances_files():
    return {
        split: f"results/attribution/instances_{split}.tsv" for split in EVAL_SPLITS
    }


def chunk_dirs(pool):
    return [f"results/synthesis/{pool}/chunk_{chunk}" for chunk in CHUNKS]


def folder_listing(path):
    """Digest of a folder soundbank's audio files (paths, sizes, mtimes), "" for no folder.

    The rule links the user's files without Snakemake seeing them, so an added or edited
    file would give "Nothing to be done"; as a param, a changed listing re-runs the rule.
    """
    if not path:
        return ""
    return listing_digest(Path(path).expanduser(), AUDIO_SUFFIXES)


def soundbank_listing(wildcards):
    """The listing of the run's folder soundbank (source folder), else ""."""
    if wildcards.source != "folder":
        return ""
    return folder_listing((config["soundbank"].get("folder") or {}).get("path"))


def condition_soundbank(condition):
    """A condition's own soundbank (igsed.conditions.settings.SoundbankRequest), or None."""
    return soundbank_request(config["soundbank"], CONDITIONS[condition])


def condition_soundbank_dir(wildcards):
    """The soundbank a condition's eval pool is drawn from: its own, else the run's."""
    if condition_soundbank(wildcards.condition) is None:
        return SOUNDBANK
    return f"resources/soundbank/conditions/{wildcards.condition}"


def condition_synthesis(wildcards):
    return synthesis_settings(config["synthesis"], CONDITIONS[wildcards.condition])


def condition_chunk_dirs(condition):
    return [
        f"{results_root(condition)}/synthesis/evalpool/chunk_{chunk}"
        for chunk in CHUNKS
    ]


def pool_is_used(pool):
    """The pretrain pool exists only for a backbone pretrained here."""
    return pool != "pretrain" or config["backbone"]["pretrained"] == "pipeline"


def pretrain_inputs(wildcards):
    return chunk_dirs("pretrain") if pool_is_used("pretrain") else []


def split_outputs(condition=MAIN_CONDITION):
    """A condition's split checkpoint outputs (Snakemake cannot inherit a checkpoint, so
    each condition's split is checkpoint split_condition, main's checkpoint split)."""
    if condition == MAIN_CONDITION:
        return checkpoints.split.get().output
    return checkpoints.split_condition.get(condition=condition).output


def split_clip_ids(split, condition=MAIN_CONDITION):
    """Clip ids of a split, known once the condition's split checkpoint has run."""
    # Unchecked: see read_clip_ids (the jobs reading the manifest check it).
    return read_clip_ids(split_outputs(condition).manifest, split, checked=False)


def split_shards(split, method, condition=MAIN_CONDITION):
    """A method's shards of a split: `clips_per_shard` clips each, or the whole split for a
    light method (its job's fixed cost, seconds, would outweigh the work)."""
    clip_ids = split_clip_ids(split, condition)
    if METHOD_INFO[method].light:
        # At least 2, so that even a one-clip split keeps the shard_NNNNN name.
        return shard_assignment(clip_ids, max(2, len(clip_ids)))
    return shard_assignment(clip_ids, config["attribution"]["clips_per_shard"])


def shard_clip_ids(wildcards):
    """The clips of one attribution shard."""
    shards = split_shards(
        wildcards.eval_split, wildcards.method, condition_of(wildcards)
    )
    return shards[wildcards.shard]


@functools.lru_cache(maxsize=4)
def _signed_clips(manifest, events, mtimes):
    # Unchecked, as in split_clip_ids: the jobs that read them check them.
    tables = read_manifest(manifest, checked=False), read_events(events, checked=False)
    try:
        return signed_clips(*tables, config["attribution"]["signed_clips"])
    except ValueError as error:
        raise WorkflowError(str(error)) from error


def signed_clip_plan():
    """The Fig. 2 clip and the clips that keep signed IG, validated once the split exists."""
    split = checkpoints.split.get().output
    mtimes = tuple(Path(p).stat().st_mtime_ns for p in (split.manifest, split.events))
    return _signed_clips(split.manifest, split.events, mtimes)


def shard_signed_clips(wildcards):
    """The shard's clips that keep per-sample attributions (waveform methods only), so a
    change re-runs only the shards it touches."""
    if not METHOD_INFO[wildcards.method].waveform:
        return []
    kept = set(signed_clip_plan().signed_clips)
    clip_ids = split_shards(wildcards.eval_split, wildcards.method)[wildcards.shard]
    return [clip_id for clip_id in clip_ids if clip_id in kept]


def figure_clip(wildcards):
    return signed_clip_plan().figure_clip


def shard_files(method, split, condition=MAIN_CONDITION):
    root = results_root(condition)
    return [
        f"{root}/attribution/{method}/{split}/{shard}.h5"
        for shard in split_shards(split, method, condition)
    ]


def shard_plan(wildcards):
    """Every shard the evaluation reads, by method then split (its params: the grouping)."""
    condition = condition_of(wildcards)
    return {
        method: {split: shard_files(method, split, condition) for split in EVAL_SPLITS}
        for method in RUN_METHODS
    }


def test_shards(wildcards):
    return [path for method in RUN_METHODS for path in shard_files(method, "test")]


def expected_clips(wildcards):
    condition = condition_of(wildcards)
    return {split: split_clip_ids(split, condition) for split in EVAL_SPLITS}


def figure_paths(names):
    return [f"results/figures/{name}.{ext}" for name in names for ext in ("png", "svg")]


def attribution_runtime(wildcards):
    """Minutes one attribution shard may take on a CPU node (SLURM sums them per group job)."""
    # Measured on a CPU: ~3 s per clip at the default width (2 min leaves room for slow
    # nodes), minutes per clip at full width.
    minutes_per_clip = 15 if config["backbone"]["width"] > 0.5 else 2
    return 5 + minutes_per_clip * config["attribution"]["clips_per_shard"]


def faithfulness_runtime(wildcards):
    """Minutes one method's deletion and insertion curves may take on a CPU node."""
    # ~20 distinct inputs per test instance (the four curves share their end points and
    # mirror each other), ~50 ms each at the default width: 1-2 s per instance on a CPU.
    return 30 if config["backbone"]["width"] <= 0.5 else 360


def sanity_runtime(wildcards):
    """Minutes one method's cascading randomisation may take on a CPU node."""
    # 8 levels x n_instances attributions: IG costs ~2 s per instance at the default width.
    per_instance = 0.1 if config["backbone"]["width"] <= 0.5 else 2
    return 10 + int(per_instance * 9 * config["sanity"]["n_instances"])


def faithfulness_curves(wildcards):
    return [f"results/faithfulness/{method}/curves.csv" for method in RUN_METHODS]


def faithfulness_areas(wildcards):
    return [f"results/faithfulness/{method}/areas.csv" for method in RUN_METHODS]


def sanity_files(wildcards):
    return [f"results/sanity/{method}.csv" for method in SANITY_METHODS]


def gpus(device):
    """GPUs a job asks the scheduler for: one only when the config insists on CUDA."""
    return 1 if device == "cuda" else 0


def all_shard_files(wildcards):
    """Every attribution shard of the condition (main for the main chain), known once its
    split checkpoint has run."""
    condition = condition_of(wildcards)
    return [
        path
        for method in RUN_METHODS
        for name in EVAL_SPLITS
        for path in shard_files(method, name, condition)
    ]


def every_condition_shard(wildcards):
    """The shards of every test condition, for the target rule all, so a deleted one is rebuilt."""
    return [
        path
        for condition in CONDITIONS
        for method in RUN_METHODS
        for name in EVAL_SPLITS
        for path in shard_files(method, name, condition)
    ]


def condition_results(wildcards):
    """What the cross-condition comparison reads, main first, then as configured."""
    names = [MAIN_CONDITION, *CONDITIONS]
    return {
        "intervals": [f"{results_root(c)}/evaluation/intervals.csv" for c in names],
        "summaries": [f"{results_root(c)}/split/summary.json" for c in names],
    }


def condition_descriptions():
    """What each condition changes, by name (main first): the comparison's params."""
    return {c: describe(config, c) for c in [MAIN_CONDITION, *CONDITIONS]}


def condition_targets():
    """Every output of the test conditions and their comparison (none without conditions)."""
    if not CONDITIONS:
        return []
    per_condition = [
        f"{results_root(c)}/{path}"
        for c in CONDITIONS
        for path in (
            "split/manifest.tsv",
            "tables/table1.csv",
            *[f"attribution/instances_{split}.tsv" for split in EVAL_SPLITS],
            "evaluation/table2.csv",
            "evaluation/intervals.csv",
        )
    ]
    return [*per_condition, *CONDITION_OUTPUTS, *figure_paths(["conditions"])]


def default_targets():
    """Every output of the run (shards: all_shard_files), so a plain re-run rebuilds a
    deleted intermediate. Asking only for the report would let Snakemake skip a missing
    shard or model whose downstream outputs still exist ("Nothing to be done").
    """
    return [
        SOUNDBANK,
        *[path for pool in POOLS if pool_is_used(pool) for path in chunk_dirs(pool)],
        "results/split/manifest.tsv",
        "results/split/events.tsv",
        "results/split/summary.json",
        "results/models/backbone.json",
        *MODEL_FILES.values(),
        *[f"results/models/head_{head}.log.tsv" for head in HEADS],
        *[f"results/features/{name}.h5" for name in ("train", *EVAL_SPLITS)],
        *[f"results/classify/probabilities_{name}.tsv" for name in EVAL_SPLITS],
        *instances_files().values(),
        "results/tables/table1.csv",
        "results/tables/table1.md",
        *rules.evaluate.output,
        *rules.statistics.output,
        *rules.sed_view.output,
        *faithfulness_curves(None),
        *faithfulness_areas(None),
        *sanity_files(None),
        *figure_paths(FIGURES + BENCHMARK_FIGURES),
        *condition_targets(),
        *rules.report.output,
    ]
