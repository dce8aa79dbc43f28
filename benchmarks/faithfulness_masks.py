"""The faithfulness rule's masked forwards: the power of each masked copy from its own STFT
(a plain forward) against Cnn14.masked_power (only the windows a mask boundary crosses),
measured side by side on one 10 s clip and the masks of one instance's four curves.

    .venv/bin/python benchmarks/faithfulness_masks.py [--width 0.125] [--repeats 3]

Prints the seconds of each path per clip and their ratio, and checks that both give the
same probabilities (float32, to 1e-5).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from igsed.core.constants import CLIP_SAMPLES, N_EVAL_FRAMES
from igsed.faithfulness.curves import curve_masks, distinct_masks
from igsed.faithfulness.faithfulness import mask_probabilities
from igsed.models.cnn14 import Cnn14
from igsed.models.explained import ExplainedModel
from igsed.models.heads import make_head


class PlainForward(torch.nn.Module):
    """The same classifier, seen only through its waveform forward (the plain path)."""

    def __init__(self, model: ExplainedModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.model(waveform)


def _seconds(model: torch.nn.Module, waveform: torch.Tensor, masks: np.ndarray) -> float:
    start = time.perf_counter()
    mask_probabilities(model, waveform, masks, batch_size=16)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=0.125)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    backbone = Cnn14(width=args.width)
    model = ExplainedModel(backbone, make_head("clip", backbone, "max")).eval()
    rng = np.random.default_rng(0)
    waveform = torch.as_tensor(0.1 * rng.standard_normal(CLIP_SAMPLES), dtype=torch.float32)
    masks, _ = distinct_masks(
        np.concatenate(list(curve_masks(rng.random(N_EVAL_FRAMES), 10).values()))
    )
    plain, fast = PlainForward(model), model
    np.testing.assert_allclose(
        mask_probabilities(fast, waveform, masks, 16),
        mask_probabilities(plain, waveform, masks, 16),
        atol=1e-5,
    )
    timings = {"plain": [], "masked_power": []}
    for _ in range(args.repeats):  # alternating, so both share the machine's state
        timings["plain"].append(_seconds(plain, waveform, masks))
        timings["masked_power"].append(_seconds(fast, waveform, masks))
    best = {name: min(values) for name, values in timings.items()}
    print(f"width {args.width}, {len(masks)} distinct masked copies of one 10 s clip, 1 thread")
    for name, seconds in best.items():
        print(f"  {name:13s} {seconds:6.2f} s per clip (best of {args.repeats})")
    print(f"  speed-up {best['plain'] / best['masked_power']:.2f}x")


if __name__ == "__main__":
    main()
