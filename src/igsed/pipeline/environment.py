"""The environment every job inherits from the Snakemake process that runs the Snakefile.

Standard library only: rules/common.smk imports this in Snakemake's own environment.
"""

from __future__ import annotations

import os


def export_src_path(src_root: str) -> None:
    """Put `src_root` first on PYTHONPATH, once.

    The one way rule scripts find igsed in any env (the .venv, a conda env without igsed,
    a SLURM node, where the job's Snakemake parses the Snakefile again).
    """
    current = os.environ.get("PYTHONPATH", "")
    if src_root not in current.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (src_root, current) if p)


def prefer_passive_openmp() -> None:
    """Busy-waiting OpenMP threads slow torch down 10x when another job shares the cores."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
