"""Per-job logging: everything a stage prints goes to its Snakemake log file."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to_file(log_path: str | os.PathLike[str] | None, level: int = logging.INFO) -> None:
    """Send logging, stdout and stderr (tracebacks, warnings) to `log_path`.

    Without a path, logging goes to stderr, as for a stage called from a shell.
    """
    handlers: list[logging.Handler]
    if log_path is None:
        handlers = [logging.StreamHandler(sys.stderr)]
    else:
        path = Path(log_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = open(path, "w", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives with the job
        sys.stdout = stream
        sys.stderr = stream
        handlers = [logging.StreamHandler(stream)]
    logging.basicConfig(level=level, format=_FORMAT, handlers=handlers, force=True)
    logging.captureWarnings(True)
