"""The catalogue of bad inputs: each gets a clear message and a non-zero exit (or a 4xx status),
and nothing is half-written.

One row per case: the command, the exit code or HTTP status, the words the message must hold
(they name the file, key or field) and the bad input. Commands run through `lifecycle.cli.main`
in a fresh project folder, in this process, so a crash surfaces here as the exception itself;
the command-line argument cases run the installed `lifecycle` command. After each command the
folder holds exactly the files it held before (no output, no temporary), unless the case says
which files a successful run writes.
"""

import dataclasses
import hashlib
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lifecycle import cli
from lifecycle.deployment.onnx import runtime as onnx_runtime

from ..conftest import bin_path, environment, example_file, set_param

# --- setups: each makes one bad input in the project folder (the working directory) ----------

Setup = Callable[[Path], Any]


def nothing(project: Path) -> None:
    return None


def write(name: str, data: bytes | str) -> Setup:
    def setup(project: Path) -> None:
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return setup


def replace(name: str, old: str, new: str) -> Setup:
    """Edit a text file in place; the old text must be there."""
    def setup(project: Path) -> None:
        text = (project / name).read_text()
        assert old in text, f"{old!r} not in {name}"
        (project / name).write_text(text.replace(old, new, 1))
    return setup


def params(**changes: Any) -> Setup:
    """Set params.yaml keys, given with `__` for dots."""
    def setup(project: Path) -> None:
        for dotted, value in changes.items():
            set_param(project, dotted.replace("__", "."), value)
    return setup


def override(*assignments: str) -> Setup:
    """`dvc exp run -S key=value` writes the override into params.yaml with this function
    before it runs the stages, so running the stage after it is what the experiment does."""
    def setup(project: Path) -> None:
        from dvc.utils.hydra import apply_overrides

        apply_overrides(project / "params.yaml", list(assignments))
    return setup


def remove(name: str) -> Setup:
    return lambda project: (project / name).unlink()


def steps(*setups: Setup) -> Setup:
    def setup(project: Path) -> dict:
        found: dict = {}
        for step in setups:
            found.update(step(project) or {})
        return found
    return setup


def good_table() -> pd.DataFrame:
    return pd.DataFrame({"x": range(20), "c": ["a", "b"] * 10, "y": [0, 1] * 10})


def own_data_with_text_in_a_numeric_column(project: Path) -> None:
    """`init` on a good table, then a new export where one value of the numeric x is text."""
    table = good_table()
    table.to_csv(project / "good.csv", index=False)
    assert cli.main(["init", "--data", "good.csv", "--target", "y"]) == 0
    table["x"] = table["x"].astype(str)
    table.loc[3, "x"] = "n/a"
    (project / "data/raw").mkdir(parents=True)
    table.to_parquet(project / "data/raw/dataset.parquet")


def own_data_with_repeated_rows(project: Path) -> None:
    """`init` on a good table, then a new export where 4 rows repeat earlier ones whole, with
    validation.duplicate_row: fail."""
    table = good_table()
    table.to_csv(project / "good.csv", index=False)
    assert cli.main(["init", "--data", "good.csv", "--target", "y"]) == 0
    (project / "data/raw").mkdir(parents=True)
    pd.concat([table, table.head(4)]).to_parquet(project / "data/raw/dataset.parquet")
    set_param(project, "validation.duplicate_row", "fail")


def sqlite_shop(project: Path) -> None:
    with sqlite3.connect(project / "shop.db") as connection:
        good_table().to_sql("customers", connection, index=False)


def raw_data_without_the_target(project: Path) -> None:
    (project / "data/raw").mkdir(parents=True)
    pd.DataFrame({"carrier": ["AA", "UA"], "distance": [100, 200]}).to_parquet(
        project / "data/raw/dataset.parquet")


def batch(rows: int = 5, **changes: Any) -> Setup:
    """batch.csv: test rows the model has not seen, with columns changed, dropped (None) or
    saved another way (`sep`, `encoding`, `name`)."""
    saving = {key: changes.pop(key) for key in ("sep", "encoding", "name") if key in changes}

    def setup(project: Path) -> None:
        frame = pd.read_parquet(project / "data/prepared/test.parquet").drop(columns="late")
        frame = frame.head(rows)
        for column, value in changes.items():
            frame = frame.drop(columns=column) if value is None else frame.assign(**{column: value})
        text = frame.to_csv(index=False, sep=saving.get("sep", ","))
        (project / saving.get("name", "batch.csv")).write_bytes(
            text.encode(saving.get("encoding", "utf-8")))
    return setup


def truncate(name: str, size: int = 1000) -> Setup:
    """The file cut after `size` bytes, as an interrupted copy leaves it."""
    def setup(project: Path) -> None:
        path = project / name
        path.write_bytes(path.read_bytes()[:size])
    return setup


def copy(source: str, target: str) -> Setup:
    def setup(project: Path) -> None:
        shutil.copyfile(project / source, project / target)
    return setup


def random_bytes(name: str, size: int = 5000) -> Setup:
    return write(name, random.Random(0).randbytes(size))


def onnx_description(change: Callable[[str], str]) -> Setup:
    """models/model.onnx with the description in its metadata changed: a valid ONNX file."""
    def setup(project: Path) -> None:
        import onnx

        path = project / "models/model.onnx"
        proto = onnx.load_from_string(path.read_bytes())
        (entry,) = [entry for entry in proto.metadata_props if entry.key == "lifecycle"]
        entry.value = change(entry.value)
        path.write_bytes(proto.SerializeToString())
    return setup


