"""CNN14's front end side by side: the power spectrogram through the FFT (Cnn14) against the
1024-tap conv1d DFT it replaced (tests/support/dft_reference.py, the equivalence test's
reference), forward + backward w.r.t. the waveform, in one process on one thread.

    .venv/bin/python benchmarks/front_end.py [--clips 4] [--seconds 10] [--repeats 5]

Prints the best and median seconds of each path, forward + backward and forward only, and
the float32 differences of the power and of the waveform gradient (of <power, a random
cotangent>): per clip, the largest |difference| over the largest magnitude, FFT against
conv1d and each against the float64 FFT. Half the clips are white noise, half a
synthetic soundscape (background and events).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))  # support.dft_reference: the one conv1d reference

from support.dft_reference import ConvDftCnn14  # noqa: E402

from igsed.core.constants import SAMPLE_RATE, STFT_HOP  # noqa: E402
from igsed.models.cnn14 import N_FREQ_BINS, Cnn14  # noqa: E402
from igsed.soundbank.synthetic import generate_background, generate_event  # noqa: E402

Power = Callable[[torch.Tensor], torch.Tensor]


def clips(n_clips: int, seconds: float) -> torch.Tensor:
    """(n_clips, samples) float64: white noise, then soundscapes, seeded."""
    rng = np.random.default_rng(0)
    n = int(seconds * SAMPLE_RATE)
    rows = []
    for index in range(n_clips):
        if index < n_clips // 2:
            rows.append(0.1 * rng.standard_normal(n))
            continue
        audio = generate_background(rng, seconds, SAMPLE_RATE).astype(np.float64)
        for label in ("Speech", "Dog", "Dishes"):
            event = generate_event(label, rng, SAMPLE_RATE)[: n // 2]
            at = int(rng.integers(0, n - event.size))
            audio[at : at + event.size] += event
        rows.append(audio)
    return torch.from_numpy(np.stack(rows))


def forward_backward(power: Power, waveform: torch.Tensor, cotangent: torch.Tensor) -> float:
    start = time.perf_counter()
    leaf = waveform.clone().requires_grad_(True)
    torch.autograd.grad(power(leaf), leaf, cotangent)
    return time.perf_counter() - start


def forward(power: Power, waveform: torch.Tensor) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        power(waveform)
    return time.perf_counter() - start


def power_and_gradient(
    power: Power, waveform: torch.Tensor, cotangent: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The power and the waveform gradient of <power, cotangent>, as float64."""
    leaf = waveform.clone().requires_grad_(True)
    out = power(leaf)
    (gradient,) = torch.autograd.grad(out, leaf, cotangent.to(out.dtype))
    return out.detach().double(), gradient.double()


def relative(ours: torch.Tensor, reference: torch.Tensor) -> float:
    """Largest over clips of max |ours - reference| / max |reference|."""
    per_clip = (ours - reference).flatten(1).abs().amax(1) / reference.flatten(1).abs().amax(1)
    return float(per_clip.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    waveform64 = clips(args.clips, args.seconds)
    waveform = waveform64.float()
    paths = {
        "conv1d": ConvDftCnn14(width=1 / 16).eval().power_spectrogram,
        "fft": Cnn14(width=1 / 16).eval().power_spectrogram,
    }
    exact_model = Cnn14(width=1 / 16).double().eval()
    cotangent = torch.randn(
        (args.clips, 1, waveform.shape[1] // STFT_HOP + 1, N_FREQ_BINS),
        generator=torch.Generator().manual_seed(1),
    )
    exact = power_and_gradient(exact_model.power_spectrogram, waveform64, cotangent.double())
    out = {name: power_and_gradient(power, waveform, cotangent) for name, power in paths.items()}
    timings: dict[str, dict[str, list[float]]] = {name: {"fb": [], "f": []} for name in paths}
    for _ in range(args.repeats):  # alternating, so both share the machine's state
        for name, power in paths.items():
            timings[name]["fb"].append(forward_backward(power, waveform, cotangent))
            timings[name]["f"].append(forward(power, waveform))
    print(f"{args.clips} clips of {args.seconds:g} s, float32, 1 thread, {args.repeats} repeats")
    for name, kinds in timings.items():
        fb, f = kinds["fb"], kinds["f"]
        print(
            f"  {name:6s} forward+backward best {min(fb):.3f} s, median {statistics.median(fb):.3f}"
            f" s; forward best {min(f):.3f} s, median {statistics.median(f):.3f} s"
        )
    for kind, label in (("fb", "forward+backward"), ("f", "forward")):
        speed_up = min(timings["conv1d"][kind]) / min(timings["fft"][kind])
        print(f"  {label}: fft {speed_up:.2f}x faster (best against best)")
    for index, what in enumerate(("power", "waveform gradient")):
        fft, conv1d, float64 = out["fft"][index], out["conv1d"][index], exact[index]
        print(
            f"  float32 {what}, max |diff| / max: fft vs conv1d {relative(fft, conv1d):.2e}, "
            f"fft vs float64 {relative(fft, float64):.2e}, "
            f"conv1d vs float64 {relative(conv1d, float64):.2e}"
        )


if __name__ == "__main__":
    main()
