"""The `igsed` console script: `igsed --version`, `igsed --help`, and the subcommands.

The pipeline itself runs through Snakemake (`snakemake --cores N`); this command is for
what a user does outside it. Subcommands are added here as plain functions, one per name:
`_add_<name>` declares its options, `_run_<name>` runs it and returns the exit status.
Each imports its package only when it runs, so `igsed --help` does not load torch.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from igsed.core.versions import package_version

EXPLAIN_EPILOG = """\
Writes into --out, per file <stem>: <stem>.scores.tsv (sed_scores_eval's layout: onset,
offset, one column per explained class, one row per 100 ms frame), <stem>.events.tsv
(onset, offset, event_label: the frames kept at the method's tau*), and <stem>.png
(waveform and each class's frame scores). With several methods the two TSV files are
per method: <stem>.<method>.scores.tsv and <stem>.<method>.events.tsv.
Files longer than 10 s are explained in consecutive 10 s windows (the last one
zero-padded) whose frame scores are joined; a class's clip probability is its maximum
over the windows. Exit status: 0 if every file was explained, 1 if some failed, 2 for a
usage error (checked before any attribution: an --out that cannot be written, a
--threshold outside [0, 1], a --tau outside [0, 100]) or a run directory without models
or tau*, or whose models are not those its shards and tau* were made with.
"""


def _add_explain(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="frame scores, detected events and a figure for your own audio files",
        description=(
            "Explain audio files with a finished run's clip classifier and attribution "
            "methods: any length, channel count, sample rate and format soundfile reads."
        ),
        epilog=EXPLAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("audio", nargs="+", type=Path, metavar="AUDIO", help="audio files")
    _add_explain_options(parser)
    parser.set_defaults(handler=_run_explain)


def _add_explain_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--run",
        required=True,
        type=Path,
        metavar="DIR",
        help="the finished run: the pipeline's working directory (holding results/) "
        "or its results/ folder",
    )
    parser.add_argument(
        "--model",
        default=None,
        metavar="NAME",
        help="the run's model to explain with (a name of its models: config; default: "
        "the run's only model)",
    )
    parser.add_argument(
        "--methods",
        default="ig",
        help="comma-separated attribution methods (default: ig); settings as recorded in "
        "the run's shards, else each method's defaults",
    )
    parser.add_argument(
        "--classes",
        default="auto",
        help="auto (clip probability above the run's attribution threshold), all, or "
        "comma-separated class names (default: auto)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("."), metavar="DIR", help="output folder (default: .)"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="clip probability above which --classes auto explains a class "
        "(default: the run's attribution.threshold, recorded in tau_star.json)",
    )
    parser.add_argument(
        "--tau",
        type=float,
        default=None,
        metavar="PERCENTILE",
        help="percentile threshold for the events of every method (default: each "
        "method's tau*_IoU, chosen on val by the run)",
    )


@contextmanager
def _log_to_stderr() -> Iterator[None]:
    """igsed's log lines on stderr while a subcommand runs (the progress lines)."""
    logger = logging.getLogger("igsed")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _run_explain(args: argparse.Namespace) -> int:
    from igsed.explain.explain import ExplainSettings, explain, parse_classes, parse_methods

    try:
        settings = ExplainSettings(
            run_dir=args.run,
            model=args.model,
            methods=parse_methods(args.methods),
            classes=parse_classes(args.classes),
            out_dir=args.out,
            device=args.device,
            threshold=args.threshold,
            tau=args.tau,
        )
        with _log_to_stderr():
            report = explain(args.audio, settings)
    except (KeyError, ValueError, RuntimeError) as error:
        message = error.args[0] if isinstance(error, KeyError) else error
        print(f"igsed explain: error: {message}", file=sys.stderr)
        return 2
    print(f"igsed explain: {report.summary()}", file=sys.stderr)
    return 0 if report.ok else 1


SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (_add_explain,)


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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
