"""Config validation: schema messages, renamed keys, cross-field checks, `--config` typing."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from igsed.pipeline.config import coerce_command_line, config_errors, duplicate_key_errors
from igsed.pipeline.schema import load_schema

REPO = Path(__file__).resolve().parents[2]
SCHEMA = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")
DEFAULT = yaml.safe_load((REPO / "config.yaml").read_text())


def _default() -> dict[str, Any]:
    return copy.deepcopy(DEFAULT)


def test_config_errors_name_key_and_allowed_values() -> None:
    config = _default()
    assert config_errors(config, SCHEMA) == []
    config["attribution"]["methods"]["ig"]["engnie"] = "fused"
    config["attribution"]["methods"]["ig"]["method"] = "simpson"
    config["synthesis"]["chunks"] = 0
    config["heads"]["lr"] = "fast"
    problems = "\n".join(config_errors(config, SCHEMA))
    assert "attribution.methods.ig.engnie" in problems and "allowed keys here: engine" in problems
    assert "attribution.methods.ig.method = 'simpson'" in problems
    assert "'riemann_trapezoid'" in problems
    assert "synthesis.chunks = 0 is out of range; allowed: >= 1" in problems
    assert "heads.lr = 'fast' has the wrong type; expected number" in problems


def test_non_finite_numbers_are_refused_naming_their_key() -> None:
    config = _default()
    config["sanity"]["flag_correlation"] = float("nan")
    config["synthesis"]["snr_db"] = [float("nan"), 20]
    config["attribution"]["threshold"] = float("nan")
    config["metrics"]["sed_view"]["psds"]["max_efpr"] = float("inf")
    assert sorted(config_errors(config, SCHEMA)) == [
        "config key attribution.threshold = nan is not a finite number",
        "config key metrics.sed_view.psds.max_efpr = inf is not a finite number",
        "config key sanity.flag_correlation = nan is not a finite number",
        "config key synthesis.snr_db.0 = nan is not a finite number",
    ]
    # As YAML spells them, in a config file or a nested --config value.
    config = _default()
    coerce_command_line(config, {"conditions": {}, "synthesis": {"ref_db": "-.inf"}})
    assert config_errors(config, SCHEMA) == [
        "config key synthesis.ref_db = -inf is not a finite number"
    ]


def test_condition_and_model_names_may_not_be_folders_of_the_layout() -> None:
    config = _default()
    config["conditions"] = {"main": {}, "evaluation": {}, "loud": {"ref_db": -40}}
    config["models"] = {"cnn14": {"kind": "cnn14"}, "split": {"kind": "cnn14"}}
    problems = "\n".join(config_errors(config, SCHEMA))
    for key in ("conditions.main", "conditions.evaluation", "models.split"):
        assert key in problems, problems
    assert "loud" not in problems and "models.cnn14" not in problems
    config["models"] = {"cnn14": {"kind": "vggish"}}
    assert "models.cnn14.kind = 'vggish'" in "\n".join(config_errors(config, SCHEMA))


def test_a_key_given_twice_is_named_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(
        "conditions:\n"
        "  low: {snr_db: [0, 5]}\n"
        "  high: {snr_db: [20, 30]}\n"
        "  low: {snr_db: [-5, 0]}\n"
        "attribution:\n"
        "  methods:\n"
        "    - {seed: 1, seed: 2}\n"
    )
    assert duplicate_key_errors(path) == [
        f"config file {path}: key conditions.low appears twice, on lines 2 and 4 "
        "(the last would silently win); keep one",
        f"config file {path}: key attribution.methods.0.seed appears twice, on lines 7 and 7 "
        "(the last would silently win); keep one",
    ]
    assert duplicate_key_errors(REPO / "config.yaml") == []
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    assert duplicate_key_errors(empty) == []


def test_a_renamed_config_key_names_its_new_name() -> None:
    config = _default()
    config["attribution"]["figure_clips"] = config["attribution"].pop("signed_clips")
    (problem,) = config_errors(config, SCHEMA)
    assert "attribution.figure_clips" in problem and "attribution.signed_clips" in problem
    # The sections a config from before the method registry still has.
    config = _default()
    config["attribution"]["ig"] = config["attribution"]["methods"].pop("ig")
    config["attribution"]["random_seed"] = 13
    problems = "\n".join(config_errors(config, SCHEMA))
    assert "attribution.ig was renamed to attribution.methods.ig" in problems
    assert "attribution.random_seed was renamed to attribution.methods.random.seed" in problems


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"run": ["ig", "lrp"]}, "attribution.run.1 = 'lrp' is not allowed"),
        ({"run": ["ig", "ig"]}, "attribution.run"),
        ({"run": []}, "attribution.run"),
        (
            {"methods": {"smoothgrad": {"n_samples": 0}}},
            "attribution.methods.smoothgrad.n_samples = 0",
        ),
        (
            {"methods": {"gradcam": {"layer": "conv block"}}},
            "attribution.methods.gradcam.layer: 'conv block' does not match",
        ),
        ({"methods": {"saliency": {"abs": False}}}, "attribution.methods.saliency"),
        ({"methods": {"surrogate": {"fit": "lasso"}}}, "'kernel_shap', 'random_forest'"),
    ],
)
def test_method_settings_are_checked_by_the_schema(change: dict, expected: str) -> None:
    config = _default()
    for key, value in change.items():
        if key == "methods":
            for method, params in value.items():
                config["attribution"]["methods"][method].update(params)
        else:
            config["attribution"][key] = value
    problems = "\n".join(config_errors(config, SCHEMA))
    assert expected in problems, problems


def test_plugins_are_allowed_in_run_and_checked_by_the_schema() -> None:
    plugin = {"function": "mine.methods:squared", "family": "gradient"}
    config = _default()
    config["attribution"]["plugins"] = {"squared": plugin}
    config["attribution"]["run"] = ["ig", "squared"]
    schema_path = REPO / "workflow" / "schemas" / "config.schema.yaml"
    assert config_errors(config, load_schema(schema_path, ["squared"])) == []
    # Without the plug-in's declaration its name is no method.
    problems = "\n".join(config_errors(config, SCHEMA))
    assert "attribution.run.1 = 'squared' is not allowed" in problems, problems
    config["attribution"]["plugins"] = {
        "ig": plugin,
        "flat": {**plugin, "function": "mine.methods"},
        "odd": {**plugin, "family": "baseline"},
    }
    problems = "\n".join(config_errors(config, load_schema(schema_path, ["squared"])))
    for expected in (
        "attribution.plugins.ig is not allowed: the name is reserved (reserved: ig, saliency",
        "attribution.plugins.flat.function: 'mine.methods' does not match",
        "attribution.plugins.odd.family = 'baseline' is not allowed",
    ):
        assert expected in problems, problems


def test_every_method_has_a_described_schema_entry() -> None:
    from igsed.core.methods import METHOD_NAMES

    methods = SCHEMA["properties"]["attribution"]["properties"]["methods"]["properties"]
    assert list(methods) == list(METHOD_NAMES)
    assert list(DEFAULT["attribution"]["methods"]) == list(METHOD_NAMES)
    for name, entry in methods.items():
        assert entry.get("description"), name
        for key, spec in entry.get("properties", {}).items():
            resolved = {
                **SCHEMA["$defs"].get(spec.get("$ref", "#/$defs/").split("/")[-1], {}),
                **spec,
            }
            assert resolved.get("description"), f"{name}.{key}"


def test_method_defaults_are_the_default_config() -> None:
    """One set of defaults: the schema's, the registry's (what `igsed explain` uses for a
    method the run did not run) and config.yaml's values agree."""
    from igsed.methods.registry import method_settings

    methods = SCHEMA["properties"]["attribution"]["properties"]["methods"]["properties"]
    for name, params in DEFAULT["attribution"]["methods"].items():
        assert method_settings(name, {}).as_dict() == method_settings(name, params).as_dict()
        for key, value in params.items():
            spec = methods[name]["properties"][key]
            resolved = {
                **SCHEMA["$defs"].get(spec.get("$ref", "#/$defs/").split("/")[-1], {}),
                **spec,
            }
            assert resolved.get("default", value) == value, f"{name}.{key}"


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("synthesis", "snr_db", [25, 15]),
        ("synthesis", "n_events", [3, 1]),
        ("metrics", "tau", [99, 1]),
    ],
)
def test_a_reversed_range_is_an_error_naming_its_key(
    section: str, key: str, value: list[int]
) -> None:
    config = _default()
    config[section][key] = value
    (problem,) = config_errors(config, SCHEMA)
    assert f"{section}.{key} = {value}" in problem and "must not exceed" in problem


