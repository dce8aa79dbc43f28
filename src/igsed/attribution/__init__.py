"""Attribution stage: IG on the raw waveform and the comparison methods' frame scores."""

from igsed.attribution import fused as fused  # registers the "fused" IG engine
from igsed.attribution.baselines import energy_scores, fw_to_eval_grid, random_scores
from igsed.attribution.ig import (
    IG_METHODS,
    IGResult,
    IGSettings,
    attribute_clip,
    frame_magnitude,
    integrated_gradients,
    register_engine,
)
from igsed.attribution.shard import attribute_shard

__all__ = [
    "IG_METHODS",
    "IGResult",
    "IGSettings",
    "attribute_clip",
    "attribute_shard",
    "energy_scores",
    "frame_magnitude",
    "fw_to_eval_grid",
    "integrated_gradients",
    "random_scores",
    "register_engine",
]
