"""What an `attribute` job spends before its first clip, and how clips_per_shard amortises it.

    .venv/bin/python benchmarks/job_startup.py [--run DIR] [--repeats 5]

Part 1 times, in fresh interpreters (median of --repeats), what a job pays before it attributes
anything: the interpreter, Snakemake's script preamble (`snakemake.script`, which unpickles the
job's `snakemake` object), torch, the attribute rule's own imports (torch included), Captum's
`captum.attr` (which a fused-engine job no longer imports) and, with --run, loading the three
models of a finished run.

Part 2 (--run) reads a finished run's `attribute` jobs: its benchmark files (`s`, the job's
wall time) and logs (each clip's seconds). A job's fixed cost is its wall time minus its clips'
seconds; the table shows that cost's share of a shard for several `clips_per_shard`.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import pandas as pd  # noqa: E402

from igsed.formats.tables import markdown_table  # noqa: E402

IMPORTS = {
    "interpreter alone": "pass",
    "snakemake.script (script preamble)": "import snakemake.script",
    "torch": "import torch",
    "the job's imports (torch + igsed.attribution.attribute)": (
        "import igsed.attribution.attribute"
    ),
    "torch + captum.attr (no longer imported by a job)": "import torch; import captum.attr",
}
LOAD_MODELS = """
import torch
from igsed.models.explained import load_explained_model, load_framewise_model
models = Path({run!r}) / "results" / "models" / "cnn14"
started = time.perf_counter()
load_explained_model(models / "backbone.pt", models / "head_clip.pt", torch.device("cpu"))
for head in ("fw_weak", "fw_strong"):
    load_framewise_model(models / "backbone.pt", models / f"head_{{head}}.pt", torch.device("cpu"))
print(time.perf_counter() - started)
"""
# An attribute job's line per finished clip: "<method> clip 3/8 <clip_id>: 2 classes in 1.4 s".
CLIP_DONE = re.compile(r"clip \d+/\d+ \S+: \d+ classes in ([0-9.]+) s")
CLIPS_PER_SHARD = (1, 2, 4, 8, 16, 32)


def _fresh_process(code: str) -> tuple[float, float]:
    """(process wall s, seconds the code itself printed or took) in a new interpreter."""
    program = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(REPO / 'src')!r})\n"
        "from pathlib import Path\n"
        "t = time.perf_counter()\n"
        f"{code}\n"
        "print(time.perf_counter() - t)\n"
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - started
    printed = [float(line) for line in result.stdout.split()]
    return wall, printed[0]


def startup_table(run: Path | None, repeats: int) -> str:
    codes = dict(IMPORTS)
    if run is not None:
        codes["load the three models (after imports; a job loads only its method's)"] = (
            LOAD_MODELS.format(run=str(run))
        )
    rows = []
    for what, code in codes.items():
        samples = [_fresh_process(code) for _ in range(repeats)]
        rows.append(
            [
                what,
                f"{statistics.median(s[1] for s in samples):.2f}",
                f"{statistics.median(s[0] for s in samples):.2f}",
            ]
        )
    return markdown_table(["step", "in-process s", "whole process s"], rows)


def job_costs(run: Path) -> pd.DataFrame:
    """One row per attribute job of the run: wall s, clip s (sum), clips, fixed s."""
    rows = []
    for benchmark in sorted((run / "results" / "benchmarks" / "attribute").rglob("*.tsv")):
        relative = benchmark.relative_to(run / "results" / "benchmarks" / "attribute")
        log = (run / "results" / "logs" / "attribute" / relative).with_suffix(".log")
        if not log.is_file():
            continue
        clips = [float(m.group(1)) for m in CLIP_DONE.finditer(log.read_text())]
        wall = float(pd.read_csv(benchmark, sep="\t")["s"].iloc[-1])
        rows.append(
            {"job": str(relative), "wall_s": wall, "clips": len(clips), "clip_s": sum(clips)}
        )
    frame = pd.DataFrame(rows, columns=["job", "wall_s", "clips", "clip_s"])
    frame["fixed_s"] = frame["wall_s"] - frame["clip_s"]
    return frame


def amortisation_table(jobs: pd.DataFrame) -> tuple[str, float, float]:
    fixed = float(jobs["fixed_s"].median())
    per_clip = float((jobs["clip_s"] / jobs["clips"].clip(lower=1)).median())
    rows = [
        [str(n), f"{fixed + n * per_clip:.1f}", f"{100 * fixed / (fixed + n * per_clip):.0f} %"]
        for n in CLIPS_PER_SHARD
    ]
    table = markdown_table(["clips_per_shard", "shard s", "fixed share"], rows)
    return table, fixed, per_clip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="a finished run's working directory")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"# job start-up, median of {args.repeats} fresh processes ({time.strftime('%F %T')})")
    print(startup_table(args.run, args.repeats))
    if args.run is not None:
        jobs = job_costs(args.run)
        if jobs.empty:
            print(f"# {args.run}: no attribute job with both a benchmark and a log")
            return 1
        table, fixed, per_clip = amortisation_table(jobs)
        print(
            f"# {len(jobs)} attribute jobs of {args.run}: median fixed cost {fixed:.2f} s per "
            f"job (wall minus its clips), median {per_clip:.2f} s per clip"
        )
        print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