def test_panns_needs_the_full_width() -> None:
    config = _default()
    config["backbone"]["pretrained"] = "panns"
    config["backbone"]["width"] = 0.3
    (problem,) = config_errors(config, SCHEMA)
    assert "backbone.width = 0.3" in problem and "width 1.0" in problem
    config["backbone"]["width"] = 1.0
    assert config_errors(config, SCHEMA) == []


def test_agreement_seeds_are_other_seeds_than_the_trained_heads() -> None:
    config = _default()
    config["sanity"]["agreement_seeds"] = [1, config["heads"]["seed"]]
    (problem,) = config_errors(config, SCHEMA)
    assert f"sanity.agreement_seeds names {config['heads']['seed']}, which is heads.seed" in problem
    config["sanity"]["agreement_seeds"] = [1, 1]
    (problem,) = config_errors(config, SCHEMA)
    assert "sanity.agreement_seeds" in problem and "unique" in problem
    config["sanity"]["agreement_seeds"] = [1, 2]
    assert config_errors(config, SCHEMA) == []


def test_a_folder_soundbank_needs_an_existing_path(tmp_path: Path) -> None:
    config = _default()
    config["soundbank"]["source"] = "folder"
    (problem,) = config_errors(config, SCHEMA)
    assert "soundbank.folder.path is required" in problem
    config["soundbank"]["folder"]["path"] = str(tmp_path / "missing")
    (problem,) = config_errors(config, SCHEMA)
    assert "soundbank.folder.path" in problem and "is not a folder" in problem
    config["soundbank"]["folder"]["path"] = str(tmp_path)
    assert config_errors(config, SCHEMA) == []


