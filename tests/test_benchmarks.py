"""The benchmark scripts' own arithmetic, and the GPU check's line on a machine without CUDA."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
import yaml
from support.workflow import REPO


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def _jobs(rows: list[tuple[str, float, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "rule": rule,
                "job": f"{rule}/{n}",
                "wall_s": wall,
                "max_rss_mb": 100.0,
                "cpu_s": cpu,
                "modified": datetime.fromisoformat(end),
            }
            for n, (rule, wall, cpu, end) in enumerate(rows)
        ]
    )


def test_comparison_puts_two_runs_side_by_side() -> None:
    benchmarks = _script("pipeline_benchmarks")
    before = _jobs(
        [
            ("attribute", 7.0, 6.0, "2026-01-01T10:00:10"),
            ("attribute", 7.0, 6.0, "2026-01-01T10:00:17"),
            ("backbone", 3.0, 5.0, "2026-01-01T10:00:03"),
        ]
    )
    after = _jobs(
        [
            ("attribute", 7.0, 6.5, "2026-01-01T11:00:10"),
            ("backbone", 3.0, 5.0, "2026-01-01T11:00:03"),
        ]
    )
    assert benchmarks.span_s(before) == pytest.approx(17.0)  # 10:00:00 to 10:00:17
    table = benchmarks.comparison(before, after).splitlines()
    assert table[2] == "| attribute | 2 | 1 | 14.0 | 7.0 | 0.50 | 12.0 | 6.5 |"
    assert table[3] == "| backbone | 1 | 1 | 3.0 | 3.0 | 1.00 | 5.0 | 5.0 |"
    assert table[4] == "| **all jobs** | 3 | 2 | 17.0 | 10.0 | 0.59 | 17.0 | 11.5 |"
    assert table[5].startswith(
        "| **pipeline span** (first start to last end) | | | 17.0 | 10.0 | 0.59 |"
    )


def test_job_costs_subtract_the_clips_from_the_job(tmp_path: Path) -> None:
    startup = _script("job_startup")
    for shard, wall, clips in (("a", 10.0, (3.0, 2.0)), ("b", 7.0, (3.0,))):
        benchmark = tmp_path / "results/benchmarks/attribute/ig/test" / f"{shard}.tsv"
        benchmark.parent.mkdir(parents=True, exist_ok=True)
        benchmark.write_text(f"s\th:m:s\tmax_rss\n{wall}\t0:00:10\t900\n")
        log = tmp_path / "results/logs/attribute/ig/test" / f"{shard}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(
            "".join(
                f"INFO ig clip {i}/{len(clips)} c{i}: 2 classes in {s} s\n"
                for i, s in enumerate(clips, 1)
            )
        )
    jobs = startup.job_costs(tmp_path)
    assert jobs["fixed_s"].tolist() == [5.0, 4.0]
    table, fixed, per_clip = startup.amortisation_table(jobs)
    assert (fixed, per_clip) == (4.5, 2.75)
    assert "| 8 | 26.5 | 17 % |" in table


def test_gpu_check_says_so_in_one_line_without_cuda() -> None:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHON=sys.executable)
    result = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_check.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("gpu_check: no CUDA device visible to torch")


def test_ig_throughput_reads_the_configured_ig_settings() -> None:
    """The benchmark's defaults are config.yaml's IG settings (attribution.methods.ig)."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())["attribution"]["methods"]["ig"]
    expected = (config["n_steps"], config["method"], config["internal_batch_size"])
    assert _script("ig_throughput")._default_settings() == expected
