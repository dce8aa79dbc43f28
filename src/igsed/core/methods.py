"""The attribution methods by name: what each is, which models it needs, how it is labelled.

Pure data, so the rules, the shard format and the evaluation can know the methods without
importing torch; `igsed.methods.registry` maps the same names to their implementations
(a test keeps the two key sets equal). Each method's definition, parameters and reference
implementation: docs/methods.md.

Plug-in methods (config `attribution.plugins`, docs/methods.md) join the catalogue at run time
(`register_plugins`); rules/common.smk exports their entries to every job through the
environment (`PLUGIN_ENVIRONMENT`), so each stage knows them as it knows the built-in ones.

The capability names are those of the classifier contract (igsed.models.classifier): what a
model may declare beyond clip probabilities, and so what a method may need of it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The models a method is run with, by role (igsed.formats.shards.MODEL_ROLES).
EXPLAINED = ("backbone", "clip_head")

# Optional capabilities of a classifier (igsed.models.classifier says what each offers).
FRAME_OUTPUT = "frame_output"
LAYERS = "layers"
POWER_SPLIT = "power_split"
LOGMEL_SPLIT = "logmel_split"
MODULE_FORM = "module_form"
CAPABILITIES: tuple[str, ...] = (FRAME_OUTPUT, LAYERS, POWER_SPLIT, LOGMEL_SPLIT, MODULE_FORM)


@dataclass(frozen=True)
class MethodInfo:
    """One attribution method as every stage sees it.

    `all_classes`: the method scores all ten classes of every clip (it does not depend on
    the clip classifier's detections), so its shards do not read the instances file.
    `waveform`: the method attributes samples, so the clips that keep signed attributions
    keep its per-sample values too.
    `own_detections`: its shards carry the method's own clip probabilities, which the
    evaluation uses as its instances under `metrics.fw_detections: own`.
    `light`: the method costs well under a second per clip, so its shards hold a whole split
    (an attribute job's fixed cost, about 5 s of start-up and model loading, would
    otherwise outweigh its work); the others take `attribution.clips_per_shard` clips.
    `needs`: the capabilities a model must declare for the method to run on it (a model
    without them is not explained by the method; the fast paths of POWER_SPLIT are used
    where declared and are no need).
    """

    name: str
    label: str
    family: str
    models: tuple[str, ...]
    all_classes: bool = False
    waveform: bool = False
    own_detections: bool = False
    seeded: bool = False
    light: bool = False
    needs: tuple[str, ...] = ()


METHOD_INFO: dict[str, MethodInfo] = {
    info.name: info
    for info in (
        MethodInfo("ig", "IG", "gradient", EXPLAINED, waveform=True),
        MethodInfo("saliency", "Saliency", "gradient", EXPLAINED, waveform=True, light=True),
        MethodInfo(
            "input_x_gradient",
            "Input×Gradient",
            "gradient",
            EXPLAINED,
            waveform=True,
            light=True,
        ),
        MethodInfo("smoothgrad", "SmoothGrad", "gradient", EXPLAINED, waveform=True, seeded=True),
        MethodInfo(
            "gradient_shap", "GradientSHAP", "gradient", EXPLAINED, waveform=True, seeded=True
        ),
        MethodInfo("gradcam", "Grad-CAM", "layer", EXPLAINED, light=True, needs=(LAYERS,)),
        # IG and saliency at the model's log-mel input, where most audio XAI attributes.
        MethodInfo("logmel_ig", "Log-mel IG", "gradient", EXPLAINED, needs=(LOGMEL_SPLIT,)),
        MethodInfo(
            "logmel_saliency",
            "Log-mel saliency",
            "gradient",
            EXPLAINED,
            light=True,
            needs=(LOGMEL_SPLIT,),
        ),
        # DeepLift needs the network after the log-mel with its non-linearities as modules.
        MethodInfo(
            "logmel_deeplift",
            "Log-mel DeepLift",
            "gradient",
            EXPLAINED,
            light=True,
            needs=(LOGMEL_SPLIT, MODULE_FORM),
        ),
        MethodInfo("occlusion", "Occlusion", "perturbation", EXPLAINED),
        MethodInfo("surrogate", "Surrogate", "perturbation", EXPLAINED, seeded=True),
        MethodInfo("rise", "RISE", "perturbation", EXPLAINED, seeded=True),
        MethodInfo(
            "fw_weak",
            "FW-WS",
            "model-intrinsic",
            ("backbone", "fw_weak"),
            all_classes=True,
            own_detections=True,
            light=True,
            needs=(FRAME_OUTPUT,),
        ),
        MethodInfo(
            "fw_strong",
            "FW-SS",
            "model-intrinsic",
            ("backbone", "fw_strong"),
            all_classes=True,
            own_detections=True,
            light=True,
            needs=(FRAME_OUTPUT,),
        ),
        # A SED model's own frame probabilities (capability FRAME_OUTPUT), on the instances of
        # its own clip output: the CRNN's counterpart of the framewise heads.
        MethodInfo(
            "model_frames",
            "Model frames",
            "model-intrinsic",
            EXPLAINED,
            light=True,
            needs=(FRAME_OUTPUT,),
        ),
        MethodInfo("energy", "Energy baseline", "baseline", (), all_classes=True, light=True),
        MethodInfo(
            "random", "Random baseline", "baseline", (), all_classes=True, seeded=True, light=True
        ),
    )
}
# The built-in methods: each has a registry entry and a parameter schema.
METHOD_NAMES: tuple[str, ...] = tuple(METHOD_INFO)
# The method every other is compared with in the paired differences: the paper's.
REFERENCE_METHOD = "ig"
# The gradient families: the methods the sanity checks (cascading randomisation) apply to.
GRADIENT_FAMILIES: tuple[str, ...] = ("gradient", "layer")


def method_label(name: str) -> str:
    """The method's label in tables and figures (its name if it is not a known method)."""
    info = METHOD_INFO.get(name)
    return info.label if info is not None else name


def method_info(name: str) -> MethodInfo:
    """The method called `name`, or a KeyError listing the known ones."""
    if name not in METHOD_INFO:
        raise KeyError(f"unknown attribution method {name!r}; known: {', '.join(METHOD_INFO)}")
    return METHOD_INFO[name]


# The families a plug-in may declare: it explains the clip classifier, as these do.
PLUGIN_FAMILIES: tuple[str, ...] = ("gradient", "layer", "perturbation")
PLUGIN_OUTPUTS: tuple[str, ...] = ("frames", "waveform")
PLUGIN_ENVIRONMENT = "IGSED_PLUGIN_METHODS"


def plugin_info(name: str, spec: Mapping[str, Any]) -> MethodInfo:
    """The catalogue entry of plug-in `name` from its `attribution.plugins` section, or a
    ValueError naming the key and what it allows."""
    where = f"attribution.plugins.{name}"
    if name in METHOD_NAMES:
        raise ValueError(f"{where}: {name!r} is a built-in method; give the plug-in another name")
    family = spec.get("family")
    if family not in PLUGIN_FAMILIES:
        raise ValueError(f"{where}.family: {family!r}; allowed: {', '.join(PLUGIN_FAMILIES)}")
    needs = tuple(spec.get("needs", ()))
    unknown = sorted(set(needs) - set(CAPABILITIES))
    if unknown:
        raise ValueError(f"{where}.needs: {unknown}; allowed: {', '.join(CAPABILITIES)}")
    output = spec.get("output", "frames")
    if output not in PLUGIN_OUTPUTS:
        raise ValueError(f"{where}.output: {output!r}; allowed: {', '.join(PLUGIN_OUTPUTS)}")
    return MethodInfo(
        name,
        str(spec.get("label") or name),
        family,
        EXPLAINED,
        waveform=output == "waveform",
        seeded=bool(spec.get("seeded", False)),
        needs=needs,
    )


def register_plugins(specs: Mapping[str, Mapping[str, Any]]) -> None:
    """Add the plug-ins of `attribution.plugins` to METHOD_INFO (again: replaced)."""
    for name, spec in specs.items():
        METHOD_INFO[name] = plugin_info(name, spec)


def export_plugins(specs: Mapping[str, Mapping[str, Any]]) -> None:
    """Register the plug-ins here and hand them to every job this process starts."""
    register_plugins(specs)
    os.environ[PLUGIN_ENVIRONMENT] = json.dumps({name: dict(spec) for name, spec in specs.items()})


def is_plugin(name: str) -> bool:
    return name in METHOD_INFO and name not in METHOD_NAMES


register_plugins(json.loads(os.environ.get(PLUGIN_ENVIRONMENT) or "{}"))