def test_nested_command_line_values_are_read_as_yaml() -> None:
    # What Snakemake's --config gives for synthesis='{seed: 8, snr_db: [5, 15]}' and
    # metrics='{count_false_positives: true}': YAML's BaseLoader keeps every leaf a string.
    overrides = {
        "synthesis": {"seed": "8", "snr_db": ["5", "15.5"]},
        "metrics": {"count_false_positives": "true"},
        "soundbank": {"folder": {"path": "null"}, "source": "synthetic"},
    }
    config = _default()
    for section, values in overrides.items():
        config[section].update(copy.deepcopy(values))
    assert config_errors(config, SCHEMA)  # the strings fail validation as they are
    coerce_command_line(config, overrides)
    assert config["synthesis"]["seed"] == 8
    assert config["synthesis"]["snr_db"] == [5, 15.5]
    assert config["metrics"]["count_false_positives"] is True
    assert config["soundbank"]["folder"]["path"] is None
    assert config["soundbank"]["source"] == "synthetic"
    assert config["synthesis"]["n_clips"] == DEFAULT["synthesis"]["n_clips"]
    assert config_errors(config, SCHEMA) == []


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (
            {"main": {"snr_db": [0, 10]}},
            "config key conditions.main is not allowed: the name is reserved",
        ),
        ({"low snr": {}}, "config key conditions.low snr is not allowed: names match"),
        (
            {"low": {"snr": [0, 10]}},
            "unknown config key conditions.low.snr; allowed keys here: n_events, recordings, "
            "ref_db, snr_db,",
        ),
        (
            {"low": {"snr_db": [10, 0]}},
            "config key conditions.low.snr_db = [10, 0]: the first value must not exceed",
        ),
        ({"low": {"n_events": [0, 2]}}, "config key conditions.low.n_events.0 = 0 is out of range"),
        (
            {"rec": {"soundbank": {"folder": "/no/such/folder"}}},
            "config key conditions.rec.soundbank.folder = '/no/such/folder' is not a folder",
        ),
        (
            {"rec": {"soundbank": {"url": "x"}}},
            "conditions.rec.soundbank.url; allowed keys here: folder, synthetic_seed",
        ),
    ],
)
def test_condition_errors_name_the_condition_and_key(
    conditions: dict[str, Any], expected: str
) -> None:
    config = _default()
    config["conditions"] = conditions
    problems = "\n".join(config_errors(config, SCHEMA))
    assert expected in problems, problems


def test_conditions_of_the_snr_sweep_preset_are_valid() -> None:
    config = _default()
    sweep = yaml.safe_load((REPO / "workflow" / "presets" / "snr_sweep.yaml").read_text())
    config["conditions"] = sweep["conditions"]
    assert config_errors(config, SCHEMA) == []
    assert [c["snr_db"] for c in sweep["conditions"].values()] == [[-5, 5], [5, 15], [25, 35]]
