"""The config schema with the method names filled in from the one catalogue.

The schema file lists each method's parameters (`attribution.methods.<name>`), but not the
list of names itself: `attribution.run`'s allowed values and the methods every config must
configure come from igsed.core.methods.METHOD_NAMES, so adding a method is one catalogue
entry, one registry entry and its parameters' schema. A schema whose method parameter
entries do not match the catalogue is refused.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import yaml

from igsed.core.methods import METHOD_NAMES
from igsed.formats.layout import RESERVED_CONDITION_NAMES, RESERVED_MODEL_NAMES


def _methods_section(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["properties"]["attribution"]["properties"]


def load_schema(path: str | os.PathLike[str], plugin_names: Sequence[str] = ()) -> dict[str, Any]:
    """The schema at `path` with the method names of the catalogue (and the config's
    plug-ins, `attribution.plugins`) filled in."""
    with open(path, encoding="utf-8") as handle:
        schema = yaml.safe_load(handle)
    attribution = _methods_section(schema)
    described = tuple(attribution["methods"]["properties"])
    if set(described) != set(METHOD_NAMES):
        raise ValueError(
            f"{path}: attribution.methods describes {sorted(described)}, but the method "
            f"catalogue (igsed/core/methods.py) has {sorted(METHOD_NAMES)}"
        )
    attribution["run"]["items"]["enum"] = [*METHOD_NAMES, *plugin_names]
    # A plug-in may not take a built-in method's name.
    attribution["plugins"]["propertyNames"]["not"] = {"enum": list(METHOD_NAMES)}
    attribution["methods"]["required"] = list(METHOD_NAMES)
    # A condition or model name is a path level: not one of the layout's own folders.
    properties = schema["properties"]
    properties["conditions"]["propertyNames"]["not"] = {"enum": list(RESERVED_CONDITION_NAMES)}
    properties["models"]["propertyNames"]["not"] = {"enum": list(RESERVED_MODEL_NAMES)}
    return schema
