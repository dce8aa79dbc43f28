"""What a model gives up off CNN14: each method on the native CNN14 against the same network
exported with torch.jit and run as a `torchscript` user model, side by side.

The native path uses CNN14's declared power-spectrogram split (the front end once per clip,
the fused IG engine, occluded power, the folded inference network); the export has only the
contract (waveform -> probabilities), so IG takes the autograd path and occlusion forwards
every occluded copy whole. Same clip (the burst clip of the tests, 10 s), same two classes,
same settings; runs alternate (reversed on odd repeats) and the table shows medians of
seconds per (clip, class) at the default width, float32, one torch thread.

    .venv/bin/python benchmarks/generic_paths.py [--repeats 3] [--width 0.125]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

import torch  # noqa: E402
from support.explained import burst_clip, random_explained  # noqa: E402

from igsed.core.constants import CLASSES, CLIP_SAMPLES, SAMPLE_RATE  # noqa: E402
from igsed.formats.tables import markdown_table  # noqa: E402
from igsed.methods.registry import IMPLEMENTATIONS, ClipInput, method_settings  # noqa: E402
from igsed.models.user import UserModelSpec, load_user_model  # noqa: E402

TARGETS = (0, 3)
# The pipeline's defaults (config.yaml) for every method both paths run.
METHODS = ("ig", "saliency", "input_x_gradient", "smoothgrad", "gradient_shap", "occlusion")


def _export(model: torch.nn.Module, clip: torch.Tensor, folder: Path) -> Path:
    path = folder / "cnn14.pt"
    torch.jit.save(torch.jit.trace(model, clip[None], check_trace=False), str(path))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--width", type=float, default=0.125)
    args = parser.parse_args()
    torch.set_num_threads(1)
    waveform = burst_clip(CLIP_SAMPLES, seed=5)
    native = random_explained(args.width, seed=4, calibrate_on=waveform)
    with tempfile.TemporaryDirectory() as folder:
        spec = UserModelSpec(
            "cnn14_ts",
            "torchscript",
            str(_export(native, torch.from_numpy(waveform), Path(folder))),
            {c: c for c in CLASSES},
            CLASSES,
            SAMPLE_RATE,
        )
        models = {"native": native, "torchscript": load_user_model(spec)}
        clip = ClipInput("bench", waveform, TARGETS)
        rows = []
        for method in METHODS:
            settings = method_settings(method, {})
            times: dict[str, list[float]] = {name: [] for name in models}
            for repeat in range(args.repeats):
                order = list(models) if repeat % 2 == 0 else list(models)[::-1]
                for name in order:
                    start = time.perf_counter()
                    IMPLEMENTATIONS[method].compute(models[name], clip, settings)
                    times[name].append((time.perf_counter() - start) / len(TARGETS))
            native_s, generic_s = (statistics.median(times[n]) for n in models)
            rows.append(
                [method, f"{native_s:.2f}", f"{generic_s:.2f}", f"{generic_s / native_s:.2f}"]
            )
            print(rows[-1], flush=True)
    header = ["method", "native CNN14 s/(clip, class)", "torchscript export s", "ratio"]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
