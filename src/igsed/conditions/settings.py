"""What a test condition changes: the eval pool's synthesis settings and, optionally, its
soundbank. Pure functions of the config, used by rules/common.smk and the comparison."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The configured synthesis, whose results live directly under results/.
MAIN_CONDITION = "main"
# The synthesize rule's settings (a condition may replace the last three).
SYNTHESIS_KEYS: tuple[str, ...] = ("duration_s", "sample_rate", "n_events", "snr_db", "ref_db")
OVERRIDABLE_KEYS: tuple[str, ...] = ("n_events", "snr_db", "ref_db")


@dataclass(frozen=True)
class SoundbankRequest:
    """A condition's own soundbank: a source of igsed.soundbank and its settings."""

    source: str
    settings: dict[str, Any]


def synthesis_settings(
    synthesis: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The synthesize rule's settings for a condition (`overrides` None or {}: main's)."""
    overrides = overrides or {}
    return {key: overrides.get(key, synthesis[key]) for key in SYNTHESIS_KEYS}


def soundbank_request(
    soundbank: Mapping[str, Any], overrides: Mapping[str, Any]
) -> SoundbankRequest | None:
    """The condition's own soundbank, or None when it uses the run's."""
    own = overrides.get("soundbank") or {}
    if "folder" in own:
        return SoundbankRequest("folder", {"path": str(own["folder"])})
    if "synthetic_seed" in own:
        return SoundbankRequest(
            "synthetic", {**dict(soundbank["synthetic"]), "seed": int(own["synthetic_seed"])}
        )
    return None


def is_recordings(config: Mapping[str, Any], condition: str) -> bool:
    """A condition of real annotated recordings (`recordings:`), not re-synthesised."""
    return condition != MAIN_CONDITION and "recordings" in config["conditions"][condition]


def describe(config: Mapping[str, Any], condition: str) -> dict[str, Any]:
    """What a reader needs to tell conditions apart: SNR, events, loudness and soundbank
    (for real recordings: no synthesis settings, NaN, and the recordings' folder)."""
    overrides = {} if condition == MAIN_CONDITION else config["conditions"][condition]
    if "recordings" in overrides:
        missing = float("nan")
        return {
            "snr_db": [missing, missing],
            "n_events": [missing, missing],
            "ref_db": missing,
            "soundbank": f"recordings {overrides['recordings']['audio']}",
        }
    settings = synthesis_settings(config["synthesis"], overrides)
    request = soundbank_request(config["soundbank"], overrides)
    if request is None:
        soundbank = config["soundbank"]["source"]
    elif request.source == "folder":
        soundbank = f"folder {request.settings['path']}"
    else:
        soundbank = f"synthetic (seed {request.settings['seed']})"
    return {
        "snr_db": [float(v) for v in settings["snr_db"]],
        "n_events": [int(v) for v in settings["n_events"]],
        "ref_db": float(settings["ref_db"]),
        "soundbank": soundbank,
    }
