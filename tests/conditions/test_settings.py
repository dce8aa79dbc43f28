"""What a condition changes: synthesis settings, its own soundbank, its description."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from support.workflow import REPO

from igsed.conditions.settings import (
    MAIN_CONDITION,
    SoundbankRequest,
    describe,
    soundbank_request,
    synthesis_settings,
)


def _config(conditions: dict[str, Any]) -> dict[str, Any]:
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["conditions"] = conditions
    return config


def test_overrides_replace_only_their_keys() -> None:
    synthesis = _config({})["synthesis"]
    low = synthesis_settings(synthesis, {"snr_db": [-5, 5], "ref_db": -40})
    assert low == {
        "duration_s": synthesis["duration_s"],
        "sample_rate": synthesis["sample_rate"],
        "n_events": synthesis["n_events"],
        "snr_db": [-5, 5],
        "ref_db": -40,
    }
    assert synthesis_settings(synthesis) == synthesis_settings(synthesis, {})


def test_a_condition_soundbank_is_a_folder_a_seed_or_the_runs() -> None:
    soundbank = _config({})["soundbank"]
    assert soundbank_request(soundbank, {"snr_db": [0, 10]}) is None
    assert soundbank_request(soundbank, {"soundbank": {"folder": "/data/rec"}}) == (
        SoundbankRequest("folder", {"path": "/data/rec"})
    )
    seeded = soundbank_request(soundbank, {"soundbank": {"synthetic_seed": 9}})
    assert seeded is not None and seeded.source == "synthetic"
    assert seeded.settings == {**soundbank["synthetic"], "seed": 9}
    # The run's own settings are not modified.
    assert soundbank["synthetic"]["seed"] == 1


def test_descriptions_name_what_each_condition_changes(tmp_path: Path) -> None:
    config = _config({"low": {"snr_db": [-5, 5]}, "rec": {"soundbank": {"folder": str(tmp_path)}}})
    assert describe(config, MAIN_CONDITION) == {
        "snr_db": [15.0, 25.0],
        "n_events": [1, 3],
        "ref_db": -55.0,
        "soundbank": "synthetic",
    }
    assert describe(config, "low")["snr_db"] == [-5.0, 5.0]
    assert describe(config, "rec")["soundbank"] == f"folder {tmp_path}"
