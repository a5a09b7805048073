"""The `lifecycle` command: one subcommand per DVC stage.

Stage modules are imported only when their subcommand runs, so each process loads just what it
needs.
"""

import argparse
import importlib
import sys

from lifecycle import tracking
from lifecycle.errors import LifecycleError

STAGES = {
    "ingest": "snapshot the configured source into data/raw/",
    "prepare": "curate rows and split out of time into data/prepared/",
    "featurize": "fit the feature transformer on the training split",
    "train": "fit the model and save the deployable pipeline under models/",
    "evaluate": "score the model on the test split; write metrics and plots",
    "monitor": "drift of the current batch against the training data; retrain or not",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lifecycle",
        description="Reproducible ML lifecycle. `dvc repro` runs the stages in order.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parsers = {
        name: commands.add_parser(name, help=f"stage: {summary}", description=summary)
        for name, summary in STAGES.items()
    }
    parsers["monitor"].add_argument(
        "--current", metavar="PATH",
        help="a new batch (.csv or .parquet) to check instead of the held-out current split",
    )
    parsers["monitor"].add_argument(
        "--output", metavar="DIR",
        help="where to write the report (default: reports/monitor, or reports/monitor-<name> "
             "for --current)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    options = {key: value for key, value in vars(arguments).items() if key != "command"}
    try:
        stage = importlib.import_module(f"lifecycle.stages.{arguments.command}")
        stage.run(**options)
    except LifecycleError as error:
        print(f"lifecycle {arguments.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    tracking.write_trace(arguments.command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
