"""Readable explanations of config schema violations.

jsonschema's own messages name the schema path, not the config key, and do not list
the keys or values that would have been accepted; users fix configs faster with both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml


def _key_path(path: Any) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "<top level>"


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        ref = str(schema["$ref"])
        node: Any = root
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _explain_name(error: jsonschema.ValidationError, where: str) -> str:
    """A key name the section's `propertyNames` rejects (a reserved or malformed name)."""
    if error.validator == "not":
        rule = error.validator_value
        reserved = ", ".join(map(str, rule.get("enum", [rule.get("const")])))
        return (
            f"config key {where}.{error.instance} is not allowed: the name is reserved "
            f"(reserved: {reserved})"
        )
    if error.validator == "pattern":
        return (
            f"config key {where}.{error.instance} is not allowed: names match "
            f"{error.validator_value}"
        )
    return f"config key {where}.{error.instance}: {error.message}"


def _explain(error: jsonschema.ValidationError, root: Mapping[str, Any]) -> str:
    where = _key_path(error.absolute_path)
    if "propertyNames" in error.schema_path:
        return _explain_name(error, where)
    schema = _resolve(error.schema, root) if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = (
            sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        )
        keys = ", ".join(f"{where}.{k}" if where != "<top level>" else k for k in extra)
        return f"unknown config key {keys}; allowed keys here: {', '.join(allowed)}"
    if error.validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return f"config key {where} = {error.instance!r} is not allowed; allowed values: {allowed}"
    if error.validator == "required":
        return f"config section {where} is missing a required key: {error.message}"
    if error.validator == "type":
        return (
            f"config key {where} = {error.instance!r} has the wrong type; "
            f"expected {error.validator_value}"
        )
    if error.validator in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        bound = {
            "minimum": ">=",
            "maximum": "<=",
            "exclusiveMinimum": ">",
            "exclusiveMaximum": "<",
        }[str(error.validator)]
        return (
            f"config key {where} = {error.instance!r} is out of range; "
            f"allowed: {bound} {error.validator_value}"
        )
    if error.validator == "const":
        return (
            f"config key {where} = {error.instance!r}; "
            f"the only supported value is {error.validator_value!r}"
        )
    return f"config key {where}: {error.message}"


# Keys that were renamed: old dotted name -> new dotted name. A config that still uses an
# old name gets one line naming the new one instead of an "unknown key" error.
RENAMED_KEYS: dict[str, str] = {
    # "figure" meant two things: the Fig. 2 clip and every clip that keeps signed IG.
    "attribution.figure_clips": "attribution.signed_clips",
    # One section per method since the method registry.
    "attribution.ig": "attribution.methods.ig",
    "attribution.random_seed": "attribution.methods.random.seed",
}


def _renamed(config: Mapping[str, Any]) -> list[str]:
    problems = []
    for old, new in RENAMED_KEYS.items():
        section: Any = config
        *parents, leaf = old.split(".")
        for part in parents:
            section = section.get(part, {}) if isinstance(section, Mapping) else {}
        if isinstance(section, Mapping) and leaf in section:
            problems.append(f"config key {old} was renamed to {new}; rename it in your config")
    return problems


def _non_finite(value: Any, path: tuple[Any, ...] = ()) -> list[str]:
    """A line for every nan or infinite number in `value`, naming its key.

    YAML reads `.nan` and `.inf` as floats, and a schema range never fails on nan (every
    comparison with it is false), so without this a nan threshold or SNR would run.
    """
    if isinstance(value, Mapping):
        return [line for key, item in value.items() for line in _non_finite(item, (*path, key))]
    if isinstance(value, list):
        return [
            line for index, item in enumerate(value) for line in _non_finite(item, (*path, index))
        ]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"config key {_key_path(path)} = {value!r} is not a finite number"]
    return []


