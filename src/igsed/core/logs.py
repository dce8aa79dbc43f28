"""Per-job logging: everything a stage prints goes to its Snakemake log file."""

from __future__ import annotations

import logging
import os
import resource
import sys
import time
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


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


class Progress:
    """Logs "<what>: done/total" at most every `every_s` seconds, and always at the end.

    One progress logger for every long loop (downloads, feature caching, shard reading),
    so each reports at a steady pace instead of per item.
    """

    def __init__(
        self, logger: logging.Logger, what: str, total: int | None, every_s: float = 10.0
    ) -> None:
        self.logger = logger
        self.what = what
        self.total = total
        self.every_s = every_s
        self.started = self.last = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def update(self, done: int, detail: str | None = None) -> None:
        """Report `done` items if `every_s` passed since the last report, or if all are done.

        `detail` replaces the "done/total" count in the line (e.g. a byte count in MiB).
        """
        now = time.monotonic()
        if now - self.last < self.every_s and done != self.total:
            return
        self.last = now
        count = f"{done}/{self.total}" if self.total is not None else str(done)
        self.logger.info("%s: %s (%.1f s)", self.what, detail or count, now - self.started)
