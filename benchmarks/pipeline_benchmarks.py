"""Per-rule wall time and memory of the pipeline's last run, from its `benchmark:` files.

Every rule writes results/benchmarks/<rule>/<job>.tsv (Snakemake's benchmark format: `s`
wall seconds, `max_rss` MB, `cpu_time` s, ...), overwritten each time the job runs. The last
run is the newest Snakemake invocation that wrote any of them: files modified since the
start of the newest .snakemake/log/*.snakemake.log that precedes the newest benchmark file.
`--all` takes every file instead (each job's latest execution, whichever run it was).

    .venv/bin/python benchmarks/pipeline_benchmarks.py [--workdir DIR] [--all] [--out t.tsv]
    .venv/bin/python benchmarks/pipeline_benchmarks.py --compare BEFORE_DIR AFTER_DIR

`--compare` puts two runs side by side (the last run of each working directory): per rule the
jobs, the summed job wall time and CPU time, before and after, with the after/before ratio,
then the total and the pipeline's span (first job start to last job end; a job starts at its
benchmark file's modification time minus its wall time).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import pandas as pd  # noqa: E402

from igsed.core.atomic import atomic_path  # noqa: E402

LOG_TIME_FORMAT = "%Y-%m-%dT%H%M%S.%f"  # .snakemake/log/2026-11-25T100811.867004.snakemake.log


def run_starts(workdir: Path) -> list[datetime]:
    """Start times of the Snakemake invocations logged in workdir/.snakemake/log, sorted."""
    starts = []
    for log in (workdir / ".snakemake" / "log").glob("*.snakemake.log"):
        try:
            starts.append(
                datetime.strptime(log.name.removesuffix(".snakemake.log"), LOG_TIME_FORMAT)
            )
        except ValueError:
            continue
    return sorted(starts)


def read_benchmarks(workdir: Path) -> pd.DataFrame:
    """One row per benchmark file: rule, job, wall_s, max_rss_mb, cpu_s, modified."""
    root = workdir / "results" / "benchmarks"
    rows = []
    for path in sorted(root.rglob("*.tsv")):
        table = pd.read_csv(path, sep="\t")
        if table.empty or "s" not in table.columns:
            print(f"# skipped {path}: not a Snakemake benchmark file", file=sys.stderr)
            continue
        # Snakemake writes "-" or "NA" where psutil could not sample a very short job.
        numbers = table.apply(pd.to_numeric, errors="coerce")
        relative = path.relative_to(root)
        rows.append(
            {
                "rule": relative.parts[0],
                "job": str(relative.with_suffix("")),
                # A rule benchmarked with repeat() has one line per repetition: use the mean.
                "wall_s": float(numbers["s"].mean()),
                "max_rss_mb": float(numbers.get("max_rss", pd.Series(dtype=float)).max()),
                "cpu_s": float(numbers.get("cpu_time", pd.Series(dtype=float)).mean()),
                "modified": datetime.fromtimestamp(path.stat().st_mtime),
            }
        )
    return pd.DataFrame(rows, columns=["rule", "job", "wall_s", "max_rss_mb", "cpu_s", "modified"])


def last_run(jobs: pd.DataFrame, starts: list[datetime]) -> tuple[pd.DataFrame, str]:
    """The jobs written by the newest invocation that wrote any benchmark file."""
    if jobs.empty or not starts:
        return jobs, "all benchmark files (no .snakemake/log to date the last run)"
    newest = jobs["modified"].max()
    before = [start for start in starts if start <= newest]
    if not before:
        return jobs, "all benchmark files (every logged run started after them)"
    start = before[-1]
    return jobs[jobs["modified"] >= start], f"the run started {start:%Y-%m-%d %H:%M:%S}"


def per_rule(jobs: pd.DataFrame) -> pd.DataFrame:
    """rule, jobs, total/mean/max wall s, total CPU s, max RSS MB; slowest rule first."""
    table = (
        jobs.groupby("rule")
        .agg(
            jobs=("job", "count"),
            total_wall_s=("wall_s", "sum"),
            mean_wall_s=("wall_s", "mean"),
            max_wall_s=("wall_s", "max"),
            total_cpu_s=("cpu_s", "sum"),
            max_rss_mb=("max_rss_mb", "max"),
        )
        .sort_values("total_wall_s", ascending=False)
        .reset_index()
    )
    return table


def markdown(table: pd.DataFrame) -> str:
    header = "| rule | jobs | total wall s | mean wall s | max wall s | total CPU s | max RSS MB |"
    lines = [header, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in table.to_dict("records"):
        lines.append(
            f"| {row['rule']} | {row['jobs']} | {row['total_wall_s']:.1f} | "
            f"{row['mean_wall_s']:.1f} | {row['max_wall_s']:.1f} | {row['total_cpu_s']:.1f} | "
            f"{row['max_rss_mb']:.0f} |"
        )
    if len(table):
        lines.append(
            f"| **all** | {table['jobs'].sum()} | {table['total_wall_s'].sum():.1f} | | "
            f"{table['max_wall_s'].max():.1f} | {table['total_cpu_s'].sum():.1f} | "
            f"{table['max_rss_mb'].max():.0f} |"
        )
    return "\n".join(lines)


def span_s(jobs: pd.DataFrame) -> float:
    """Seconds from the first job's start to the last job's end."""
    if jobs.empty:
        return 0.0
    ends = jobs["modified"]
    starts = ends - pd.to_timedelta(jobs["wall_s"], unit="s")
    return float((ends.max() - starts.min()).total_seconds())


def _ratio(before: float, after: float) -> str:
    return f"{after / before:.2f}" if before > 0 else "n/a"


def comparison(before: pd.DataFrame, after: pd.DataFrame) -> str:
    """Markdown: per rule and in total, the two runs' jobs, wall and CPU seconds, ratios."""
    sides = {
        name: per_rule(jobs).set_index("rule")
        for name, jobs in (("before", before), ("after", after))
    }
    rules = sorted(
        set(sides["before"].index) | set(sides["after"].index),
        key=lambda rule: -max(float(sides[k]["total_wall_s"].get(rule, 0.0)) for k in sides),
    )
    header = (
        "| rule | jobs before | jobs after | wall s before | wall s after | after/before "
        "| CPU s before | CPU s after |"
    )
    lines = [header, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def cell(side: str, rule: str, column: str) -> float:
        table = sides[side]
        return float(table[column].get(rule, 0.0))

    for rule in rules:
        wall = [cell(k, rule, "total_wall_s") for k in sides]
        cpu = [cell(k, rule, "total_cpu_s") for k in sides]
        jobs = [int(cell(k, rule, "jobs")) for k in sides]
        lines.append(
            f"| {rule} | {jobs[0]} | {jobs[1]} | {wall[0]:.1f} | {wall[1]:.1f} | "
            f"{_ratio(*wall)} | {cpu[0]:.1f} | {cpu[1]:.1f} |"
        )
    totals = [float(sides[k]["total_wall_s"].sum()) for k in sides]
    cpus = [float(sides[k]["total_cpu_s"].sum()) for k in sides]
    lines.append(
        f"| **all jobs** | {len(before)} | {len(after)} | {totals[0]:.1f} | {totals[1]:.1f} | "
        f"{_ratio(*totals)} | {cpus[0]:.1f} | {cpus[1]:.1f} |"
    )
    spans = [span_s(before), span_s(after)]
    lines.append(
        f"| **pipeline span** (first start to last end) | | | {spans[0]:.1f} | {spans[1]:.1f} "
        f"| {_ratio(*spans)} | | |"
    )
    return "\n".join(lines)


def _last_run_jobs(workdir: Path) -> tuple[pd.DataFrame, str]:
    return last_run(read_benchmarks(workdir), run_starts(workdir))


def compare_main(before_dir: Path, after_dir: Path) -> int:
    runs = {}
    for name, workdir in (("before", before_dir), ("after", after_dir)):
        if not (workdir / "results" / "benchmarks").is_dir():
            print(f"no benchmark files under {workdir}/results/benchmarks (run the pipeline first)")
            return 1
        runs[name], scope = _last_run_jobs(workdir)
        print(f"# {name}: {workdir}, {len(runs[name])} jobs of {scope}")
    print(
        "# wall = Snakemake's `s` summed over a rule's jobs (which may have run in parallel); "
        "the span is the pipeline's wall clock"
    )
    print()
    print(comparison(runs["before"], runs["after"]))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=REPO, help="the pipeline's directory")
    parser.add_argument("--all", action="store_true", help="every benchmark file, any run")
    parser.add_argument("--out", type=Path, help="also write the table as TSV here")
    parser.add_argument(
        "--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="two run directories"
    )
    args = parser.parse_args(argv)
    if args.compare is not None:
        return compare_main(*args.compare)
    root = args.workdir / "results" / "benchmarks"
    if not root.is_dir():
        print(f"no benchmark files: {root} does not exist (run the pipeline first)")
        return 1
    jobs = read_benchmarks(args.workdir)
    scope = "all benchmark files"
    if not args.all:
        jobs, scope = last_run(jobs, run_starts(args.workdir))
    table = per_rule(jobs)
    print(f"# {root}: {len(jobs)} jobs of {scope}")
    print(
        "# wall = Snakemake's `s` (summed over a rule's jobs, which may have run in parallel); "
        "RSS in MB"
    )
    print()
    print(markdown(table))
    if args.out is not None:
        with atomic_path(args.out) as tmp:
            table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
