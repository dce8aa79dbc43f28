"""Attribution-method throughput: igsed's methods against Captum's calls, side by side.

For each backbone (the default CNN14 width 0.125: the trained one in results/models/cnn14/ when it
exists, else random weights; full-width CNN14 with random weights) and 1, 2 and 3 attributed
classes per clip, every method in igsed.methods attributes the same 10 s clip
(the first test clip, else a synthetic one; ig_throughput.py's choice), once as igsed runs it
(all classes from shared forwards) and once as a Captum user calls it (one target per call).
Runs alternate between the two (reversed on odd repeats); the table shows medians.

The surrogate row is igsed's `surrogate` with fit="kernel_shap" on 64 masks (SURROGATE;
the pipeline's default is 256, fewer here to keep the benchmark short) against Captum's
`KernelShap` with a feature_mask of 100 ms (3200-sample) segments, baseline 0,
n_samples=64, the model's log-odds as forward function and perturbations_per_eval equal to
igsed's batch_size (16), so that both forward the masked copies in batches of the same size.
igsed forwards the 64 masked copies once for all classes; Captum forwards 64 per class.

    (clip, class)/s = classes / wall seconds for the whole clip
    ratio           = igsed throughput / Captum throughput
    peak MB         = the process's peak resident memory during that call (VmHWM reset first)

    .venv/bin/python benchmarks/method_throughput.py [--backbones default,full] [--repeats 2]
        [--classes 1,2,3] [--methods saliency,...,surrogate]  (default: every method)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from captum.attr import (  # noqa: E402
    GradientShap,
    InputXGradient,
    KernelShap,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from ig_throughput import _clip, _model, _peak_rss_mb, _peak_rss_reset  # noqa: E402

from igsed.formats.tables import markdown_table  # noqa: E402
from igsed.methods.frames import EVAL_FRAME_SAMPLES  # noqa: E402
from igsed.methods.gradients import (  # noqa: E402
    NoiseSettings,
    gradient_shap,
    input_x_gradient,
    saliency,
    smoothgrad,
)
from igsed.methods.layer import gradcam  # noqa: E402
from igsed.methods.perturbation import occlusion  # noqa: E402
from igsed.methods.surrogate import (  # noqa: E402
    SurrogateSettings,
    log_odds,
    surrogate,
)
from igsed.models.explained import ExplainedModel  # noqa: E402

SAMPLES = NoiseSettings(n_samples=16, noise_fraction=0.1, batch_size=8)
SURROGATE = SurrogateSettings(n_masks=64, fit="kernel_shap", batch_size=16)
Call = Callable[[ExplainedModel, torch.Tensor, list[int]], object]


def _ours() -> dict[str, Call]:
    generator = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    return {
        "saliency": lambda m, x, t: saliency(m, x, t),
        "input_x_gradient": lambda m, x, t: input_x_gradient(m, x, t),
        "smoothgrad": lambda m, x, t: smoothgrad(m, x, t, SAMPLES, generator),
        "gradient_shap": lambda m, x, t: gradient_shap(m, x, t, SAMPLES, generator),
        "gradcam": lambda m, x, t: gradcam(m, x, t, "conv_block6"),
        "occlusion": lambda m, x, t: occlusion(m, x, EVAL_FRAME_SAMPLES),
        "surrogate": lambda m, x, t: surrogate(m, x, t, SURROGATE, rng, EVAL_FRAME_SAMPLES),
    }


METHODS: tuple[str, ...] = tuple(_ours())


def _captum_one_target(method: str, model: ExplainedModel, x: torch.Tensor, target: int) -> object:
    batch = x.reshape(1, -1)
    std = SAMPLES.noise_fraction * float(batch.abs().max())
    if method == "saliency":
        return Saliency(model).attribute(batch, target=target)
    if method == "input_x_gradient":
        return InputXGradient(model).attribute(batch, target=target)
    if method == "smoothgrad":
        return NoiseTunnel(Saliency(model)).attribute(
            batch,
            nt_type="smoothgrad",
            nt_samples=SAMPLES.n_samples,
            nt_samples_batch_size=SAMPLES.batch_size,
            stdevs=std,
            target=target,
        )
    if method == "gradient_shap":
        baselines = torch.cat([torch.zeros_like(batch), std * torch.randn(4, batch.shape[1])])
        return GradientShap(model).attribute(
            batch, baselines=baselines, n_samples=SAMPLES.n_samples, target=target
        )
    if method == "gradcam":
        layer = model.backbone.conv_block6
        return LayerGradCam(model, layer).attribute(batch, target=target, relu_attributions=True)
    if method == "occlusion":
        return Occlusion(model).attribute(
            batch,
            sliding_window_shapes=(EVAL_FRAME_SAMPLES,),
            strides=(EVAL_FRAME_SAMPLES,),
            baselines=0.0,
            target=target,
            perturbations_per_eval=16,
        )
    if method == "surrogate":
        segments = torch.arange(batch.shape[1]).reshape(1, -1) // EVAL_FRAME_SAMPLES
        return KernelShap(lambda b: log_odds(model(b))).attribute(
            batch,
            baselines=0.0,
            target=target,
            feature_mask=segments,
            n_samples=SURROGATE.n_masks,
            perturbations_per_eval=SURROGATE.batch_size,
        )
    raise KeyError(method)


def _timed(call: Callable[[], object]) -> tuple[float, float]:
    _peak_rss_reset()
    start = time.perf_counter()
    call()
    return time.perf_counter() - start, _peak_rss_mb()


def measure(
    model: ExplainedModel,
    x: torch.Tensor,
    classes: list[int],
    repeats: int,
    methods: list[str] | None = None,
) -> list[list[str]]:
    rows = []
    ours_by_method = _ours()
    for method in METHODS if methods is None else methods:
        ours = ours_by_method[method]
        for n_classes in classes:
            targets = list(range(n_classes))
            runs: dict[str, list[tuple[float, float]]] = {"igsed": [], "captum": []}
            calls = {
                "igsed": lambda ours=ours, targets=targets: ours(model, x, targets),
                "captum": lambda method=method, targets=targets: [
                    _captum_one_target(method, model, x, t) for t in targets
                ],
            }
            for name in calls:  # warm-up: oneDNN builds its kernels per shape
                calls[name]()
            for repeat in range(repeats):
                for name in sorted(calls, reverse=repeat % 2 == 1):
                    runs[name].append(_timed(calls[name]))
            wall = {name: statistics.median(w for w, _ in runs[name]) for name in runs}
            peak = {name: max(p for _, p in runs[name]) for name in runs}
            rows.append(
                [
                    method,
                    str(n_classes),
                    f"{n_classes / wall['igsed']:.3f}",
                    f"{n_classes / wall['captum']:.3f}",
                    f"**{wall['captum'] / wall['igsed']:.2f}x**",
                    f"{peak['igsed']:.0f}",
                    f"{peak['captum']:.0f}",
                ]
            )
            print(f"#   {method}, {n_classes} classes: {wall}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbones", default="default,full")
    parser.add_argument("--classes", default="1,2,3")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--methods", default=",".join(METHODS), help=f"rows to run, of {','.join(METHODS)}"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the rule: 1)")
    parser.add_argument("--workdir", type=Path, default=REPO, help="where results/ lives")
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown method(s) {','.join(unknown)}; choose from {','.join(METHODS)}")
    torch.set_num_threads(args.threads)
    waveform, clip_name = _clip(args.workdir)
    x = torch.from_numpy(np.asarray(waveform, dtype=np.float32))
    classes = [int(c) for c in args.classes.split(",")]
    print(f"# method throughput, {time.strftime('%F %T')}, {clip_name}, {args.threads} thread(s)")
    if "surrogate" in methods:
        print(f"# surrogate: kernel_shap, {SURROGATE.n_masks} masks, batch {SURROGATE.batch_size}")
    for backbone in args.backbones.split(","):
        model, model_name = _model(backbone, args.workdir, torch.device("cpu"))
        print(f"# {model_name}", flush=True)
        rows = measure(model, x, classes, args.repeats, methods)
        header = [
            "method",
            "classes",
            "igsed (clip,class)/s",
            "captum (clip,class)/s",
            "igsed/captum",
            "igsed peak MB",
            "captum peak MB",
        ]
        print()
        print(f"## {model_name}")
        print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
