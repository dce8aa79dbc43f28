"""Integrated-Gradients throughput: Captum vs the fused engine, side by side in one run.

For each device (the CPU, and CUDA when torch sees it), each backbone (the default CNN14
width 0.125 and full-width CNN14) and 1, 2 and 3 attributed classes per clip, the engines
attribute the same 10 s clip with the same IG settings: `captum`, `fused`, and `fused_plain`
(the fused algorithm on the unmodified model, without BatchNorm folding or channels-last
layout, to separate what the algorithm saves from what the inference copy adds). Runs
alternate between the engines (reversed order on odd repeats) so a change of machine load
hits all alike; the table reports medians over repeats.

    (clip, class)/s = classes / wall seconds of one attribute_clip call
    ratio           = fused throughput / captum throughput (wall; and CPU time in brackets)
    peak MB         = the process's peak resident memory during that call (VmHWM, reset
                      before each call) on the CPU; peak allocated CUDA memory on a GPU
    GFLOP/(clip,class) = matmul/convolution FLOPs (torch.utils.flop_counter's formulas)

The default backbone is the trained one in results/models/cnn14/ when it exists (else random
weights of the same shape: speed does not depend on the weights); full-width CNN14 has
random weights. The clip is the first test clip of results/main/split/manifest.tsv when it
exists, else a synthetic one.

    .venv/bin/python benchmarks/ig_throughput.py                 # the figures in docs/
    .venv/bin/python benchmarks/ig_throughput.py --threads 2 --no-flops --out t.tsv
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils.flop_counter import flop_registry  # noqa: E402

from igsed.core.atomic import atomic_path  # noqa: E402
from igsed.core.constants import CLIP_SAMPLES, SAMPLE_RATE  # noqa: E402
from igsed.methods.engines import ENGINES as IG_ENGINES  # noqa: E402
from igsed.methods.fused import FusedOptions, fused_attributions  # noqa: E402
from igsed.methods.ig import (  # noqa: E402
    IGResult,
    IGSettings,
)
from igsed.models.cnn14 import Cnn14  # noqa: E402
from igsed.models.explained import ExplainedModel, load_explained_model  # noqa: E402
from igsed.models.heads import make_head  # noqa: E402

ENGINES = ("captum", "fused", "fused_plain")


def _fused_plain(
    model: torch.nn.Module, waveform: torch.Tensor, targets: list[int], settings: IGSettings
) -> list[IGResult]:
    # The fused algorithm on the model as it is: no BatchNorm folding, default layout. The
    # gap to `fused` is what the inference copy buys; the gap to captum, the algorithm.
    return fused_attributions(
        model, waveform, targets, settings, FusedOptions(optimize_network=False)
    )


def _attribute(
    model: torch.nn.Module,
    waveform: torch.Tensor,
    targets: list[int],
    settings: IGSettings,
    name: str,
) -> list[IGResult]:
    """attribute_clip under engine `name`, one of ENGINES (`fused_plain` is the benchmark's)."""
    engine = _fused_plain if name == "fused_plain" else IG_ENGINES[name]
    return engine(model, torch.as_tensor(waveform, dtype=torch.float32), targets, settings)


@dataclass
class Measurement:
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    results: list[IGResult] = field(default_factory=list)


def _peak_rss_reset() -> None:
    # Writing 5 to clear_refs resets the kernel's peak-RSS counter (VmHWM) of this process.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def _matmul_gflops(device: torch.device, size: int = 2048, repeats: int = 5) -> float:
    """Best-of-`repeats` float32 matmul rate: the practical dense peak.

    On the CPU per CPU-second (process time), i.e. per busy core, which other processes'
    load does not dilute; on CUDA per wall second.
    """
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    best = float("inf")
    for _ in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            start = time.perf_counter()
            torch.mm(a, b)
            torch.cuda.synchronize(device)
            best = min(best, time.perf_counter() - start)
        else:
            start = time.process_time()
            torch.mm(a, b)
            best = min(best, time.process_time() - start)
    return 2 * size**3 / best / 1e9


def _default_settings() -> tuple[int, str, int]:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    ig = config["attribution"]["methods"]["ig"]
    return int(ig["n_steps"]), str(ig["method"]), int(ig["internal_batch_size"])


def _clip(workdir: Path) -> tuple[np.ndarray, str]:
    manifest = workdir / "results" / "main" / "split" / "manifest.tsv"
    if manifest.is_file():
        from igsed.core.audio import load_clip
        from igsed.formats.manifest import read_manifest

        rows = read_manifest(manifest, "test")
        if len(rows):
            row = rows.iloc[0]
            path = Path(row.audio_path)
            path = path if path.is_absolute() else workdir / path
            return load_clip(path, n_samples=CLIP_SAMPLES), f"test clip {row.clip_id}"
    rng = np.random.default_rng(0)
    t = np.arange(CLIP_SAMPLES) / SAMPLE_RATE
    clip = 0.003 * rng.standard_normal(CLIP_SAMPLES)
    clip[SAMPLE_RATE : 4 * SAMPLE_RATE] += 0.2 * np.sin(2 * np.pi * 1000 * t[: 3 * SAMPLE_RATE])
    clip[5 * SAMPLE_RATE : 8 * SAMPLE_RATE] += 0.05 * rng.standard_normal(3 * SAMPLE_RATE)
    return clip.astype(np.float32), "synthetic clip (tone + noise burst)"


def _model(backbone: str, workdir: Path, device: torch.device) -> tuple[ExplainedModel, str]:
    models = workdir / "results" / "models" / "cnn14"
    if backbone == "default" and (models / "head_clip.pt").is_file():
        model = load_explained_model(models / "backbone.pt", models / "head_clip.pt", device)
        return model, f"trained CNN14 width {model.backbone.width:g} ({models})"
    width = 0.125 if backbone == "default" else 1.0
    torch.manual_seed(0)
    cnn = Cnn14(width=width)
    model = ExplainedModel(cnn, make_head("clip", cnn, "max")).eval().to(device)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model, f"random-weight CNN14 width {width:g}"


def _run(
    model: ExplainedModel,
    waveform: np.ndarray,
    targets: list[int],
    settings: IGSettings,
    device: torch.device,
    name: str,
) -> tuple[float, float, float, list[IGResult]]:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    _peak_rss_reset()
    wall, cpu = time.perf_counter(), time.process_time()
    results = _attribute(model, waveform, targets, settings, name)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = (
        torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else _peak_rss_mb()
    )
    return wall, cpu, peak, results


class _FlopCount(TorchDispatchMode):
    """Counts matmul/convolution FLOPs (forward and backward) with torch's own formulas.

    FlopCounterMode itself also tracks modules with autograd hooks, which Captum's
    torch.autograd.grad call rejects; counting at the dispatcher needs no hooks.
    """

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops += int(formula(*args, **kwargs, out_val=out))
        return out


def _flops_per_instance(
    model: ExplainedModel, waveform: np.ndarray, n_targets: int, settings: IGSettings, name: str
) -> float:
    """FLOPs of one attribute_clip call per (clip, class), from 1- and 2-step counts.

    FLOPs are affine in n_steps (fixed per-clip work + per-step work), so two cheap counts
    extrapolate exactly to the configured n_steps without running it under the counter.
    """
    counts = []
    for n_steps in (2, 3):
        counter = _FlopCount()
        probe = IGSettings(
            n_steps=n_steps,
            method="riemann_trapezoid",
            internal_batch_size=settings.internal_batch_size,
            engine=settings.engine,
        )
        with counter:
            _attribute(model, waveform, list(range(n_targets)), probe, name)
        counts.append(counter.flops)
    per_step = counts[1] - counts[0]
    fixed = counts[0] - 2 * per_step
    return (fixed + settings.n_steps * per_step) / n_targets


def _relative_l2(reference: np.ndarray, other: np.ndarray) -> float:
    reference = reference.astype(np.float64)
    return float(np.linalg.norm(other - reference) / max(np.linalg.norm(reference), 1e-30))


def main(argv: list[str] | None = None) -> int:
    n_steps, method, internal_batch_size = _default_settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the rule: 1)")
    parser.add_argument("--steps", type=int, default=n_steps, help="IG steps, default backbone")
    parser.add_argument("--full-steps", type=int, default=8, help="IG steps, full-width CNN14")
    parser.add_argument("--method", default=method)
    parser.add_argument("--classes", default="1,2,3", help="attributed classes per clip")
    parser.add_argument("--backbones", default="default,full")
    parser.add_argument(
        "--devices",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="auto: cpu + cuda if present",
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-flops", action="store_true", help="skip the FLOP count")
    parser.add_argument("--workdir", type=Path, default=REPO, help="where results/ lives")
    parser.add_argument("--out", type=Path, help="also write the table as TSV here")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    if args.devices == "cuda" and not torch.cuda.is_available():
        parser.error("--devices cuda: torch sees no CUDA device")
    names = {"auto": ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]}
    devices = [torch.device(name) for name in names.get(args.devices, [args.devices])]
    class_counts = [int(c) for c in args.classes.split(",")]
    waveform, clip_name = _clip(args.workdir)
    load_before = os.getloadavg()
    print(f"# IG throughput, {time.strftime('%Y-%m-%d %H:%M:%S')}")
    print(
        f"# {_cpu_name()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}, {args.threads} thread(s); load average before "
        f"{load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f}"
    )
    print(f"# {clip_name}; method {args.method}; captum internal_batch_size {internal_batch_size}")
    rows = []
    for device in devices:
        for backbone in args.backbones.split(","):
            model, model_name = _model(backbone, args.workdir, device)
            steps = args.steps if backbone == "default" else args.full_steps
            print(
                f"# {device.type}: {model_name}, {steps} steps; float32 matmul peak "
                f"{_matmul_gflops(device):.0f} GFLOP/s"
                + (" per CPU second" if device.type == "cpu" else ""),
                flush=True,
            )
            settings = {
                engine: IGSettings(
                    n_steps=steps,
                    method=args.method,
                    internal_batch_size=internal_batch_size,
                    engine="fused" if engine == "fused_plain" else engine,
                )
                for engine in ENGINES
            }
            # Untimed warm-up with the measured settings: oneDNN creates its kernels per
            # shape, and the fused engine does its one-time per-model work (tracing,
            # BatchNorm folding, memory probe), which a pipeline job pays once for all clips.
            for engine in ENGINES:
                start = time.perf_counter()
                _attribute(model, waveform, [0], settings[engine], engine)
                print(f"#   warm-up {engine}: {time.perf_counter() - start:.1f} s", flush=True)
            measured = {(k, e): Measurement() for k in class_counts for e in ENGINES}
            for repeat in range(args.repeats):
                order = ENGINES if repeat % 2 == 0 else ENGINES[::-1]
                for n_classes in class_counts:
                    for engine in order:
                        wall, cpu, peak, results = _run(
                            model,
                            waveform,
                            list(range(n_classes)),
                            settings[engine],
                            device,
                            engine,
                        )
                        entry = measured[(n_classes, engine)]
                        entry.wall_s.append(wall)
                        entry.cpu_s.append(cpu)
                        entry.peak_mb.append(peak)
                        entry.results = results
                        print(
                            f"#   repeat {repeat + 1} {n_classes} classes {engine}: "
                            f"{wall:.1f} s wall, {cpu:.1f} s CPU, peak {peak:.0f} MB",
                            flush=True,
                        )
            for n_classes in class_counts:
                captum, fused = measured[(n_classes, "captum")], measured[(n_classes, "fused")]
                plain = measured[(n_classes, "fused_plain")]
                row = {
                    "device": device.type,
                    "backbone": f"CNN14 w{model.backbone.width:g}",
                    "classes": n_classes,
                    "steps": steps,
                }
                for engine, entry in (("captum", captum), ("fused", fused), ("plain", plain)):
                    wall = statistics.median(entry.wall_s)
                    row[f"{engine}_s"] = wall
                    row[f"{engine}_inst_per_s"] = n_classes / wall
                    row[f"{engine}_cpu_s"] = statistics.median(entry.cpu_s)
                    row[f"{engine}_peak_mb"] = max(entry.peak_mb)
                row["ratio"] = row["captum_s"] / row["fused_s"]
                row["ratio_cpu"] = row["captum_cpu_s"] / row["fused_cpu_s"]
                row["ratio_plain"] = row["captum_s"] / row["plain_s"]
                row["ratio_plain_cpu"] = row["captum_cpu_s"] / row["plain_cpu_s"]
                row["max_rel_l2"] = max(
                    _relative_l2(c.attribution, f.attribution)
                    for c, f in zip(captum.results, fused.results, strict=True)
                )
                if not args.no_flops:
                    for engine in ("captum", "fused"):
                        flops = _flops_per_instance(
                            model, waveform, n_classes, settings[engine], engine
                        )
                        row[f"{engine}_gflop"] = flops / 1e9
                        done = flops * n_classes / 1e9
                        row[f"{engine}_gflop_per_s"] = done / row[f"{engine}_s"]
                        row[f"{engine}_gflop_per_cpu_s"] = done / row[f"{engine}_cpu_s"]
                rows.append(row)
            del model
    load_after = os.getloadavg()
    table = pd.DataFrame(rows)
    print(f"# load average after {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f}")
    if args.out is not None:
        with atomic_path(args.out) as tmp:
            table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    print()
    print(_markdown(table, flops=not args.no_flops))
    return 0


