"""Plug-in methods (config `attribution.plugins`): a function from tests/support, registered
in the catalogue and run through the registry like a built-in method."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from support.explained import NARROW, burst_clip, random_explained
from support.workflow import REPO

from igsed.core import methods
from igsed.core.constants import CLIP_SAMPLES
from igsed.methods.frames import frame_magnitude
from igsed.methods.gradients import saliency
from igsed.methods.registry import ClipInput, implementation, method_settings

TESTS = str(REPO / "tests")
SQUARED = {
    "function": "support.plugin_methods:squared_gradient",
    "search_path": TESTS,
    "family": "gradient",
    "output": "waveform",
    "label": "Squared gradient",
    "options": {"scale": 3.0},
}
NOISY = {
    "function": "support.plugin_methods:noisy_frames",
    "search_path": TESTS,
    "family": "perturbation",
    "seeded": True,
    "seed": 5,
}


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test plug-ins registered, and the catalogue restored afterwards."""
    monkeypatch.setattr(methods, "METHOD_INFO", dict(methods.METHOD_INFO))
    methods.register_plugins(
        {"squared": SQUARED, "noisy": NOISY, "bad": {**NOISY, "function": BAD, "seeded": False}}
    )


BAD = "support.plugin_methods:wrong_shape"


def _run(name: str, spec: dict, clip: ClipInput, model: object = None) -> object:
    return implementation(name).compute(model, clip, method_settings(name, spec))


@pytest.mark.usefixtures("plugins")
def test_a_waveform_plugin_is_scored_like_a_built_in_gradient_method() -> None:
    model = random_explained(NARROW, seed=3, dtype=torch.float64)
    waveform = burst_clip(CLIP_SAMPLES, seed=2).astype(np.float32)
    clip = ClipInput("clip_a", waveform, (1, 4))
    result = _run("squared", SQUARED, clip, model)
    # By hand: 3 (dp/dx)², the square of igsed's saliency, then mean |.| per 100 ms frame.
    expected = np.stack([frame_magnitude(3.0 * row.astype(np.float64) ** 2) for row in
                         saliency(model, waveform, [1, 4])])  # fmt: skip
    # float64 gradients by two paths (igsed's batched over targets, the plug-in's one backward
    # per target), the plug-in's rows kept in float32 as every method's are.
    np.testing.assert_allclose(result.scores, expected, rtol=1e-6, atol=0)
    assert result.waveform_attribution.shape == (2, CLIP_SAMPLES)
    info = methods.method_info("squared")
    assert (info.label, info.family, info.waveform, info.models) == (
        "Squared gradient",
        "gradient",
        True,
        methods.EXPLAINED,
    )


@pytest.mark.usefixtures("plugins")
def test_a_seeded_plugin_gets_a_generator_seeded_from_the_clip_id() -> None:
    waveform = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    first = _run("noisy", NOISY, ClipInput("clip_a", waveform, (0, 2))).scores
    again = _run("noisy", NOISY, ClipInput("clip_a", waveform, (0, 2))).scores
    other = _run("noisy", NOISY, ClipInput("clip_b", waveform, (0, 2))).scores
    reseeded = _run("noisy", {**NOISY, "seed": 6}, ClipInput("clip_a", waveform, (0, 2))).scores
    np.testing.assert_array_equal(first, again)
    assert first.shape == (2, 100)
    assert not np.array_equal(first, other) and not np.array_equal(first, reseeded)


@pytest.mark.usefixtures("plugins")
def test_a_wrong_shape_names_the_plugin_and_what_was_expected() -> None:
    clip = ClipInput("clip_a", np.zeros(CLIP_SAMPLES, dtype=np.float32), (0,))
    with pytest.raises(ValueError, match=r"plug-in bad .*wrong_shape\) returned shape \(1, 99\)"):
        _run("bad", {**NOISY, "function": BAD, "seeded": False}, clip)


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        ("ig", NOISY, "'ig' is a built-in method"),
        ("x", {**NOISY, "family": "baseline"}, "attribution.plugins.x.family: 'baseline'"),
        ("x", {**NOISY, "needs": ["wings"]}, r"attribution.plugins.x.needs: \['wings'\]"),
        ("x", {**NOISY, "output": "sound"}, "attribution.plugins.x.output: 'sound'"),
    ],
)
def test_a_bad_catalogue_entry_names_its_key(name: str, spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        methods.plugin_info(name, spec)


@pytest.mark.usefixtures("plugins")
def test_an_unknown_function_or_key_is_named() -> None:
    clip = ClipInput("clip_a", np.zeros(CLIP_SAMPLES, dtype=np.float32), (0,))
    missing = {**NOISY, "function": "support.plugin_methods:nothing_here"}
    with pytest.raises(ValueError, match="plug-in method 'support.plugin_methods:nothing_here'"):
        _run("noisy", missing, clip)
    with pytest.raises(ValueError, match="attribution.plugins.noisy: .*'colour'"):
        method_settings("noisy", {**NOISY, "colour": "red"})
    with pytest.raises(KeyError, match="unknown attribution method 'nowhere'; known: ig, "):
        implementation("nowhere")


def test_every_job_learns_the_plugins_from_the_environment() -> None:
    """What rules/common.smk exports, a fresh process (a job) has in its catalogue."""
    environment = dict(os.environ, **{methods.PLUGIN_ENVIRONMENT: json.dumps({"noisy": NOISY})})
    code = "from igsed.core.methods import method_info; print(method_info('noisy'))"
    run = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    assert "name='noisy'" in run.stdout and "family='perturbation'" in run.stdout
