"""Plug-in methods: a function from outside the package, named in config as
`package.module:function` (`attribution.plugins.<name>`, docs/methods.md), run like a
built-in method.

The function is called once per clip as `function(model, waveform, targets, **options)`
(plus `generator=`, a numpy Generator seeded from the clip id, when the plug-in declares
`seeded: true`): `model` is the explained classifier (igsed.models.classifier), `waveform` a
(N,) float32 array at 32 kHz, `targets` the class indices to score. It returns one row per
target: frame scores on the 100 ms grid, (k, 100), for `output: frames`, or a per-sample
attribution, (k, N), for `output: waveform` (igsed then takes mean |a| per frame, as for IG).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from igsed.core.constants import N_EVAL_FRAMES
from igsed.core.entry_points import put_first_on_import_path
from igsed.core.methods import PLUGIN_OUTPUTS
from igsed.methods.baselines import clip_seed_sequence

# Keys of a plug-in's section that the catalogue reads (igsed.core.methods.plugin_info) or
# that only trigger re-runs (the digest of its source); the settings here ignore them.
CATALOGUE_KEYS = ("label", "family", "needs", "source_sha256")


@dataclass(frozen=True)
class PluginSettings:
    """How to call one plug-in: its function, where it imports from, its keyword options."""

    name: str
    function: str
    output: str = "frames"
    search_path: str | None = None
    seeded: bool = False
    seed: int = 13
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        module, _, function = self.function.partition(":")
        if not module or not function:
            raise ValueError(
                f"attribution.plugins.{self.name}.function: {self.function!r} is not "
                "'package.module:function'"
            )
        if self.output not in PLUGIN_OUTPUTS:
            raise ValueError(
                f"attribution.plugins.{self.name}.output: {self.output!r}; allowed: "
                f"{', '.join(PLUGIN_OUTPUTS)}"
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "output": self.output,
            "seeded": self.seeded,
            "seed": self.seed,
            "options": dict(self.options),
        }


def plugin_settings(name: str, params: Mapping[str, Any]) -> PluginSettings:
    """The settings of plug-in `name` from its config section (ValueError naming a bad key)."""
    values = {k: v for k, v in params.items() if k not in CATALOGUE_KEYS}
    try:
        return PluginSettings(name=name, **values)
    except TypeError as error:  # an unknown key
        raise ValueError(f"attribution.plugins.{name}: {error}") from error


@functools.cache
def _function(entry: str, search_path: str | None) -> Callable[..., Any]:
    put_first_on_import_path(search_path)
    module, _, name = entry.partition(":")
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"plug-in method {entry!r} cannot be imported ({error})") from error
    if not callable(function):
        raise ValueError(f"plug-in method {entry!r} is a {type(function).__name__}, not callable")
    return function


def plugin_rows(
    settings: PluginSettings,
    model: Any,
    clip_id: str,
    waveform: np.ndarray,
    targets: tuple[int, ...],
) -> np.ndarray:
    """The plug-in's rows for one clip, float32, checked: (k, 100) frame scores, or (k, N)
    per-sample values for `output: waveform`."""
    function = _function(settings.function, settings.search_path)
    options = dict(settings.options)
    if settings.seeded:
        options["generator"] = np.random.default_rng(clip_seed_sequence(clip_id, settings.seed))
    rows = np.asarray(function(model, waveform, targets, **options), dtype=np.float32)
    width = waveform.shape[0] if settings.output == "waveform" else N_EVAL_FRAMES
    if rows.shape != (len(targets), width):
        raise ValueError(
            f"plug-in {settings.name} ({settings.function}) returned shape {rows.shape} for "
            f"clip {clip_id}; expected ({len(targets)}, {width}): one row per target class "
            f"of {'samples' if settings.output == 'waveform' else '100 ms frames'}"
        )
    return rows
