"""The attribution methods by name: what each is, which models it needs, how it is labelled.

Pure data, so the rules, the shard format and the evaluation can know the methods without
importing torch; `igsed.methods.registry` maps the same names to their implementations
(a test keeps the two key sets equal). Each method's definition, parameters and reference
implementation: docs/methods.md.

The capability names are those of the classifier contract (igsed.models.classifier): what a
model may declare beyond clip probabilities, and so what a method may need of it.
"""

from __future__ import annotations

from dataclasses import dataclass

# The models a method is run with, by role (igsed.formats.shards.MODEL_ROLES).
EXPLAINED = ("backbone", "clip_head")

# Optional capabilities of a classifier (igsed.models.classifier says what each offers).
FRAME_OUTPUT = "frame_output"
LAYERS = "layers"
POWER_SPLIT = "power_split"
CAPABILITIES: tuple[str, ...] = (FRAME_OUTPUT, LAYERS, POWER_SPLIT)


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
        raise KeyError(f"unknown attribution method {name!r}; known: {', '.join(METHOD_NAMES)}")
    return METHOD_INFO[name]