def _markdown(table: pd.DataFrame, flops: bool) -> str:
    header = [
        "device",
        "backbone",
        "classes",
        "steps",
        "captum s/clip",
        "fused s/clip",
        "captum (clip,class)/s",
        "fused (clip,class)/s",
        "fused/captum (CPU time)",
        "plain fused/captum (CPU time)",
        "captum peak MB",
        "fused peak MB",
        "max rel. L2",
    ]
    if flops:
        header += [
            "GFLOP/(clip,class) captum / fused",
            "GFLOP per wall s (per CPU s) captum / fused",
        ]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in table.to_dict("records"):
        cells = [
            row["device"],
            row["backbone"],
            str(row["classes"]),
            str(row["steps"]),
            f"{row['captum_s']:.1f}",
            f"{row['fused_s']:.1f}",
            f"{row['captum_inst_per_s']:.3f}",
            f"{row['fused_inst_per_s']:.3f}",
            f"**{row['ratio']:.2f}x** ({row['ratio_cpu']:.2f}x)",
            f"{row['ratio_plain']:.2f}x ({row['ratio_plain_cpu']:.2f}x)",
            f"{row['captum_peak_mb']:.0f}",
            f"{row['fused_peak_mb']:.0f}",
            f"{row['max_rel_l2']:.1e}",
        ]
        if flops:
            cells += [
                f"{row['captum_gflop']:.0f} / {row['fused_gflop']:.0f}",
                f"{row['captum_gflop_per_s']:.0f} ({row['captum_gflop_per_cpu_s']:.0f}) / "
                f"{row['fused_gflop_per_s']:.0f} ({row['fused_gflop_per_cpu_s']:.0f})",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