def cut_in_half(text: str) -> str:
    return text[:len(text) // 2]


def without_task(text: str) -> str:
    return json.dumps({key: value for key, value in json.loads(text).items() if key != "task"})


def folder(name: str) -> Setup:
    return lambda project: (project / name).mkdir()


def pipe(name: str) -> Setup:
    """A named pipe nobody writes to: reading it would wait for ever."""
    return lambda project: os.mkfifo(project / name)


def wide_table(name: str, columns: int) -> Setup:
    """A table of one row and `columns` columns, as CSV or parquet by its extension."""
    def setup(project: Path) -> None:
        frame = pd.DataFrame([range(columns)], columns=[f"c{i}" for i in range(columns)])
        if name.endswith(".csv"):
            frame.to_csv(project / name, index=False)
        else:
            frame.to_parquet(project / name)
    return setup


def busy_port(project: Path) -> dict:
    """A port something else already listens on."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return {"port": listener.getsockname()[1], "listener": listener}


def free_port(project: Path) -> dict:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return {"port": probe.getsockname()[1]}


# --- the catalogue ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    args: tuple[str, ...]          # `lifecycle` arguments; {name} takes a value the setup gives
    code: int                      # the exit code
    words: tuple[str, ...]         # each must be in the error output
    setup: Setup = nothing
    model: bool = False            # runs in a copy of a trained project (model, splits)
    creates: tuple[str, ...] = ()  # files a run that succeeds writes
    installed: bool = False        # run the installed `lifecycle` command in a subprocess
    environ: dict[str, str] = dataclasses.field(default_factory=dict)  # environment variables


CSV_SOURCE = params(source__name="csv", source__path="data/source/table.csv")
PARQUET_SOURCE = params(source__name="parquet", source__path="data/source/table.parquet")
CONTRACT = "data/contract.yaml"
TEMP = "temp: {type: numeric, role: feature, nullable: true, min: -40, max: 130}"
PREDICT = ("predict", "--input", "batch.csv", "--output", "out/scored.csv")
PREDICT_ONNX = (*PREDICT, "--runtime", "onnx")
ONNX = "models/model.onnx"
SKOPS = "models/model.skops"
UNREADABLE_ONNX = ("models/model.onnx: not a readable ONNX model (InvalidProtobuf",
                   "export it again with `dvc repro`")

CASES = {
    # params.yaml, read by every stage: exit 2, the file, the key path, what is allowed
    "params: unknown key trian": Case(
        ("ingest",), 2, ("params.yaml: trian: unknown key", "(did you mean 'train'?)"),
        replace("params.yaml", "\ntrain:", "\ntrian:")),
    "params: unknown nested key": Case(
        ("train",), 2, ("params.yaml: train.cv_fold: unknown key", "did you mean 'cv_folds'"),
        replace("params.yaml", "  cv_folds:", "  cv_fold:")),
    "params: missing key": Case(
        ("prepare",), 2, ("params.yaml: seed: missing; add it",),
        replace("params.yaml", "\nseed:", "\n# seed:")),
    "params: wrong type": Case(
        ("evaluate",), 2, ("params.yaml: evaluate.importance_rows: expected int, found 'many'",),
        params(evaluate__importance_rows="many")),
    "params: out of range": Case(
        ("ingest",), 2, ("params.yaml: source.sample_fraction: found 0.0, expected a number in "
                         "(0, 100]",), params(source__sample_fraction=0)),
    "params: value not among the choices": Case(
        ("featurize",), 2, ("features.impute_numeric: 'medain' is not allowed; choose one of: "
                            "mean, median, most_frequent (did you mean 'median'?)",),
        params(features__impute_numeric="medain")),
    "params: setting the chosen source needs is absent": Case(
        ("ingest",), 2, ("params.yaml: source.url: found None, expected a value for source.name "
                         "'sql'",), params(source__name="sql")),
    "params: policy for duplicate rows not among the choices": Case(
        ("prepare",), 2, ("params.yaml: validation.duplicate_row: 'keep' is not allowed; choose "
                          "one of: fail, drop, warn",), params(validation__duplicate_row="keep")),
    "params: metric that does not fit the task": Case(
        ("evaluate",), 2, ("problem.primary_metric: 'auc' is not a binary metric; choose one of: "
                           "roc_auc",), params(problem__primary_metric="auc")),
    "params: target the contract does not name": Case(
        ("prepare",), 2, ("the column with role target is 'late' but params.yaml problem.target "
                          "is 'delayed'",), params(problem__target="delayed")),
    "params: not valid YAML": Case(
        ("train",), 2, ("params.yaml: not valid YAML",), write("params.yaml", "seed: [1, 2\n")),
    "params: file missing": Case(
        ("ingest",), 2, ("params.yaml: file not found; run lifecycle from the project root",),
        remove("params.yaml")),
    "params: unknown model name": Case(
        ("train",), 2, ("params.yaml: train.model: unknown model 'lightgbm'; choose one of: "
                        "hist_gradient_boosting, random_forest, xgboost, linear, trivial",),
        params(train__model="lightgbm"), model=True),
    "override -S: hyperparameter out of range": Case(
        ("train",), 2, ("params.yaml: train.hyperparameters.hist_gradient_boosting: The "
                        "'learning_rate' parameter of HistGradientBoostingClassifier must be a "
                        "float in the range (0.0, inf). Got -1 instead",),
        override("train.hyperparameters.hist_gradient_boosting.learning_rate=-1"), model=True),
    **{f"params: learning rate {text}": Case(
        ("check",), 2, ("params.yaml: train.hyperparameters.hist_gradient_boosting:",
                        "learning_rate", found),
        replace("params.yaml", "learning_rate: 0.05", f"learning_rate: {text}"))
       for text, found in (("yes", "expected a finite number, found True"),
                           ("null", "Got None instead"),
                           ("-.inf", "Got -inf instead"),
                           ("1.0e+999", "Got inf instead"),
                           ("1e999", "Got '1e999' instead"))},  # text to YAML 1.1
    "override -S: an infinite strength of the linear baseline": Case(
        ("check",), 2, ("params.yaml: train.hyperparameters.linear: C: expected a finite "
                        "number, found inf",), override("train.hyperparameters.linear.C=1e999")),
    "params: an infinite threshold": Case(
        ("check",), 2, ("params.yaml: evaluate.decision_threshold: expected a finite number, "
                        "found inf",), replace("params.yaml", "decision_threshold: 0.3",
                                               "decision_threshold: .inf")),
    "override -S: misspelt hyperparameter": Case(
        ("train",), 2, ("params.yaml: train.hyperparameters.hist_gradient_boosting:",
                        "unexpected keyword argument 'learning_rat'"),
        override("+train.hyperparameters.hist_gradient_boosting.learning_rat=0.1"), model=True),
    "override -S: text for a number": Case(
        ("train",), 2, ("params.yaml: train.cv_folds: expected int, found 'three'",),
        override("train.cv_folds=three")),
    "override -S: not a date": Case(
        ("prepare",), 2, ("params.yaml: split.test_start: expected a date YYYY-MM-DD, found "
                          "'September'",), override("split.test_start=September")),
    "override -S: unknown key no stage declares": Case(
        ("check",), 2, ("params.yaml: trian: unknown key", "(did you mean 'train'?)"),
        override("+trian.lerning_rate=0.1")),
    "override -S: too few folds": Case(
        ("check",), 2, ("params.yaml: train.cv_folds: found 1, expected an integer in [2, 50]",),
        override("train.cv_folds=1")),
    "params: criterion outside its metric's range": Case(
        ("check",), 2, ("params.yaml: criteria.minimum.roc_auc: found 1.5, expected a value "
                        "roc_auc can take: in [0, 1]",),
        params(criteria__minimum={"roc_auc": 1.5})),
    "params: fraction of shared rows above 1": Case(
        ("ingest",), 2, ("params.yaml: criteria.max_shared_test_rows: found 5.0",),
        params(criteria__max_shared_test_rows=5)),
    "params: a deployment latency limit of zero": Case(
        ("check",), 2, ("params.yaml: criteria.deployment.max_latency_ms: found 0.0, expected a "
                        "number > 0 (or null)",),
        params(criteria__deployment={"max_latency_ms": 0})),
    "params: a deployment runtime that does not exist": Case(
        ("check",), 2, ("params.yaml: criteria.deployment.runtime: 'tensorflow' is not allowed; "
                        "choose one of: skops, onnx",),
        params(criteria__deployment={"runtime": "tensorflow"})),
    "params: hyperparameters of a misspelt model": Case(
        ("check",), 2, ("params.yaml: train.hyperparameters.hist_gradiant_boosting: not a "
                        "model of the registry", "(did you mean 'hist_gradient_boosting'?)"),
        params(train__hyperparameters__hist_gradiant_boosting={"max_iter": 50})),
    "params: unknown hyperparameter in the search space": Case(
        ("check",), 2, ("params.yaml: tuning.space.hist_gradient_boosting.learning_rat: not a "
                        "hyperparameter the search can set", "(did you mean 'learning_rate'?)"),
        replace("params.yaml", "      learning_rate: [0.03", "      learning_rat: [0.03")),
    "params: a value of the wrong type in the search space": Case(
        ("check",), 2, ("params.yaml: tuning.space.hist_gradient_boosting.max_depth: The "
                        "'max_depth' parameter", "Got 'deep' instead"),
        replace("params.yaml", "max_depth: [null, 4, 8]", "max_depth: [null, 4, deep]")),
    "params: one value where the search space needs a list": Case(
        ("train",), 2, ("params.yaml: tuning.space.hist_gradient_boosting.max_iter: expected a "
                        "list of the values to try, e.g. [0.05, 0.1], found 100",),
        replace("params.yaml", "max_iter: [100, 200, 400]", "max_iter: 100")),
    "override -S: search space of a misspelt model": Case(
        ("check",), 2, ("params.yaml: tuning.space.xgbost: not a model of the registry",
                        "(did you mean 'xgboost'?)"), override("+tuning.space.xgbost={}")),
    "override -S: tuning on with a misspelt hyperparameter in the space": Case(
        ("train",), 2, ("params.yaml: tuning.space.hist_gradient_boosting.max_leaf_node: not a "
                        "hyperparameter the search can set", "(did you mean 'max_leaf_nodes'?)"),
        override("tuning.enabled=true",
                 "+tuning.space.hist_gradient_boosting.max_leaf_node=[7,15]"), model=True),
    "params: slice column the contract does not name": Case(
        ("check",), 2, ("params.yaml: evaluate.slice_columns: 'carier' is not a column of "
                        "data/contract.yaml", "(did you mean 'carrier'?)"),
        params(evaluate__slice_columns=["carier", "origin"])),
    "params: slice column evaluation does not keep": Case(
        ("evaluate",), 2, ("params.yaml: evaluate.slice_columns: 'dep_delay' is a column with "
                           "role leakage",), params(evaluate__slice_columns=["dep_delay"])),
    "params: target the contract does not name, any stage": Case(
        ("train",), 2, ("data/contract.yaml: the column with role target is 'late' but "
                        "params.yaml problem.target is 'delayed'",),
        params(problem__target="delayed")),
    "params: a leakage column as a feature": Case(
        ("check",), 2, ("params.yaml: features: arr_delay may not be features",),
        params(features__age_from_year=["plane_year", "arr_delay"])),

    # data files: the source of `init` and `ingest`, the raw snapshot `prepare` reads
    "data: file missing": Case(
        ("init", "--data", "nope.csv", "--target", "y"), 1,
        ("--data nope.csv: file not found; give the path of a CSV or parquet file",)),
    "data: file empty": Case(
        ("init", "--data", "e.csv", "--target", "y"), 1, ("--data e.csv: the file is empty",),
        write("e.csv", b"")),
    "data: wrong delimiter": Case(
        ("init", "--data", "s.csv", "--target", "y"), 1,
        ("--data s.csv: one column 'x;c;y': the delimiter looks wrong; save the file "
         "comma-separated",), write("s.csv", b"x;c;y\n1;a;0\n2;b;1\n")),
    "data: not UTF-8": Case(
        ("init", "--data", "l.csv", "--target", "y"), 1, ("--data l.csv: not UTF-8 text",
                                                            "save the file as UTF-8"),
        write("l.csv", "x,c,y\n1,café,0\n2,b,1\n".encode("latin-1"))),
    "data: target column absent": Case(
        ("init", "--data", "t.csv", "--target", "y"), 1,
        ("target column 'y' not found (did you mean 'Y'?)", "fix --target"),
        write("t.csv", b"x,c,Y\n1,a,0\n2,b,1\n")),
    "data: target missing in every row": Case(
        ("init", "--data", "m.csv", "--target", "y"), 1,
        ("target column 'y' is missing in every row",), write("m.csv", b"x,c,y\n1,a,\n2,b,\n")),
    "data: target with a single class": Case(
        ("init", "--data", "o.csv", "--target", "y"), 1, ("target column 'y' has a single class",),
        write("o.csv", b"x,c,y\n1,a,1\n2,b,1\n")),
    "data: SQL query fails": Case(
        ("init", "--sql-url", "sqlite:///shop.db", "--query", "select * from customer",
         "--target", "y"), 1,
        ("--sql-url sqlite:///shop.db: the query failed: no such table: customer; check "
         "--sql-url and --query",), sqlite_shop),
    "data: SQLite database missing": Case(
        ("init", "--sql-url", "sqlite:///nope.db", "--query", "select 1", "--target", "y"), 1,
        ("--sql-url sqlite:///nope.db: database file nope.db not found; check --sql-url",)),
    "data: source file of params.yaml missing": Case(
        ("ingest",), 1, ("source data/source/table.csv: file not found; check source.path in "
                         "params.yaml",), CSV_SOURCE),
    "data: CSV saved as .parquet": Case(
        ("ingest",), 1, ("source data/source/table.parquet: could not be read as parquet",),
        steps(PARQUET_SOURCE, write("data/source/table.parquet", b"x,c,y\n1,a,0\n"))),
    "data: raw snapshot missing": Case(
        ("prepare",), 1, ("data/raw/dataset.parquet: not found; run `dvc repro`",)),
    "data: target absent from the snapshot": Case(
        ("prepare",), 1, ("data/raw/dataset.parquet: target column 'late' not found; columns "
                          "are: carrier, distance; fix problem.target",),
        raw_data_without_the_target),
    "data: a column contradicts the contract": Case(
        ("prepare",), 1, ("data/raw/dataset.parquet: 1 data contract rule(s) failed:\n"
                          "  column 'x': wrong_type: 1 values are not numeric (e.g. 'n/a')",
                          "edit data/contract.yaml"), own_data_with_text_in_a_numeric_column),
    "data: rows repeated whole, with validation.duplicate_row: fail": Case(
        ("prepare",), 1, ("data/raw/dataset.parquet: 4 of 24 rows with a target (16.7%) repeat "
                          "an earlier row in every column; set validation.duplicate_row in "
                          "params.yaml to drop",), own_data_with_repeated_rows),

    # the data contract, data/contract.yaml: exit 2, the column and the rule
    "contract: unknown role": Case(
        ("prepare",), 2, ("data/contract.yaml: columns.temp.role: 'featur' is not allowed; choose "
                          "one of: target, feature", "(did you mean 'feature'?)"),
        replace(CONTRACT, "temp: {type: numeric, role: feature", "temp: {type: numeric, "
                                                                  "role: featur")),
    "contract: unknown type": Case(
        ("featurize",), 2, ("data/contract.yaml: columns.temp.type: 'number' is not allowed",
                            "(did you mean 'numeric'?)"),
        replace(CONTRACT, "temp: {type: numeric", "temp: {type: number")),
    "contract: unknown rule": Case(
        ("prepare",), 2, ("data/contract.yaml: columns.temp.nulable: unknown key",
                          "(did you mean 'nullable'?)"),
        replace(CONTRACT, TEMP, TEMP.replace("nullable", "nulable"))),
    "contract: not valid YAML": Case(
        ("prepare",), 2, ("data/contract.yaml: not valid YAML",),
        replace(CONTRACT, "\ncolumns:", "\ncolumns: [")),
    "contract: file missing": Case(
        ("prepare",), 2, ("data/contract.yaml: not found; write one with `lifecycle init`",),
        remove(CONTRACT)),
    "contract: two targets": Case(
        ("prepare",), 2, ("data/contract.yaml: expected exactly one column with role target, "
                          "found ['late', 'arr_delay']",),
        replace(CONTRACT, "arr_delay: {type: numeric, role: leakage",
                "arr_delay: {type: numeric, role: target")),
    "contract: key that is not a column": Case(
        ("prepare",), 2, ("data/contract.yaml: keys: 'flight_id' is not a column of the "
                          "contract",), replace(CONTRACT, "keys: []", "keys: [flight_id]")),
    "contract: bound that is not a number": Case(
        ("prepare",), 2, ("data/contract.yaml: columns.temp.min: expected a number, found "
                          "'cold'",), replace(CONTRACT, TEMP, TEMP.replace("-40", "cold"))),
    "contract: range that contradicts itself": Case(
        ("prepare",), 2, ("data/contract.yaml: columns.temp: min 130 is above max -40",),
        replace(CONTRACT, TEMP, TEMP.replace("min: -40, max: 130", "min: 130, max: -40"))),
    "contract: bounds neither hard nor soft": Case(
        ("prepare",), 2, ("data/contract.yaml: columns.temp.bounds: 'sometimes' is not allowed; "
                          "choose one of: hard, soft",),
        replace(CONTRACT, TEMP, TEMP.replace("max: 130", "max: 130, bounds: sometimes"))),
    "contract: bounds on a column without a range": Case(
        ("prepare",), 2, ("data/contract.yaml: columns.origin.bounds: only a numeric column has "
                          "a range; remove it",),
        replace(CONTRACT, "categories: [EWR, JFK, LGA]", "categories: [EWR, JFK, LGA], "
                                                          "bounds: soft")),
    "contract: nullable that is not true or false": Case(
        ("monitor",), 2, ("data/contract.yaml: columns.temp.nullable: expected true or false, "
                          "found 'maybe'",),
        replace(CONTRACT, TEMP, TEMP.replace("nullable: true", "nullable: maybe"))),
    "contract: categories that are not a list": Case(
        ("prepare",), 2, ("data/contract.yaml: columns.origin.categories: expected a list of "
                          "allowed values, found 'EWR'",),
        replace(CONTRACT, "categories: [EWR, JFK, LGA]", "categories: EWR")),
    "contract: unknown top-level key": Case(
        ("check",), 2, ("data/contract.yaml: key: unknown key; allowed here: columns, keys "
                        "(did you mean 'keys'?)",), replace(CONTRACT, "keys: []", "key: []")),
    "contract: broken, for a stage that does not read it": Case(
        ("train",), 2, ("data/contract.yaml: columns.temp.role: 'featur' is not allowed",),
        replace(CONTRACT, "temp: {type: numeric, role: feature", "temp: {type: numeric, "
                                                                  "role: featur")),
    "contract: file missing, for lifecycle check": Case(
        ("check",), 2, ("data/contract.yaml: not found; write one with `lifecycle init`",),
        remove(CONTRACT)),

    # `lifecycle predict`: exit 1, the file and what to do; no output or temporary left
    "predict: input missing": Case(
        PREDICT, 1, ("--input batch.csv: not found; give the path of a .csv or .parquet file",),
        model=True),
    "predict: CSV named .parquet": Case(
        ("predict", "--input", "batch.parquet", "--output", "out/scored.csv"), 1,
        ("batch.parquet: could not be read as parquet:",), batch(name="batch.parquet"),
        model=True),
    "predict: unsupported input type": Case(
        ("predict", "--input", "batch.xlsx", "--output", "out/scored.csv"), 1,
        ("batch.xlsx: unsupported file type '.xlsx'; use .csv or .parquet",),
        batch(name="batch.xlsx"), model=True),
    "predict: empty input file": Case(
        PREDICT, 1, ("batch.csv: the file is empty; export the table again",),
        write("batch.csv", b""), model=True),
    "predict: not UTF-8": Case(
        PREDICT, 1, ("batch.csv: not UTF-8 text", "save the file as UTF-8",),
        batch(dest="Bogotá", encoding="latin-1"), model=True),
    "predict: wrong delimiter": Case(
        PREDICT, 1, ("batch.csv: one column", "the delimiter looks wrong"), batch(sep=";"),
        model=True),
    "predict: columns the model needs are missing": Case(
        PREDICT, 1, ("batch.csv: missing column(s) the model needs: temp, carrier",),
        batch(temp=None, carrier=None), model=True),
    "predict: a column the model needs misspelt": Case(
        PREDICT, 1, ("warning: batch.csv: column 'carier' is not a model input (did you mean "
                     "'carrier'?)", "batch.csv: missing column(s) the model needs: carrier"),
        batch(carier="AA", carrier=None), model=True),
    "predict: unsupported output type": Case(
        ("predict", "--input", "batch.csv", "--output", "out/scored.txt"), 1,
        ("--output out/scored.txt: unsupported output type '.txt'; use .csv or .parquet",),
        batch(),
        model=True),
    "predict: output folder not writable": Case(
        ("predict", "--input", "batch.csv", "--output", "batch.csv/scored.csv"), 1,
        ("batch.csv/scored.csv: cannot write there: batch.csv is not a writable folder",),
        batch(), model=True),
    "predict: rejects file not CSV": Case(
        (*PREDICT, "--rejects", "out/rejects.parquet"), 1,
        ("--rejects out/rejects.parquet: the rejects file is CSV; give a path ending .csv",),
        batch(),
        model=True),
    "predict: chunk of no rows": Case(
        (*PREDICT, "--chunk-rows", "0"), 1, ("--chunk-rows 0: give a positive number of rows",),
        batch(), model=True),
    "predict: model missing": Case(
        PREDICT, 1, ("models/model.skops: not found; run `dvc repro` (or `dvc pull`)",),
        steps(batch(), remove("models/model.skops")), model=True),
    "predict: ONNX model truncated": Case(
        PREDICT_ONNX, 1, UNREADABLE_ONNX, steps(batch(), truncate(ONNX)), model=True),
    "predict: ONNX model that is a skops file": Case(
        PREDICT_ONNX, 1, UNREADABLE_ONNX, steps(batch(), copy(SKOPS, ONNX)), model=True),
    "predict: ONNX model of random bytes": Case(
        PREDICT_ONNX, 1, UNREADABLE_ONNX, steps(batch(), random_bytes(ONNX)), model=True),
    "predict: ONNX model whose description is cut": Case(
        PREDICT_ONNX, 1, ("models/model.onnx: its description (metadata 'lifecycle') is not "
                          "valid JSON", "export it again"),
        steps(batch(), onnx_description(cut_in_half)), model=True),
    "predict: ONNX model whose description has no task": Case(
        PREDICT_ONNX, 1, ("models/model.onnx: its description (metadata 'lifecycle') names no "
                          "task (one of binary, multiclass, regression)", "export it again"),
        steps(batch(), onnx_description(without_task)), model=True),
    "predict: skops model truncated": Case(
        PREDICT, 1, ("models/model.skops: not a readable skops model file", "dvc pull"),
        steps(batch(), truncate(SKOPS)), model=True),
    "predict: skops model of random bytes": Case(
        PREDICT, 1, ("models/model.skops: not a readable skops model file", "dvc pull"),
        steps(batch(), random_bytes(SKOPS)), model=True),
    "predict: input is /dev/zero": Case(
        ("predict", "--input", "/dev/zero", "--output", "out/scored.csv"), 1,
        ("/dev/zero: not a regular file (a character device); give the path of a file",),
        model=True),
    "predict: input is a folder": Case(
        PREDICT, 1, ("batch.csv: not a regular file (a folder)",), folder("batch.csv"),
        model=True),
    "predict: input is a pipe": Case(
        PREDICT, 1, ("batch.csv: not a regular file (a pipe)",), pipe("batch.csv"), model=True),
    "predict: CSV of more columns than allowed": Case(
        PREDICT, 1, ("batch.csv: more than 10,000 columns, the most a table may have here; "
                     "keep only the columns you need",), wide_table("batch.csv", 10_001),
        model=True),
    "predict: parquet of more columns than allowed": Case(
        ("predict", "--input", "batch.parquet", "--output", "out/scored.csv"), 1,
        ("batch.parquet: more than 10,000 columns",), wide_table("batch.parquet", 10_001),
        model=True),
    "predict: Dask scheduler address that is not one": Case(
        PREDICT, 1, ("DASK_SCHEDULER_ADDRESS='::::': not a scheduler address", "unset it"),
        steps(batch(), params(engine="dask")), model=True,
        environ={"DASK_SCHEDULER_ADDRESS": "::::"}),
    "predict: every row breaks the contract": Case(
        (*PREDICT, "--chunk-rows", "2"), 0, (), batch(carrier="ZZ"), model=True,
        creates=("out/scored.csv", "out/scored.rejects.csv")),
    "monitor: new batch missing": Case(
        ("monitor", "--current", "nope.csv"), 1,
        ("--current nope.csv: not found; give the path of a .csv or .parquet batch",)),

    # `lifecycle serve` refuses an address it cannot listen on before loading anything
    "serve: port out of range": Case(
        ("serve", "--port", "70000"), 1, ("--port 70000: not a port number; use 1 to 65535",)),
    "serve: port in use": Case(
        ("serve", "--port", "{port}"), 1, ("--port {port}: cannot listen there: Address already "
                                           "in use",), busy_port),
    "serve: model missing": Case(
        ("serve", "--port", "{port}"), 1, ("models/model.skops: not found; run `dvc repro`",),
        free_port),

    # ... and loads the model once before any worker starts: a damaged one is one error
    "serve: ONNX model of random bytes": Case(
        ("serve", "--port", "{port}", "--runtime", "onnx"), 1, UNREADABLE_ONNX,
        steps(free_port, random_bytes(ONNX)), model=True),
    "serve: ONNX model whose description has no task": Case(
        ("serve", "--port", "{port}", "--runtime", "onnx", "--workers", "2"), 1,
        ("models/model.onnx: its description (metadata 'lifecycle') names no task",),
        steps(free_port, onnx_description(without_task)), model=True),
    "serve: skops model truncated, two workers": Case(
        ("serve", "--port", "{port}", "--workers", "2"), 1,
        ("models/model.skops: not a readable skops model file",),
        steps(free_port, truncate(SKOPS)), model=True),

    # the command line itself: usage errors, exit 2, from the installed command
    "cli: unknown subcommand": Case(
        ("serv",), 2, ("argument COMMAND: invalid choice: 'serv'",), installed=True),
    "cli: no subcommand": Case(
        (), 2, ("the following arguments are required: COMMAND",), installed=True),
    "cli: required option missing": Case(
        ("predict", "--output", "scored.csv"), 2,
        ("lifecycle predict: error: the following arguments are required: --input",),
        installed=True),
    "cli: port that is not a number": Case(
        ("serve", "--port", "eighty"), 2, ("argument --port: invalid int value: 'eighty'",),
        installed=True),
    "cli: chunk size that is not a number": Case(
        (*PREDICT, "--chunk-rows", "many"), 2,
        ("argument --chunk-rows: invalid int value: 'many'",), installed=True),
    "cli: choice not offered": Case(
        ("init", "--data", "x.csv", "--target", "y", "--task", "clustering"), 2,
        ("argument --task: invalid choice: 'clustering'",), installed=True),
    "cli: unknown option": Case(
        ("train", "--fast"), 2, ("unrecognized arguments: --fast",), installed=True),
}


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with a digest of its bytes."""
    return {path.relative_to(folder).as_posix(): hashlib.md5(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def project_for(case: Case, request: pytest.FixtureRequest, folder: Path) -> Path:
    if case.model:
        shutil.copytree(request.getfixturevalue("trained"), folder, dirs_exist_ok=True)
    else:
        for name in ("params.yaml", "dvc.yaml", CONTRACT):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(example_file(name), folder / name)
    return folder


def run_command(case: Case, args: list[str], project: Path,
                capsys: pytest.CaptureFixture) -> tuple[int, str]:
    if case.installed:
        result = subprocess.run([bin_path("lifecycle"), *args], cwd=project, env=environment(),
                                capture_output=True, text=True)
        return result.returncode, result.stderr
    capsys.readouterr()
    try:
        code = cli.main(args)
    except SystemExit as exit:
        code = exit.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", CASES)
def test_bad_input_gets_a_clear_error_and_leaves_no_partial_output(name, request, tmp_path,
                                                                  monkeypatch, capsys):
    case = CASES[name]
    project = project_for(case, request, tmp_path)
    monkeypatch.chdir(project)
    for variable, value in case.environ.items():
        monkeypatch.setenv(variable, value)
    given = case.setup(project) or {}
    args = [argument.format(**given) for argument in case.args]
    before = snapshot(project)

    code, errors = run_command(case, args, project, capsys)

    assert code == case.code, errors
    for words in case.words:
        assert words.format(**given) in errors
    assert "Traceback" not in errors
    if case.code and not case.installed:
        # The error, after nothing but the command's own progress lines or warnings.
        lines = errors.splitlines()
        first = next(number for number, line in enumerate(lines) if " error: " in line)
        assert lines[first].startswith(f"lifecycle {args[0]}: error: ")
        assert all(line.startswith((f"lifecycle {args[0]}: ", f"{args[0]}: "))
                   for line in lines[:first])
    after = snapshot(project)
    assert sorted(set(after) - set(before)) == sorted(case.creates)
    assert {path: after[path] for path in before} == before  # nothing changed or removed
    assert [p.name for p in project.rglob("*.tmp")] == []


def test_a_batch_whose_rows_all_break_the_contract_is_all_rejected(request, tmp_path,
                                                                    monkeypatch, capsys):
    """The one case above that succeeds: what its two files hold."""
    project = project_for(CASES["predict: every row breaks the contract"], request, tmp_path)
    monkeypatch.chdir(project)
    batch(carrier="ZZ")(project)

    assert cli.main([*PREDICT, "--chunk-rows", "2"]) == 0

    assert "5 rows read from batch.csv: 0 scored" in capsys.readouterr().out
    assert pd.read_csv(project / "out/scored.csv").columns.tolist() == [
        "row", "prediction", "probability_0", "probability_1"]
    rejects = pd.read_csv(project / "out/scored.rejects.csv")
    assert rejects["reason"].tolist() == ["carrier: unknown category"] * 5


# --- `python -m lifecycle.deployment.onnx.runtime MODEL INPUT OUTPUT`: the ONNX file alone ----

SCORE = (ONNX, "batch.csv", "scored.csv")

ONNX_SCORING = {
    "model truncated": Case(SCORE, 1, UNREADABLE_ONNX, steps(batch(), truncate(ONNX))),
    "model that is a skops file": Case(SCORE, 1, UNREADABLE_ONNX,
                                       steps(batch(), copy(SKOPS, ONNX))),
    "model of random bytes": Case(SCORE, 1, UNREADABLE_ONNX, steps(batch(), random_bytes(ONNX))),
    "model whose description is cut": Case(
        SCORE, 1, ("models/model.onnx: its description (metadata 'lifecycle') is not valid "
                   "JSON",), steps(batch(), onnx_description(cut_in_half))),
    "model whose description has no task": Case(
        SCORE, 1, ("models/model.onnx: its description (metadata 'lifecycle') names no task",),
        steps(batch(), onnx_description(without_task))),
    "model is /dev/zero": Case(
        ("/dev/zero", "batch.csv", "scored.csv"), 1,
        ("/dev/zero: not a regular file (a character device)",), batch()),
    "model is a folder": Case(("models", "batch.csv", "scored.csv"), 1,
                              ("models: not a regular file (a folder)",), batch()),
    "model missing": Case(("model.onnx", "batch.csv", "scored.csv"), 1,
                          ("model.onnx: not found; give the path of the ONNX file",), batch()),
    "input is /dev/zero": Case((ONNX, "/dev/zero", "scored.csv"), 1,
                               ("/dev/zero: not a regular file (a character device)",)),
    "input is a pipe": Case(SCORE, 1, ("batch.csv: not a regular file (a pipe)",),
                            pipe("batch.csv")),
    "input of more columns than allowed": Case(
        SCORE, 1, ("batch.csv: more than 10,000 columns",), wide_table("batch.csv", 10_001)),
}


@pytest.mark.parametrize("name", ONNX_SCORING)
def test_bad_input_to_onnx_scoring_is_one_line_and_writes_nothing(name, request, tmp_path,
                                                                  monkeypatch, capsys):
    case = dataclasses.replace(ONNX_SCORING[name], model=True)
    project = project_for(case, request, tmp_path)
    monkeypatch.chdir(project)
    case.setup(project)
    before = snapshot(project)
    capsys.readouterr()

    code = onnx_runtime.main(list(case.args))

    errors = capsys.readouterr().err
    assert code == case.code, errors
    for words in case.words:
        assert words in errors
    assert errors.startswith("lifecycle onnx-runtime: error: ") and errors.count("\n") == 1
    assert snapshot(project) == before


# --- `lifecycle serve` requests ----------------------------------------------------------------


@pytest.fixture(scope="module")
def row(trained: Path) -> dict:
    """One valid instance: a test row as JSON."""
    rows = pd.read_parquet(trained / "data/prepared/test.parquet").drop(columns="late").head(1)
    return json.loads(rows.to_json(orient="records", date_format="iso"))[0]


JSON = {"content-type": "application/json"}


@dataclasses.dataclass(frozen=True)
class Call:
    status: int
    words: tuple[str, ...]          # each in the response body
    field: str | None = None        # the field a 422 names (last item of `loc`)
    # The body, made from a valid row: an object sent as JSON, or bytes (or pieces) as they are.
    body: Callable[[dict], Any] = lambda row: {"instances": [row]}
    headers: dict = dataclasses.field(default_factory=lambda: JSON)
    method: str = "POST"
    path: str = "/predict"


def with_values(**values: Any) -> Callable[[dict], Any]:
    return lambda row: {"instances": [{**row, **values}]}


def pieces(size: int) -> Callable[[dict], Any]:
    """A body sent in pieces, so no length is declared up front."""
    return lambda row: (b" " * 100_000 for _ in range(size // 100_000 + 1))


REQUESTS = {
    "wrong type": Call(422, ("Input should be a valid number",), "temp",
                       with_values(temp="hot")),
    "missing required field": Call(
        422, ("Field required",), "distance",
        lambda row: {"instances": [{k: v for k, v in row.items() if k != "distance"}]}),
    "value out of range": Call(422, ("Input should be less than or equal to 5000",), "distance",
                               with_values(distance=99999)),
    "unknown category": Call(422, ("Input should be 'EWR', 'JFK' or 'LGA'",), "origin",
                             with_values(origin="LAX")),
    "not a date": Call(422, ("Input should be a valid datetime",), "scheduled_departure",
                       with_values(scheduled_departure="soon")),
    "infinity": Call(422, ("Input should be a finite number",), "temp",
                     lambda row: json.dumps({"instances": [{**row, "temp": float("inf")}]})
                     .encode()),
    # Half a UTF-16 pair, sent as the JSON escape "\ud800": not Unicode, so no category either.
    "lone surrogate in a free text field": Call(
        422, ("Input should be a valid string",), "dest",
        lambda row: json.dumps({"instances": [{**row, "dest": "\ud800"}]}).encode()),
    "empty list": Call(422, ("List should have at least 1 item",), "instances",
                       lambda row: {"instances": []}),
    "instances not a list": Call(422, ("Input should be a valid list",), "instances",
                                 lambda row: {"instances": row}),
    "body not an object": Call(422, ("Input should be a valid dictionary",), "body",
                               lambda row: [row]),
    "unknown top-level field": Call(422, ("Extra inputs are not permitted",), "threshold",
                                    lambda row: {"instances": [row], "threshold": 0.5}),
    # A field the model does not use is ignored, unless it looks like a misspelt input.
    "field close to an input": Call(422, ("did you mean 'carrier'?",), "carier",
                                    with_values(carier="AA")),
    "too many unknown fields": Call(
        413, ("2000 distinct fields that are not columns of the data contract; at most 1000",),
        body=lambda row: {"instances": [{**row, **{f"x{i}": 0 for i in range(2000)}}]}),
    "too many instances": Call(413, ("1001 instances; at most 1000 per request",),
                               body=lambda row: {"instances": [row] * 1001}),
    "body too large": Call(413, ("request body over 1000000 bytes",),
                           body=lambda row: b" " * 1_000_001),
    "body too large, no declared length": Call(413, ("request body over 1000000 bytes",),
                                               body=pieces(1_000_001)),
    "malformed JSON": Call(422, ("JSON decode error",), body=lambda row: b'{"instances": ['),
    "wrong content type": Call(
        415, ("the body must be JSON: send it with content-type: application/json",),
        body=lambda row: b"instances=1",
        headers={"content-type": "application/x-www-form-urlencoded"}),
    "unknown path": Call(404, ("Not Found",), path="/predictions"),
    "wrong method": Call(405, ("Method Not Allowed",), method="GET"),
}


@pytest.mark.parametrize("name", REQUESTS)
def test_a_bad_request_gets_a_4xx_naming_the_problem_and_the_server_keeps_serving(name, client,
                                                                                  row):
    call = REQUESTS[name]
    body = call.body(row)
    sent = {"json": body} if isinstance(body, dict | list) else {"content": body}

    response = client.request(call.method, call.path, headers=call.headers,
                              **(sent if call.method == "POST" else {}))

    assert response.status_code == call.status, response.text
    for words in call.words:
        assert words in response.text
    assert "Traceback" not in response.text
    if call.field:
        assert call.field in [item["loc"][-1] for item in response.json()["detail"]]
    assert client.get("/health").json()["status"] == "ok"
