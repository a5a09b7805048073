"""The `lifecycle` command: one subcommand per DVC stage, and the commands beside them.

dvc.yaml runs the stages without this module (`python -m lifecycle.stages.<name>`), so editing
a help text here reruns nothing.
"""

import argparse
import sys
from collections.abc import Callable

from lifecycle.core import progress, stage_trace
from lifecycle.core.errors import run_command

STAGES = {
    "ingest": "snapshot the configured source into data/raw/",
    "prepare": "validate against the data contract, curate rows, split, profile the data",
    "featurize": "fit the feature transformer on the training split",
    "train": "fit the model and save the deployable pipeline under models/",
    "evaluate": "score the model on the test split; write metrics and plots",
    "monitor": "drift of the current batch against the training data; retrain or not",
    "export": "write the model as models/model.onnx if it answers as the pipeline on the test rows",
}
# Commands beside the stages (lifecycle/commands/): their run() may return an exit code.
TOOLS = {
    "init": "point the template at your own table: infer data/contract.yaml and write the "
            "problem and source of params.yaml",
    "gate": "print the success criteria and the verdict; exit 1 unless VALIDATED",
    "predict": "score a batch file with the model; rows failing the contract go to a rejects "
               "file",
    "serve": "serve the model over HTTP: POST /predict, GET /health, GET /metadata",
    "report": "compare the workspace (or --head) with a base revision: params, metrics with "
              "verdicts against the noise, gate, data quality and plots, in Markdown",
    "compare": "champion and challenger: the production model (the latest promotion tag) and "
               "the workspace's on the same rows, with a paired verdict and a recommendation",
    "code-deps": "rewrite each stage's code dependencies in dvc.yaml from its imports "
                 "(--check: only fail when they differ)",
    "check": "validate params.yaml and the data contract, and nothing else: exit 2 naming the "
             "key of the first error (--write-schema: regenerate params.schema.json first)",
}


class Version(argparse.Action):
    """--version: the installed package's version, looked up only when asked."""

    def __init__(self, option_strings: list[str], dest: str, **_: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the installed version of lifecycle and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        from lifecycle.core.extras import DISTRIBUTION

        try:
            installed = version(DISTRIBUTION)
        except PackageNotFoundError:
            installed = f"(the distribution {DISTRIBUTION} is not installed: docs/install.md)"
        print(f"lifecycle {installed}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lifecycle",
        description="Reproducible ML lifecycle. `dvc repro` runs the stages in order.",
    )
    parser.add_argument("--version", action=Version)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parsers = {
        name: commands.add_parser(name, help=f"stage: {summary}", description=summary)
        for name, summary in STAGES.items()
    }
    parsers.update({
        name: commands.add_parser(name, help=summary, description=summary)
        for name, summary in TOOLS.items()
    })
    add_monitor_arguments(parsers["monitor"])
    add_init_arguments(parsers["init"])
    add_predict_arguments(parsers["predict"])
    add_serve_arguments(parsers["serve"])
    add_report_arguments(parsers["report"])
    add_compare_arguments(parsers["compare"])
    parsers["code-deps"].add_argument("--check", action="store_true",
                                      help="change nothing; exit 1 when dvc.yaml is out of date")
    parsers["check"].add_argument("--write-schema", action="store_true",
                                  help="write params.schema.json from the params dataclasses")
    return parser


def add_monitor_arguments(monitor: argparse.ArgumentParser) -> None:
    monitor.add_argument(
        "--current", metavar="PATH",
        help="a new batch (.csv or .parquet), or the folder of a prediction log (`lifecycle "
             "serve --log-predictions`), to check instead of the held-out current split",
    )
    monitor.add_argument(
        "--output", metavar="DIR",
        help="where to write the report (default: reports/monitor, or reports/monitor-<name> "
             "for --current); an existing folder is replaced only if it holds nothing but an "
             "earlier report",
    )


def add_init_arguments(init: argparse.ArgumentParser) -> None:
    init.add_argument("--data", metavar="PATH", help="a CSV or parquet file")
    init.add_argument("--sql-url", metavar="URL", help="a SQLAlchemy URL, e.g. sqlite:///x.db")
    init.add_argument("--query", metavar="SQL", help="with --sql-url: the SELECT to run")
    init.add_argument("--target", metavar="COLUMN", required=True, help="the column to predict")
    init.add_argument("--task", choices=["classification", "regression"],
                      help="default: inferred from the target")
    init.add_argument("--time-column", metavar="COLUMN",
                      help="split out of time on this column (default: a random split)")
    init.add_argument("--name", metavar="NAME", dest="project_name",  # `name` is the command's
                      help="the project's name (problem.name, the model artifacts' names): "
                           "lowercase letters, digits and hyphens (default: from the file name)")
    init.add_argument("--leakage", metavar="COLUMN,...",
                      help="columns known only after the outcome (init warns of those it "
                           "suspects): role leakage in the contract, never features")


def add_predict_arguments(predict: argparse.ArgumentParser) -> None:
    predict.add_argument("--input", metavar="PATH", required=True, help="a .csv or .parquet file")
    predict.add_argument("--output", metavar="PATH", required=True,
                         help="where to write predictions (.csv or .parquet)")
    predict.add_argument("--rejects", metavar="PATH",
                         help="rejected rows with their reasons (default: OUTPUT.rejects.csv)")
    predict.add_argument("--chunk-rows", type=int, default=50_000, metavar="N",
                         help="rows read and scored at a time (default: 50000)")
    add_runtime_argument(predict)
    add_overwrite_argument(predict)


def add_runtime_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runtime", choices=("skops", "onnx"), default="skops",
                        help="skops: the scikit-learn pipeline (models/model.skops); onnx: the "
                             "same model as models/model.onnx through onnxruntime, which "
                             "answers a single row faster (default: skops)")


