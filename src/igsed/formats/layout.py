"""Where every result of a run lives: the one path layout of the rules, report and CLI.

All paths are relative to the pipeline's working directory. The layout (docs/results.md):

    results/{condition}/synthesis/{pool}/chunk_{n}   the condition's synthesised pools
    results/{condition}/split/                       manifest.tsv, events.tsv, summary.json
    results/models/{model}/                          a model's files (trained on main's split)
    results/{condition}/{model}/                     one model on one condition: features,
                                                     classify, tables, attribution,
                                                     evaluation, faithfulness, sanity, figures
    results/conditions/{model}/                      the comparison across conditions
    results/report/                                  summary.md and details.md
    results/logs/, results/benchmarks/               one log and one timing per job

The condition `main` is the configured synthesis; the others are those of `conditions:`.
Each function takes names or Snakemake wildcard patterns alike: `run_dir("{condition}",
"{model}")` is the pattern `results/{condition}/{model}`.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = "results"
MAIN = "main"

# A model's files by role (igsed.formats.shards.MODEL_ROLES), with the rule that makes each.
MODEL_ROLE_FILES: dict[str, str] = {
    "backbone": "backbone.pt",
    "clip_head": "head_clip.pt",
    "fw_weak": "head_fw_weak.pt",
    "fw_strong": "head_fw_strong.pt",
    "classifier": "classifier.pt",  # the one file of every kind but cnn14
}
MODEL_ROLE_RULES: dict[str, str] = {
    "backbone": "backbone",
    "clip_head": "train_head",
    "fw_weak": "train_head",
    "fw_strong": "train_head",
    "classifier": "train_crnn or register_model",
}
TAU_STAR = "evaluation/tau_star.json"

# Folders of the layout before models became a path level (igsed < 0.6): results/split,
# results/models/backbone.pt, results/evaluation, ... A condition or model may not take
# these names, and a results/ folder holding them is refused with the new layout's name.
OLD_LAYOUT = (
    "split",
    "synthesis",
    "features",
    "classify",
    "tables",
    "attribution",
    "evaluation",
    "faithfulness",
    "sanity",
    "figures",
)
RESERVED_CONDITION_NAMES: tuple[str, ...] = (
    MAIN,
    "models",
    "conditions",
    "report",
    "logs",
    "benchmarks",
    *OLD_LAYOUT,
)
RESERVED_MODEL_NAMES: tuple[str, ...] = OLD_LAYOUT


def data_dir(condition: str) -> str:
    """A condition's clips: its synthesis and its split."""
    return f"{RESULTS}/{condition}"


def split_file(condition: str, name: str) -> str:
    """`manifest.tsv`, `events.tsv` or `summary.json` of a condition's split."""
    return f"{data_dir(condition)}/split/{name}"


def model_dir(model: str) -> str:
    return f"{RESULTS}/models/{model}"


def model_file(model: str, role: str) -> str:
    """The file of one role (backbone, clip head, framewise heads) of a model."""
    return f"{model_dir(model)}/{MODEL_ROLE_FILES[role]}"


def seed_head_file(model: str, seed: str | int) -> str:
    """A CNN14's clip head retrained with another seed (rule train_seed_head), which only
    the seed agreement reads."""
    return f"{model_dir(model)}/seed_heads/head_clip_seed{seed}.pt"


def run_dir(condition: str, model: str) -> str:
    """One model's results on one condition."""
    return f"{data_dir(condition)}/{model}"


def shard_path(condition: str, model: str, method: str, split: str, shard: str) -> str:
    return f"{run_dir(condition, model)}/attribution/{method}/{split}/{shard}.h5"


def comparison_dir(model: str) -> str:
    """The comparison of one model's results across conditions (rule conditions)."""
    return f"{RESULTS}/conditions/{model}"


def report_dir() -> str:
    return f"{RESULTS}/report"


def old_layout_folders(workdir: str | Path) -> list[Path]:
    """The folders of the old layout (OLD_LAYOUT) under `workdir`/results, if any."""
    results = Path(workdir) / RESULTS
    found = [results / name for name in OLD_LAYOUT if (results / name).is_dir()]
    if (results / "models" / MODEL_ROLE_FILES["backbone"]).is_file():
        found.append(results / "models" / MODEL_ROLE_FILES["backbone"])
    return found


def old_layout_message(found: list[Path]) -> str:
    """Why a results/ folder of the old layout is refused, and what to do."""
    listed = ", ".join(str(path) for path in found)
    return (
        f"{listed}: results of igsed's old layout (one model, results/split, "
        "results/evaluation, ...). Results now live per condition and model, as "
        "results/{condition}/{model}/ (results/main/cnn14/evaluation/table2.csv; "
        "docs/results.md). Move the old results/ folder aside (or delete it) and re-run."
    )
