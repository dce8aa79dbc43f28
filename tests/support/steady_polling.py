"""`python -m snakemake`, with the SLURM plugin polling at a steady interval.

Run as a script: `python tests/support/steady_polling.py <snakemake arguments>`.

snakemake-executor-plugin-slurm (2.8.0) waits 10 s longer after every status check that
finds no job finished, so in the tests, where jobs run for seconds, a job of 12 s is seen
finished after 33 s and each level of the DAG pays that again. Here the wait stays at
`--seconds-between-status-checks` (the tests set 1 s), as the plugin's own first waits do.
Only the cadence of `squeue` calls changes: what is submitted, with which resources, and
what the jobs compute are the plugin's and the profile's, as in a user's run.
"""

from __future__ import annotations

import sys


def _steady_interval(executor: object) -> int:
    return executor.workflow.remote_execution_settings.seconds_between_status_checks


def _ignore_backoff(executor: object, seconds: int) -> None:
    """The plugin's own next interval (its back-off) is dropped."""


def main() -> None:
    from snakemake.cli import main as snakemake_main
    from snakemake_executor_plugin_slurm import Executor

    # The plugin reads and sets this property of its executor (the interface's
    # RemoteExecutor) after each status check; a property on the subclass takes precedence.
    Executor.next_seconds_between_status_checks = property(_steady_interval, _ignore_backoff)
    sys.exit(snakemake_main())


if __name__ == "__main__":
    main()
