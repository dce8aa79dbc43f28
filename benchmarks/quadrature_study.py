"""How many IG steps are enough? Completeness error against n_steps per quadrature rule.

For a few real clips of the pipeline (results/main/split/manifest.tsv) and the trained default
model (results/models/cnn14/backbone.pt + head_clip.pt), every class the clip classifier detects
(probability > attribution.threshold) is attributed with each rule and n_steps, and the
relative completeness error |sum(attr) - (F(x) - F(0))| / |F(x) - F(0)| is recorded. The
tables give its median and 90th percentile over those (clip, class) instances. Instances with
|F(x) - F(0)| < --min-gap are left out: relative completeness is undefined there (a model
that scores silence as highly as the clip).

The fused engine is used (it computes Captum's sum; tests/test_attribution_fused.py), so
all rules and step counts of a clip share its front-end work.

    .venv/bin/python benchmarks/quadrature_study.py [--clips 6] [--split val] [--out q.tsv]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from igsed.core.atomic import atomic_path  # noqa: E402
from igsed.core.audio import load_clip  # noqa: E402
from igsed.core.constants import CLASSES, CLIP_SAMPLES  # noqa: E402
from igsed.formats.manifest import read_manifest  # noqa: E402
from igsed.methods.engines import attribute_clip  # noqa: E402
from igsed.methods.ig import IGSettings  # noqa: E402
from igsed.models.explained import load_explained_model  # noqa: E402

METHODS = ("gausslegendre", "riemann_trapezoid", "riemann_middle")
STEPS = (8, 16, 32, 50, 64, 128)  # 50: the configured default


def _inputs(workdir: Path) -> dict[str, Path]:
    paths = {
        "manifest": workdir / "results" / "main" / "split" / "manifest.tsv",
        "backbone": workdir / "results" / "models" / "cnn14" / "backbone.pt",
        "clip_head": workdir / "results" / "models" / "cnn14" / "head_clip.pt",
    }
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"missing {', '.join(missing)}; run the pipeline up to the clip head first:\n"
            f"  cd {workdir} && snakemake --cores all results/models/cnn14/head_clip.pt "
            "results/main/split/manifest.tsv"
        )
    return paths


def study(
    workdir: Path,
    *,
    split: str,
    n_clips: int,
    methods: tuple[str, ...],
    steps: tuple[int, ...],
    threshold: float,
    engine: str,
) -> pd.DataFrame:
    """One row per (clip, class, method, n_steps): F(x), F(0), delta, relative error."""
    paths = _inputs(workdir)
    model = load_explained_model(paths["backbone"], paths["clip_head"], "cpu")
    manifest = read_manifest(paths["manifest"], split).sort_values("clip_id")
    rows = []
    used = 0
    for clip in manifest.itertuples(index=False):
        if used == n_clips:
            break
        audio = Path(clip.audio_path)
        waveform = load_clip(audio if audio.is_absolute() else workdir / audio, CLIP_SAMPLES)
        with torch.no_grad():
            probabilities = model(torch.from_numpy(waveform)[None])[0].numpy()
        targets = [int(c) for c in np.flatnonzero(probabilities > threshold)]
        if not targets:
            continue
        used += 1
        start = time.perf_counter()
        for method in methods:
            for n_steps in steps:
                settings = IGSettings(n_steps=n_steps, method=method, engine=engine)
                for target, result in zip(
                    targets, attribute_clip(model, waveform, targets, settings), strict=True
                ):
                    gap = result.f_input - result.f_baseline
                    rows.append(
                        {
                            "clip_id": clip.clip_id,
                            "class": CLASSES[target],
                            "method": method,
                            "n_steps": n_steps,
                            "f_input": result.f_input,
                            "f_baseline": result.f_baseline,
                            "delta": result.convergence_delta,
                            "relative_error": abs(result.convergence_delta) / abs(gap)
                            if gap != 0
                            else np.inf,
                        }
                    )
        print(
            f"# {clip.clip_id}: {', '.join(CLASSES[t] for t in targets)} "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    return pd.DataFrame(rows)


def summary(
    rows: pd.DataFrame, min_gap: float, quantile: float = 0.5
) -> tuple[pd.DataFrame, int, int]:
    """A quantile of the relative error per n_steps (rows) and method (columns), and the
    numbers of instances before and after the |F(x) - F(0)| filter."""
    gap = (rows["f_input"] - rows["f_baseline"]).abs()
    kept = rows[gap >= min_gap]
    instances = rows.groupby(["clip_id", "class"]).ngroups
    kept_instances = kept.groupby(["clip_id", "class"]).ngroups
    table = (
        kept.groupby(["n_steps", "method"])["relative_error"].quantile(quantile).unstack("method")
    )
    return table, instances, kept_instances


def _print_table(table: pd.DataFrame) -> None:
    methods = list(table.columns)
    print("| n_steps | " + " | ".join(methods) + " |")
    print("| ---: |" + " ---: |" * len(methods))
    for n_steps, values in table.iterrows():
        print(f"| {n_steps} | " + " | ".join(f"{values[m]:.4f}" for m in methods) + " |")


def main(argv: list[str] | None = None) -> int:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=REPO, help="where results/ lives")
    parser.add_argument("--split", default="val")
    parser.add_argument("--clips", type=int, default=6, help="clips with a detection")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--steps", default=",".join(str(s) for s in STEPS))
    parser.add_argument("--min-gap", type=float, default=0.05, help="min |F(x) - F(0)|")
    parser.add_argument("--engine", default="fused", choices=("fused", "captum"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write every (instance, rule, n) as TSV")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        rows = study(
            args.workdir,
            split=args.split,
            n_clips=args.clips,
            methods=tuple(args.methods.split(",")),
            steps=tuple(int(s) for s in args.steps.split(",")),
            threshold=float(config["attribution"]["threshold"]),
            engine=args.engine,
        )
    except FileNotFoundError as error:
        print(error)
        return 1
    if rows.empty:
        print(f"no clip of split {args.split!r} has a detection above the threshold")
        return 1
    table, instances, kept = summary(rows, args.min_gap)
    print(
        f"\nMedian relative completeness error |delta| / |F(x) - F(0)| over {kept} (clip, class) "
        f"instances of {rows['clip_id'].nunique()} {args.split} clips "
        f"({instances - kept} left out with |F(x) - F(0)| < {args.min_gap}):\n"
    )
    if kept == 0:
        print("nothing to summarise: the model scores silence like these clips (train it longer)")
        return 1
    _print_table(table)
    print("\n90th percentile of the same:\n")
    _print_table(summary(rows, args.min_gap, quantile=0.9)[0])
    if args.out is not None:
        with atomic_path(args.out) as tmp:
            rows.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
