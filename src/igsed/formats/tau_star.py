"""τ* (rule evaluate): each method's thresholds chosen on val, reader beside writer.

tau_star.json::

    selection   how τ* is chosen (text)
    tau_range   [first, last] integer τ swept
    options     the instance options evaluate used (attribution.threshold among them)
    methods     {method: {n_val_instances, iou: {tau, val_value}, f1: {tau, val_value}}}
                tau: an integer of tau_range, or null where the method had no val instance

Read by the figures, the summary and `igsed explain`; checked on reading against its
writer's record (formats.handover) and against this layout.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from igsed.formats.handover import damaged, read_handover_json, write_handover_json

TAU_METRICS: tuple[str, ...] = ("iou", "f1")


@dataclass(frozen=True)
class TauStar:
    selection: str
    tau_range: tuple[int, int]
    options: Mapping[str, Any] = field(default_factory=dict)
    # method -> {"n_val_instances": int, "iou": {"tau", "val_value"}, "f1": {...}}
    methods: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def tau(self, method: str, metric: str) -> int | None:
        """The method's τ* for `metric`, or None (not evaluated, or no val instance)."""
        value = self.methods.get(method, {}).get(metric, {}).get("tau")
        return None if value is None else int(value)

    def val_value(self, method: str, metric: str) -> float | None:
        """The val figure at the method's τ* for `metric` (None where undefined)."""
        value = self.methods.get(method, {}).get(metric, {}).get("val_value")
        return None if value is None else float(value)

    def threshold(self) -> float | None:
        """The attribution threshold (config attribution.threshold) evaluate used."""
        value = self.options.get("threshold")
        return None if value is None else float(value)

    def payload(self) -> dict[str, Any]:
        return {
            "selection": self.selection,
            "tau_range": [int(self.tau_range[0]), int(self.tau_range[1])],
            "options": dict(self.options),
            "methods": {method: dict(entry) for method, entry in self.methods.items()},
        }


def write_tau_star(path: str | os.PathLike[str], tau_star: TauStar) -> None:
    """tau_star.json atomically, with its record."""
    write_handover_json(path, tau_star.payload())


def _check_method(path: object, method: str, entry: Any, tau_range: tuple[int, int]) -> None:
    if not isinstance(entry, Mapping):
        raise damaged(path, f"methods.{method} is not an object")
    for metric in TAU_METRICS:
        chosen = entry.get(metric)
        if not isinstance(chosen, Mapping) or "tau" not in chosen:
            raise damaged(path, f"methods.{method}.{metric} lacks its tau")
        tau = chosen["tau"]
        if tau is not None and (
            isinstance(tau, bool)
            or not isinstance(tau, int)
            or not tau_range[0] <= tau <= tau_range[1]
        ):
            raise damaged(
                path,
                f"methods.{method}.{metric}.tau is {tau!r}, expected an integer in "
                f"{list(tau_range)} or null",
            )


def read_tau_star(path: str | os.PathLike[str]) -> TauStar:
    """tau_star.json as written by `write_tau_star`, checked."""
    payload = read_handover_json(path)
    if not isinstance(payload, Mapping):
        raise damaged(path, "not a JSON object")
    missing = [
        key for key in ("selection", "tau_range", "options", "methods") if key not in payload
    ]
    if missing:
        raise damaged(path, f"missing keys {missing}")
    tau_range = payload["tau_range"]
    if not (isinstance(tau_range, list) and len(tau_range) == 2):
        raise damaged(path, f"tau_range is {tau_range!r}, expected [first, last]")
    span = (int(tau_range[0]), int(tau_range[1]))
    if not isinstance(payload["methods"], Mapping) or not isinstance(payload["options"], Mapping):
        raise damaged(path, "methods and options must be objects")
    for method, entry in payload["methods"].items():
        _check_method(path, method, entry, span)
    return TauStar(str(payload["selection"]), span, payload["options"], payload["methods"])
