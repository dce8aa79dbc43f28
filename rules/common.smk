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
    is_recordings,
    soundbank_request,
    synthesis_settings,
)  # noqa: E402
from igsed.formats import layout  # noqa: E402
from igsed.core.checksums import file_digest  # noqa: E402
from igsed.core.model_kinds import (
    CNN14,
    CNN14_ROLES,
    classifier_capabilities,
    method_roles,
    skip_reason,
    user_source_file,
)  # noqa: E402
from igsed.core.entry_points import entry_source_file  # noqa: E402
from igsed.core.methods import (
    GRADIENT_FAMILIES,
    METHOD_INFO,
    LAYERS,
    REFERENCE_METHOD,
    export_plugins,
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
    plugins = list((config.get("attribution") or {}).get("plugins") or {})
    problems = problems or config_errors(config, load_schema(schema_path, plugins))
    if problems:
        raise WorkflowError(
            "invalid configuration:\n  - "
            + "\n  - ".join(problems)
            + f"\n(schema: {schema_path})"
        )
    validate(config, SCHEMA)


validate_config()
# Plug-in methods join the catalogue here and in every job (igsed.core.methods).
PLUGINS = config["attribution"]["plugins"]
export_plugins(PLUGINS)


def refuse_old_layout():
    """A results/ folder of the layout before models became a path level is not reused."""
    found = layout.old_layout_folders(".")
    if found:
        raise WorkflowError(layout.old_layout_message(found))


refuse_old_layout()


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

# The classifiers this run explains (models:), by name, in the report's order.
MODEL_NAMES = list(config["run_models"])
MODELS = {name: config["models"][name] for name in MODEL_NAMES}


def models_of_kind(*kinds):
    return [name for name, spec in MODELS.items() if spec["kind"] in kinds]


# A CNN14 classifies from its cached frame features; every other kind from the audio.
CNN14_MODELS = models_of_kind(CNN14)
WAVEFORM_MODELS = [name for name in MODEL_NAMES if name not in CNN14_MODELS]

# The test conditions beside main (conditions:), as configured; main first in CONDITION_NAMES.
CONDITIONS = dict(config.get("conditions") or {})
CONDITION_NAMES = [MAIN_CONDITION, *CONDITIONS]

# Conditions of real recordings (rule split_recordings) and those synthesised (rule split).
RECORDINGS_CONDITIONS = [c for c in CONDITIONS if is_recordings(config, c)]
SYNTHESISED_CONDITIONS = [c for c in CONDITION_NAMES if c not in RECORDINGS_CONDITIONS]


def alternatives(names):
    """A wildcard constraint matching exactly `names` (none: a pattern that never matches)."""
    return "|".join(names) if names else "(?!)"


def recordings_annotations(wildcards):
    """A recordings condition's annotation files, by split ("annotations": one file)."""
    annotations = CONDITIONS[wildcards.condition]["recordings"]["annotations"]
    if isinstance(annotations, dict):
        return {f"annotations_{split}": path for split, path in annotations.items()}
    return {"annotations": annotations}


# Path patterns of igsed.formats.layout, with Snakemake wildcards.
DATA = layout.data_dir("{condition}")
RUN = layout.run_dir("{condition}", "{model}")
MODEL_DIR = layout.model_dir("{model}")
MAIN_RUN = layout.run_dir(MAIN_CONDITION, "{model}")

# The methods this run attributes with, in the order of Tables II and III.
RUN_METHODS = list(config["attribution"]["run"])
# The seeds the seed agreement retrains each CNN14's clip head with ([]: no agreement).
AGREEMENT_SEEDS = list(config["sanity"]["agreement_seeds"])


def model_methods(model):
    """The methods of attribution.run that run on `model`, in the run's order."""
    spec = MODELS[model]
    return [m for m in RUN_METHODS if skip_reason(METHOD_INFO[m], spec) is None]


def skipped_methods(model):
    """The methods of attribution.run that `model` cannot run, with why (the summary's)."""
    spec = MODELS[model]
    reasons = {m: skip_reason(METHOD_INFO[m], spec) for m in RUN_METHODS}
    return {m: reason for m, reason in reasons.items() if reason is not None}


def sanity_methods(model):
    """The gradient and layer methods of `model` that the sanity checks re-attribute with
    (the cascade randomises a model's named layers: a model declaring them)."""
    if LAYERS not in classifier_capabilities(MODELS[model]):
        return []
    return [
        m for m in model_methods(model) if METHOD_INFO[m].family in GRADIENT_FAMILIES
    ]


def user_model_source_digest(model):
    """The sha256 of a user model's source: a changed file re-registers the model."""
    return file_digest(user_source_file(MODELS[model]))


def condition_of(wildcards):
    """A job's condition: its {condition} wildcard, main for rules of main alone."""
    return wildcards.get("condition", MAIN_CONDITION)


def main_run(model):
    return layout.run_dir(MAIN_CONDITION, model)


def comparison_outputs(model):
    """The cross-condition comparison of one model (rule conditions)."""
    root = layout.comparison_dir(model)
    return {
        "table_csv": f"{root}/table.csv",
        "table_md": f"{root}/table.md",
        "figures": [f"{root}/conditions.{ext}" for ext in ("png", "svg")],
    }


def method_params(method):
    """A method's config section: its attribute jobs' params, so only its shards re-run (a
    plug-in's with the sha256 of its module's source, so an edit re-runs it too)."""
    if method in PLUGINS:
        return {**PLUGINS[method], "source_sha256": plugin_source_digest(method)}
    return config["attribution"]["methods"][method]


@functools.cache
def plugin_source_digest(method):
    spec = PLUGINS[method]
    try:
        source = entry_source_file(spec["function"], spec.get("search_path"))
    except ValueError as error:
        raise WorkflowError(
            f"attribution.plugins.{method}.function: {error}"
        ) from error
    return file_digest(source)


def method_models(method, model):
    """The model files one method runs with on `model`, by role (only those re-run it)."""
    roles = method_roles(METHOD_INFO[method], MODELS[model]["kind"])
    return {role: layout.model_file(model, role) for role in roles}


def run_model_files(wildcards):
    """The model files of every method `model` attributes with, by role."""
    return {
        role: path
        for method in model_methods(wildcards.model)
        for role, path in method_models(method, wildcards.model).items()
    }


def explained_model_files(wildcards):
    """The files of the clip classifier the methods explain, by role."""
    return method_models(REFERENCE_METHOD, wildcards.model)


def split_file(wildcards, name):
    return layout.split_file(condition_of(wildcards), name)


def split_files(wildcards):
    """A condition's manifest and events."""
    return {
        "manifest": layout.split_file(condition_of(wildcards), "manifest.tsv"),
        "events": layout.split_file(condition_of(wildcards), "events.tsv"),
    }


def attribute_inputs(wildcards):
    """Manifest, the method's model files and, for classifier-dependent methods, instances."""
    root = layout.run_dir(condition_of(wildcards), wildcards.model)
    inputs = {
        "manifest": layout.split_file(condition_of(wildcards), "manifest.tsv"),
        **method_models(wildcards.method, wildcards.model),
    }
    if not METHOD_INFO[wildcards.method].all_classes:
        inputs["instances"] = f"{root}/attribution/instances_{wildcards.eval_split}.tsv"
    return inputs


def chunk_dirs(pool, condition=MAIN_CONDITION):
    return [f"{layout.data_dir(condition)}/synthesis/{pool}/chunk_{c}" for c in CHUNKS]


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
    if condition == MAIN_CONDITION:
        return None
    return soundbank_request(config["soundbank"], CONDITIONS[condition])


def condition_soundbank_dir(wildcards):
    """The soundbank a condition's pools are drawn from: its own, else the run's."""
    if condition_soundbank(condition_of(wildcards)) is None:
        return SOUNDBANK
    return f"resources/soundbank/conditions/{condition_of(wildcards)}"


def condition_synthesis(wildcards):
    """The synthesis settings of a condition (main: the configured ones)."""
    overrides = (
        {}
        if condition_of(wildcards) == MAIN_CONDITION
        else CONDITIONS[condition_of(wildcards)]
    )
    return synthesis_settings(config["synthesis"], overrides)


def pool_is_used(pool):
    """The pretrain pool exists only for a backbone pretrained here."""
    return pool != "pretrain" or config["backbone"]["pretrained"] == "pipeline"


def pretrain_inputs(wildcards):
    return chunk_dirs("pretrain") if pool_is_used("pretrain") else []


def evalpool_inputs(wildcards):
    """A condition re-synthesises only the eval pool; its train pool is main's."""
    return chunk_dirs("evalpool", condition_of(wildcards))


def split_outputs(condition=MAIN_CONDITION):
    """A condition's split checkpoint outputs (split, or split_recordings for recordings),
    known once it has run."""
    if condition in RECORDINGS_CONDITIONS:
        return checkpoints.split_recordings.get(condition=condition).output
    return checkpoints.split.get(condition=condition).output


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
    split = split_outputs(MAIN_CONDITION)
    mtimes = tuple(Path(p).stat().st_mtime_ns for p in (split.manifest, split.events))
    return _signed_clips(split.manifest, split.events, mtimes)


def shard_signed_clips(wildcards):
    """The shard's clips that keep per-sample attributions (waveform methods of main only:
    Figure 2 is main's), so a change re-runs only the shards it touches."""
    if (
        condition_of(wildcards) != MAIN_CONDITION
        or not METHOD_INFO[wildcards.method].waveform
    ):
        return []
    kept = set(signed_clip_plan().signed_clips)
    clip_ids = shard_clip_ids(wildcards)
    return [clip_id for clip_id in clip_ids if clip_id in kept]


def figure_clip(wildcards):
    return signed_clip_plan().figure_clip


def shard_files(method, split, condition, model):
    return [
        layout.shard_path(condition, model, method, split, shard)
        for shard in split_shards(split, method, condition)
    ]


def shard_plan(wildcards):
    """Every shard the evaluation reads, by method then split (its params: the grouping)."""
    return {
        method: {
            split: shard_files(method, split, condition_of(wildcards), wildcards.model)
            for split in EVAL_SPLITS
        }
        for method in model_methods(wildcards.model)
    }


def methods_params(wildcards):
    """Each of the model's methods' config section, by method (the reporting rules' params)."""
    return {method: method_params(method) for method in model_methods(wildcards.model)}


def test_shards(wildcards):
    return [
        path
        for method in model_methods(wildcards.model)
        for path in shard_files(
            method, "test", condition_of(wildcards), wildcards.model
        )
    ]


def method_test_shards(wildcards):
    return shard_files(
        wildcards.method, "test", condition_of(wildcards), wildcards.model
    )


def expected_clips(wildcards):
    return {
        split: split_clip_ids(split, condition_of(wildcards)) for split in EVAL_SPLITS
    }


def figure_paths(names, model):
    return [
        f"{main_run(model)}/figures/{name}.{ext}"
        for name in names
        for ext in ("png", "svg")
    ]


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


def subset_minutes(attributions_per_instance):
    """Minutes a job attributing the sanity subset may take on a CPU node: IG costs ~2 s
    per instance at the default width."""
    per_instance = 0.1 if config["backbone"]["width"] <= 0.5 else 2
    return 10 + int(
        per_instance * attributions_per_instance * config["sanity"]["n_instances"]
    )


def sanity_runtime(wildcards):
    """Minutes one method's cascading randomisation may take: 9 levels (trained + 8
    randomised), one attribution for the absent class and one per robustness draw."""
    return subset_minutes(9 + 1 + config["sanity"]["robustness_draws"])


def faithfulness_files(model, name):
    """Each method's faithfulness `curves.csv` or `areas.csv` of a model on main."""
    return [
        f"{main_run(model)}/faithfulness/{method}/{name}"
        for method in model_methods(model)
    ]


def faithfulness_curves(wildcards):
    return faithfulness_files(wildcards.model, "curves.csv")


def condition_faithfulness_areas(wildcards):
    """Faithfulness asks what the model uses, not how the data sound: main's only."""
    if condition_of(wildcards) != MAIN_CONDITION:
        return []
    return faithfulness_files(wildcards.model, "areas.csv")


def agreement_runtime(wildcards):
    """Minutes one method's seed agreement may take: one attribution per head and instance."""
    return subset_minutes(1 + len(AGREEMENT_SEEDS))


def agreement_methods(model):
    """The methods the seed agreement re-attributes with on `model`: the sanity methods of
    a CNN14 (whose clip head retrains in seconds), none without agreement seeds."""
    if not AGREEMENT_SEEDS or model not in CNN14_MODELS:
        return []
    return sanity_methods(model)


def agreement_heads(wildcards):
    """The trained clip head, then one retrained per agreement seed."""
    return [
        layout.model_file(wildcards.model, "clip_head"),
        *(layout.seed_head_file(wildcards.model, seed) for seed in AGREEMENT_SEEDS),
    ]


def condition_agreement(wildcards):
    """The agreement jobs' tables (main's only, as the sanity checks are)."""
    if condition_of(wildcards) != MAIN_CONDITION:
        return []
    return [
        f"{main_run(wildcards.model)}/sanity/agreement/{method}.csv"
        for method in agreement_methods(wildcards.model)
    ]


def condition_robustness(wildcards):
    """The sanity jobs' robustness tables (main's only, as the sanity checks are)."""
    if condition_of(wildcards) != MAIN_CONDITION:
        return []
    return [
        f"{main_run(wildcards.model)}/sanity/robustness/{method}.csv"
        for method in sanity_methods(wildcards.model)
    ]


def sanity_file_list(model):
    return [
        f"{main_run(model)}/sanity/{method}.csv" for method in sanity_methods(model)
    ]


def sanity_files(wildcards):
    return sanity_file_list(wildcards.model)


def gpus(device):
    """GPUs a job asks the scheduler for: one only when the config insists on CUDA."""
    return 1 if device == "cuda" else 0


def every_shard(wildcards):
    """Every attribution shard of every condition and model, known once the splits exist
    (for the target rule all, so that a deleted shard is rebuilt)."""
    return [
        path
        for condition in CONDITION_NAMES
        for model in MODEL_NAMES
        for method in model_methods(model)
        for name in EVAL_SPLITS
        for path in shard_files(method, name, condition, model)
    ]


def all_shard_files(wildcards):
    """Every attribution shard of one condition and model (the evaluation reads them)."""
    return [
        path
        for method in model_methods(wildcards.model)
        for name in EVAL_SPLITS
        for path in shard_files(method, name, condition_of(wildcards), wildcards.model)
    ]


def condition_results(wildcards):
    """What one model's cross-condition comparison reads, main first, then as configured."""
    return {
        "intervals": [
            f"{layout.run_dir(c, wildcards.model)}/evaluation/intervals.csv"
            for c in CONDITION_NAMES
        ],
        "summaries": [layout.split_file(c, "summary.json") for c in CONDITION_NAMES],
        # Each condition's Table III: its test instances per class.
        "table3": [
            f"{layout.run_dir(c, wildcards.model)}/evaluation/table3.csv"
            for c in CONDITION_NAMES
        ],
    }


def condition_descriptions():
    """What each condition changes, by name (main first): the comparison's params."""
    return {c: describe(config, c) for c in CONDITION_NAMES}


def condition_targets(model):
    """Every output of the test conditions and their comparison (none without conditions)."""
    if not CONDITIONS:
        return []
    per_condition = [
        f"{layout.run_dir(c, model)}/{path}"
        for c in CONDITIONS
        for path in (
            "tables/table1.csv",
            *[f"attribution/instances_{split}.tsv" for split in EVAL_SPLITS],
            "evaluation/table2.csv",
            "evaluation/intervals.csv",
        )
    ]
    comparison = comparison_outputs(model)
    return [
        *[layout.split_file(c, "manifest.tsv") for c in CONDITIONS],
        *per_condition,
        comparison["table_csv"],
        comparison["table_md"],
        *comparison["figures"],
    ]


def model_files(model):
    """A model's own files: a CNN14's backbone, heads and feature caches, any other kind's
    one classifier file (and a CRNN's training log)."""
    directory = layout.model_dir(model)
    kind = MODELS[model]["kind"]
    if kind == CNN14:
        return [
            f"{directory}/backbone.json",
            *[layout.model_file(model, role) for role in CNN14_ROLES],
            *[f"{directory}/head_{head}.log.tsv" for head in HEADS],
            *[
                f"{main_run(model)}/features/{name}.h5"
                for name in ("train", *EVAL_SPLITS)
            ],
        ]
    logs = [f"{directory}/classifier.log.tsv"] if kind == "crnn" else []
    return [layout.model_file(model, "classifier"), *logs]


def model_targets(model):
    """Every output of one model on main (and its conditions)."""
    run = main_run(model)
    return [
        *model_files(model),
        *[f"{run}/classify/probabilities_{name}.tsv" for name in EVAL_SPLITS],
        *[f"{run}/attribution/instances_{name}.tsv" for name in EVAL_SPLITS],
        f"{run}/tables/table1.csv",
        f"{run}/tables/table1.md",
        *[
            f"{run}/evaluation/{name}"
            for name in (*EVALUATION_OUTPUTS.values(), *STATISTICS_OUTPUTS.values())
        ],
        f"{run}/evaluation/sed_view.csv",
        f"{run}/evaluation/sed_view_differences.csv",
        *faithfulness_files(model, "curves.csv"),
        *faithfulness_files(model, "areas.csv"),
        *sanity_file_list(model),
        *figure_paths(FIGURES + BENCHMARK_FIGURES, model),
        *condition_targets(model),
    ]


# The files rules evaluate and statistics write in a run's evaluation/ folder, by name.
EVALUATION_OUTPUTS = {
    "table2_csv": "table2.csv",
    "table2_md": "table2.md",
    "table3_csv": "table3.csv",
    "table3_md": "table3.md",
    "table3_long": "table3_long.csv",
    "sweep_val": "sweep_val.csv",
    "sweep_test": "sweep_test.csv",
    "instances": "instances_test.csv",
    "tau_star": "tau_star.json",
    "convergence": "convergence.json",
}
STATISTICS_OUTPUTS = {"intervals": "intervals.csv", "differences": "differences.csv"}


def default_targets():
    """Every output of the run (shards: every_shard), so a plain re-run rebuilds a
    deleted intermediate. Asking only for the report would let Snakemake skip a missing
    shard or model whose downstream outputs still exist ("Nothing to be done").
    """
    return [
        SOUNDBANK,
        *[path for pool in POOLS if pool_is_used(pool) for path in chunk_dirs(pool)],
        *[layout.split_file(MAIN_CONDITION, name) for name in SPLIT_FILES],
        *[path for model in MODEL_NAMES for path in model_targets(model)],
        *rules.report.output,
    ]


SPLIT_FILES = ("manifest.tsv", "events.tsv", "summary.json")


def report_inputs(wildcards):
    """What the summary reads: the first model's results on main (and its comparison), and
    every model's intervals, SED view and sanity for the model x method table."""
    model = MODEL_NAMES[0]
    run = main_run(model)
    evaluation = f"{run}/evaluation"
    comparison = comparison_outputs(model)
    return {
        "table1": f"{run}/tables/table1.csv",
        "table2": f"{evaluation}/table2.csv",
        "table3": f"{evaluation}/table3.csv",
        "tau_star": f"{evaluation}/tau_star.json",
        "convergence": f"{evaluation}/convergence.json",
        "intervals": f"{evaluation}/intervals.csv",
        "differences": f"{evaluation}/differences.csv",
        "sed_view": f"{evaluation}/sed_view.csv",
        "sanity": sanity_file_list(model),
        "split_summary": layout.split_file(MAIN_CONDITION, "summary.json"),
        "backbone_meta": [
            f"{layout.model_dir(name)}/backbone.json" for name in CNN14_MODELS[:1]
        ],
        "conditions": [comparison["table_md"]] if CONDITIONS else [],
        # In the order of MODEL_NAMES (params.models); sanity files by their model's path.
        "model_intervals": [
            f"{main_run(m)}/evaluation/intervals.csv" for m in MODEL_NAMES
        ],
        "model_differences": [
            f"{main_run(m)}/evaluation/differences.csv" for m in MODEL_NAMES
        ],
        "model_sed_view": [
            f"{main_run(m)}/evaluation/sed_view.csv" for m in MODEL_NAMES
        ],
        "model_sed_view_differences": [
            f"{main_run(m)}/evaluation/sed_view_differences.csv" for m in MODEL_NAMES
        ],
        "model_sanity": [path for m in MODEL_NAMES for path in sanity_file_list(m)],
        "figures": [
            *figure_paths(FIGURES + BENCHMARK_FIGURES, model),
            *(comparison["figures"] if CONDITIONS else []),
        ],
    }
