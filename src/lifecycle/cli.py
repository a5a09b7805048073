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
}
# Tools: modules of the package whose run() returns the exit code.
TOOLS = {
    "gate": "print the success criteria and the verdict; exit 1 unless VALIDATED",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lifecycle",
        description="Reproducible ML lifecycle. `dvc repro` runs the stages in order.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary in STAGES.items():
        commands.add_parser(name, help=f"stage: {summary}", description=summary)
    for name, summary in TOOLS.items():
        commands.add_parser(name, help=summary, description=summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        if arguments.command in TOOLS:
            return importlib.import_module(f"lifecycle.{arguments.command}").run()
        stage = importlib.import_module(f"lifecycle.stages.{arguments.command}")
        stage.run()
    except LifecycleError as error:
        print(f"lifecycle {arguments.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    tracking.write_trace(arguments.command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