def add_overwrite_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="replace output files that exist (never an input or a file of the "
                             "project)")


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="server processes, each with its own copy of the model; about one "
                            "per core (default: 1)")
    add_runtime_argument(serve)
    serve.add_argument("--log-predictions", metavar="DIR",
                       help="append each answered row (validated inputs, model, answer) to a "
                            "rotating JSON-lines log in DIR, for `lifecycle monitor --current "
                            "DIR` (default: no log, nothing of a request kept)")
    serve.add_argument("--log-max-megabytes", type=float, default=100, metavar="MB",
                       help="with --log-predictions: rotate the log file at this size "
                            "(default: 100)")
    serve.add_argument("--log-files", type=int, default=5, metavar="N",
                       help="with --log-predictions: rotated files kept besides the one "
                            "written, the oldest dropped (default: 5)")


def add_report_arguments(report: argparse.ArgumentParser) -> None:
    report.add_argument("--base", metavar="REV", required=True,
                        help="the revision to compare with (a branch, tag, commit or DVC "
                             "experiment name)")
    report.add_argument("--head", metavar="REV",
                        help="the revision under review, as --base (default: the workspace)")
    report.add_argument("--output", metavar="PATH", help="write the Markdown here (default: "
                                                         "print it)")
    report.add_argument("--link-root", metavar="URL",
                        help="prefix for links to changed plot files, e.g. the head commit's "
                             "blob URL on GitHub")
    report.add_argument("--images", metavar="DIR",
                        help="write a PNG of each chart that changed here (default: beside "
                             "--output, <name>_images/; none when printing)")
    report.add_argument("--image-root", metavar="URL",
                        help="prefix for the pictures in the Markdown (default: their path "
                             "relative to the Markdown)")
    add_overwrite_argument(report)


def add_compare_arguments(compare: argparse.ArgumentParser) -> None:
    compare.add_argument("--champion", metavar="REV", dest="champion_rev",
                         help="the champion's revision: a tag, branch or commit (default: the "
                              "latest production promotion of dvc.yaml's model artifact, "
                              "<name>#production#<n> with the highest n)")
    compare.add_argument("--output", metavar="PATH", default="reports/compare.md",
                         help="write the Markdown here and the JSON beside it, PATH with .json "
                              "(default: reports/compare.md)")
    add_overwrite_argument(compare)


def command_function(command: str) -> Callable[..., int | None]:
    """The function a command runs, imported only when it runs, so each process loads just
    what it needs."""
    if command == "ingest":
        from lifecycle.stages.ingest import run
    elif command == "prepare":
        from lifecycle.stages.prepare import run
    elif command == "featurize":
        from lifecycle.stages.featurize import run
    elif command == "train":
        from lifecycle.stages.train import run
    elif command == "evaluate":
        from lifecycle.stages.evaluate import run
    elif command == "monitor":
        from lifecycle.stages.monitor import run
    elif command == "export":
        from lifecycle.stages.export import run
    elif command == "init":
        from lifecycle.commands.init import run
    elif command == "gate":
        from lifecycle.commands.gate import run
    elif command == "predict":
        from lifecycle.commands.predict import run
    elif command == "serve":
        from lifecycle.commands.serve import run
    elif command == "report":
        from lifecycle.commands.report import run
    elif command == "compare":
        from lifecycle.commands.compare import run
    elif command == "code-deps":
        from lifecycle.commands.code_deps import run
    elif command == "check":
        from lifecycle.commands.check import run
    else:
        raise ValueError(f"no command {command!r}")
    return run


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    command = arguments.command
    options = {key: value for key, value in vars(arguments).items() if key != "command"}
    if command in STAGES:
        progress.configure(command)
    code = run_command(command, command_function(command), **options)
    if code == 0 and command in STAGES:
        stage_trace.write_trace(command)
    return code


if __name__ == "__main__":
    sys.exit(main())
