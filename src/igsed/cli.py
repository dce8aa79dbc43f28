"""The `igsed` console script: `igsed --version`, `igsed --help`, and the subcommands.

The pipeline itself runs through Snakemake (`snakemake --cores N`); this command is for
what a user does outside it. Subcommands are added here as plain functions, one per name.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from igsed.core.versions import package_version


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="igsed",
        description=(
            "igsed: can post-hoc attributions of a sound classifier tell when sound events "
            "happen? Run the benchmark with `snakemake --cores N` in the repository; "
            "see README.md."
        ),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"igsed {package_version('igsed', missing='unknown (not installed)')}",
    )
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
