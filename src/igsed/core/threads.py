"""The thread count of a torch job: fixed by the config, never by the machine or --cores.

A reduction split over more threads adds in another order, so the same job on 1 and on 2
threads gives floats that differ in the last bits, and training compounds them into other
weights. Every torch job therefore computes with the count of its `threads` config key
(docs/determinism.md), whatever Snakemake's --cores, SLURM's cpus_per_task or the
machine offer.
"""

from __future__ import annotations

import logging

import numpy  # noqa: F401 - loads numpy's BLAS, so threadpool_limits below reaches it
import torch
from threadpoolctl import threadpool_limits

logger = logging.getLogger(__name__)


def fix_threads(count: int) -> None:
    """Compute with `count` threads in torch, its OpenMP/MKL and numpy's BLAS.

    Snakemake exports OMP_NUM_THREADS and the BLAS variables as the job's scheduled threads,
    which --cores scales down; this overrides them with the configured count.
    """
    if count < 1:
        raise ValueError(f"thread count {count}: must be at least 1")
    threadpool_limits(limits=count)
    torch.set_num_threads(count)
    logger.info("computing with %d threads (config key threads)", count)