def config_errors(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every schema violation of `config`, one readable line each (empty if valid)."""
    renamed = _renamed(config)
    if renamed:
        return renamed
    non_finite = _non_finite(config)
    if non_finite:
        return non_finite
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    problems = [_explain(error, schema) for error in errors]
    return problems or cross_field_errors(config)


def _duplicates(node: yaml.Node, path: tuple[str, ...], source: str) -> list[str]:
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            dotted = _key_path((*path, key))
            if key in first_line:
                problems.append(
                    f"config file {source}: key {dotted} appears twice, on lines "
                    f"{first_line[key]} and {line} (the last would silently win); keep one"
                )
            else:
                first_line[key] = line
            problems += _duplicates(value_node, (*path, key), source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _duplicates(item, (*path, str(index)), source)
    return problems


def duplicate_key_errors(path: str | Path) -> list[str]:
    """A line for every key that appears twice in one mapping of the YAML file `path`.

    YAML loaders (Snakemake's too) keep the last of two equal keys without a word, so two
    conditions of the same name would silently become one. Read from the file's node tree,
    which still holds both, with their lines.
    """
    with open(path, encoding="utf-8") as handle:
        root = yaml.compose(handle, Loader=yaml.SafeLoader)
    return [] if root is None else _duplicates(root, (), str(path))


def _yaml_scalar(value: Any) -> Any:
    """A `--config` leaf as YAML would read it: '8' -> 8, 'true' -> True, 'null' -> None."""
    if not isinstance(value, str):
        return value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    return parsed if isinstance(parsed, (int, float, bool)) or parsed is None else value


def _coerced(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _coerced(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_coerced(item) for item in value]
    return _yaml_scalar(value)


def coerce_command_line(config: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    """Re-read the nested values of `--config` in `config` the way YAML would.

    Snakemake parses a nested `--config key='{seed: 8}'` with YAML's BaseLoader, which
    keeps every leaf a string ('8'), so no nested number or boolean could be overridden.
    Top-level values are already typed by Snakemake and are left alone.
    """
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(config.get(key), dict):
            _replace_leaves(config[key], value)


def _replace_leaves(section: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(section.get(key), dict):
            _replace_leaves(section[key], value)
        elif key in section:
            section[key] = _coerced(value)


def _ordered_range(config: Mapping[str, Any], dotted: str) -> list[str]:
    section: Any = config
    for part in dotted.split("."):
        section = section[part]
    low, high = section
    if low > high:
        return [
            f"config key {dotted} = {list(section)}: the first value must not exceed the second"
        ]
    return []


def _backbone_problems(backbone: Mapping[str, Any]) -> list[str]:
    if backbone["pretrained"] == "panns" and float(backbone["width"]) != 1.0:
        return [
            f"config key backbone.width = {backbone['width']}: backbone.pretrained: panns "
            "loads the AudioSet CNN14, which has width 1.0"
        ]
    return []


def _soundbank_problems(soundbank: Mapping[str, Any]) -> list[str]:
    if soundbank["source"] != "folder":
        return []
    path = (soundbank.get("folder") or {}).get("path")
    if not path:
        return [
            "config key soundbank.folder.path is required when soundbank.source is folder "
            "(your soundbank in the DESED layout)"
        ]
    if not Path(str(path)).expanduser().is_dir():
        return [f"config key soundbank.folder.path = {path!r} is not a folder"]
    return []


def _condition_problems(config: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for name, overrides in (config.get("conditions") or {}).items():
        for key in ("n_events", "snr_db"):
            if key in overrides:
                problems += _ordered_range(config, f"conditions.{name}.{key}")
        folder = (overrides.get("soundbank") or {}).get("folder")
        if folder and not Path(str(folder)).expanduser().is_dir():
            problems.append(
                f"config key conditions.{name}.soundbank.folder = {folder!r} is not a folder"
            )
    return problems


def _model_problems(config: Mapping[str, Any]) -> list[str]:
    """Each name of run_models must be a models entry; a user's file or folder must exist."""
    models = config.get("models") or {}
    problems = [
        f"config key run_models names {name!r}, which is not under models: "
        f"(configured: {', '.join(models) or 'none'})"
        for name in config.get("run_models") or []
        if name not in models
    ]
    for name in config.get("run_models") or []:
        spec = models.get(name) or {}
        for key in ("path", "search_path"):
            value = spec.get(key)
            if value and not Path(str(value)).expanduser().exists():
                problems.append(f"config key models.{name}.{key} = {value!r} does not exist")
    return problems


def _agreement_problems(config: Mapping[str, Any]) -> list[str]:
    """An agreement seed equal to heads.seed would retrain the trained head itself."""
    seed = config["heads"]["seed"]
    if seed in (config["sanity"].get("agreement_seeds") or []):
        return [
            f"config key sanity.agreement_seeds names {seed}, which is heads.seed: the trained "
            "clip head is already one of the heads compared; name other seeds"
        ]
    return []


def cross_field_errors(config: Mapping[str, Any]) -> list[str]:
    """Problems the schema cannot see because they involve two keys or the file system."""
    problems: list[str] = []
    for dotted in ("synthesis.n_events", "synthesis.snr_db", "metrics.tau"):
        problems += _ordered_range(config, dotted)
    problems += _backbone_problems(config["backbone"])
    problems += _soundbank_problems(config["soundbank"])
    problems += _condition_problems(config)
    problems += _model_problems(config)
    problems += _agreement_problems(config)
    return problems
