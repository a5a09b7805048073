"""The template's candidate against scikit-learn's untuned HistGradientBoosting, on public tables
that package registries ship, each made into a project the way a user would.

    pip download islp==0.6.0 --no-deps -d WHEELS    # once; this script downloads nothing
    python -m benchmarks.tuned_vs_default --islp-wheel WHEELS/islp-0.6.0-py3-none-any.whl \\
        [--tables bikeshare,default,...] [--output tuned.md]

For each table: a copy of the template (its tracked files), `lifecycle init --data table.csv
--target ...`, then `dvc repro` through evaluate twice: with `tuning.enabled: false` (the
template's hand-tuned hyperparameters: before) and `true` (the search: after), each train stage
timed. Then scikit-learn's HistGradientBoosting with its defaults is fitted on the same
encoded training rows (the project's feature transformer output, its categorical columns
declared as the template declares them) and scored on data/prepared/test.parquet with the same
metric and the same seeded bootstrap as evaluate. ISLP's tables come from its wheel (a zip);
scikit-learn's from its bundled files.
"""

import argparse
import dataclasses
import json
import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

from benchmarks.measure import load_average, machine, measured
from tests.conftest import copy_project, environment, set_param


@dataclasses.dataclass(frozen=True)
class Table:
    source: str   # "islp" (a CSV in the wheel) or "sklearn" (a bundled loader)
    name: str     # the CSV's name, or the loader's
    target: str
    drop: tuple[str, ...] = ()  # columns that are the target in other words
    note: str = ""
    # Column types a user reviewing init's data/contract.yaml would correct: column -> type.
    retype: tuple[tuple[str, str], ...] = ()
    time_column: str | None = None  # init's --time-column: an out-of-time split


TABLES = {
    # init reads the month names (Jan ... Dec) as dates of year 1, which evaluate's leakage
    # check cannot convert to nanoseconds: a reviewing user makes them categories.
    "bikeshare": Table("islp", "Bikeshare.csv", "bikers", ("casual", "registered"),
                       "hourly rentals; casual + registered = bikers, dropped; mnth retyped "
                       "categorical", (("mnth", "categorical"),)),
    "wage": Table("islp", "Wage.csv", "wage", ("logwage",), "logwage = log(wage), dropped"),
    "nyse": Table("islp", "NYSE.csv", "log_volume", ("train",),
                  "daily, 1962-86; ISLP's own train flag dropped", time_column="date"),
    "diabetes": Table("sklearn", "load_diabetes", "target"),
    "default": Table("islp", "Default.csv", "default", note="3% positive"),
    "caravan": Table("islp", "Caravan.csv", "Purchase", note="6% positive"),
    "breast-cancer": Table("sklearn", "load_breast_cancer", "target"),
    "wage-education": Table("islp", "Wage.csv", "education", note="5 classes"),
    "digits": Table("sklearn", "load_digits", "target", note="10 classes, 64 pixels"),
}
SEARCH_LINE = re.compile(r"search (\d+) settings of \S+ done in ([\d.]+) s")
TRAIN_LINE = re.compile(r"^train: ", re.MULTILINE)


def load(table: Table, wheel: Path | None) -> pd.DataFrame:
    if table.source == "sklearn":
        import sklearn.datasets

        frame = getattr(sklearn.datasets, table.name)(as_frame=True).frame
    else:
        if wheel is None:
            raise SystemExit(f"{table.name}: give --islp-wheel (pip download islp==0.6.0 "
                             f"--no-deps)")
        with zipfile.ZipFile(wheel) as archive, archive.open(f"ISLP/data/{table.name}") as file:
            frame = pd.read_csv(file)
    return frame.drop(columns=list(table.drop))


def review(project: Path, table: Table) -> None:
    """Apply the table's corrections of the contract init wrote, as a reviewing user would."""
    path = project / "data/contract.yaml"
    for column, type_ in table.retype:
        rule = rf"^(\s*){re.escape(column)}: {{type: \w+"
        text = re.sub(rule, rf"\g<1>{column}: {{type: {type_}", path.read_text(),
                      flags=re.MULTILINE)
        path.write_text(text)
        if load_params(project)["features"]["datetime"] == column:
            set_param(project, "features.datetime", None)


def dvc(project: Path, env: dict, *arguments: str) -> object:
    return measured([str(Path(sys.executable).parent / "dvc"), *arguments], project, env)


def read_result(project: Path) -> dict:
    """The candidate's primary test metric and its bootstrap interval, from evaluate."""
    params = load_params(project)
    primary = params["problem"]["primary_metric"]
    folder = project / "reports/evaluation"
    value = json.loads((folder / "metrics.json").read_text())[primary]
    interval = json.loads((folder / "details.json").read_text())["intervals"][primary]
    return {"metric": primary, "value": value, "interval": interval}


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def load_params(project: Path) -> dict:
    import yaml

    return yaml.safe_load((project / "params.yaml").read_text())


def untuned(project: Path) -> dict:
    """scikit-learn's default HistGradientBoosting on the project's encoded training rows,
    scored on its test split as evaluate scores the candidate."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from lifecycle.core import tables
    from lifecycle.evaluation import metrics
    from lifecycle.modeling import artifacts, features
    from lifecycle.stages.train import fit_labels

    params = load_params(project)
    task, target = params["problem"]["task"], params["problem"]["target"]
    primary, seed = params["problem"]["primary_metric"], params["seed"]
    transformer = artifacts.load_model(project / "models/features.skops")
    encoded = tables.read_parquet(project / "data/features/train.parquet")
    y = fit_labels(encoded.pop(target), task)
    test = tables.read_parquet(project / "data/prepared/test.parquet")
    truth = test.pop(target)
    model = (HistGradientBoostingRegressor if task == "regression"
             else HistGradientBoostingClassifier)(
        categorical_features=features.categorical_output_columns(transformer) or None,
        random_state=seed).fit(encoded, y)
    scores = metrics.predict_scores(model, transformer.transform(test), task)
    classes = getattr(model, "classes_", None)
    labels = metrics.metric_labels(truth, task, classes)
    value = metrics.task_metrics(task, labels, scores, None, classes)[primary]
    interval = metrics.bootstrap_intervals(
        task, labels.to_numpy(), scores, classes=classes,
        resamples=params["evaluate"]["bootstrap_resamples"], seed=seed)[primary]
    return {"metric": primary, "value": value, "interval": interval}


def measure(name: str, table: Table, folder: Path, wheel: Path | None, env: dict) -> dict:
    """Before (tuning off), after (tuning on) and scikit-learn's default on one table."""
    print(f"benchmark: {name} ...", file=sys.stderr, flush=True)
    project = copy_project(folder / name)
    env = {**env, "PYTHONPATH": str(project / "src")}  # the project's own copy of the library
    data = folder / f"{name}.csv"
    load(table, wheel).to_csv(data, index=False)
    timed = ["--time-column", table.time_column] if table.time_column else []
    init = measured([str(Path(sys.executable).parent / "lifecycle"), "init", "--data", str(data),
                     "--target", table.target, *timed], project, env).output
    review(project, table)
    params = load_params(project)
    set_param(project, "tuning.enabled", False)
    dvc(project, env, "repro", "featurize")
    runs = {}
    for label, enabled in (("before", False), ("after", True)):
        set_param(project, "tuning.enabled", enabled)
        train = dvc(project, env, "repro", "train")
        dvc(project, env, "repro", "evaluate")
        search = SEARCH_LINE.search(train.output)
        runs[label] = {**read_result(project), "train_seconds": train.seconds,
                       "search_seconds": float(search.group(2)) if search else 0.0}
    report = json.loads((project / "reports/train.json").read_text())
    return {"table": name, "note": table.note, "task": params["problem"]["task"],
            "split": params["split"]["method"], "train_rows": report["rows"],
            "test_rows": read_json(project / "reports/evaluation/metrics.json")["test_rows"],
            "init_turned_it_on": "tuning.enabled: true" in init, **runs,
            "default": untuned(project), "tuning": report["tuning"]}


def shown(result: dict) -> str:
    low, high = result["interval"]
    return f"{result['value']:.4g} [{low:.4g}, {high:.4g}]"


def as_good(after: dict, default: dict) -> bool:
    """After is at least as good as the default, or the default lies in after's interval."""
    from lifecycle.evaluation import metrics

    low, high = after["interval"]
    metric = after["metric"]
    better = metrics.oriented(metric, after["value"]) >= metrics.oriented(metric, default["value"])
    return better or low <= default["value"] <= high


def chosen(tuning: dict) -> str:
    candidate = tuning["candidates"][tuning["chosen"]]
    settings = ", ".join(f"{key} {value}" for key, value in
                         sorted(candidate["hyperparameters"].items()))
    return f"{tuning['chosen']} ({candidate['source']}): {settings}"


def render(results: list[dict]) -> str:
    lines = [
        "| table | task, split | train / test rows | metric | before: tuning off | after: "
        "tuning on | scikit-learn default | after >= default within the interval | train "
        "stage off -> on (search) |",
        "| --- | --- | ---: | --- | --- | --- | --- | --- | --- |",
    ]
    for each in results:
        before, after, default = each["before"], each["after"], each["default"]
        label = f"{each['table']} ({each['note']})" if each["note"] else each["table"]
        lines.append(
            f"| {label} | {each['task']}, {each['split']} "
            f"| {each['train_rows']:,} / {each['test_rows']:,} "
            f"| {after['metric']} | {shown(before)} | {shown(after)} | {shown(default)} "
            f"| {'yes' if as_good(after, default) else 'no'} "
            f"| {before['train_seconds']:.0f} s -> {after['train_seconds']:.0f} s "
            f"({after['search_seconds']:.0f} s) |")
    lines += ["", "Chosen settings (candidate, where it came from):", ""]
    lines += [f"- {each['table']}: {chosen(each['tuning'])}" for each in results]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tuned_vs_default",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--islp-wheel", type=Path, help="islp-0.6.0-py3-none-any.whl")
    parser.add_argument("--tables", default=",".join(TABLES),
                        help=f"comma-separated (default: all of {', '.join(TABLES)})")
    parser.add_argument("--output", type=Path, help="also write the table (Markdown) here")
    arguments = parser.parse_args(argv)
    names = arguments.tables.split(",")
    unknown = set(names) - set(TABLES)
    if unknown:
        parser.error(f"--tables: unknown {', '.join(sorted(unknown))}")
    # One thread per library, as the test suite runs: the machine's cores are shared.
    env = environment(OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    header = f"Machine: {machine()}. Load average at the start: {load_average()}.\n\n"
    results = []
    with tempfile.TemporaryDirectory(prefix="lifecycle-tuning-") as folder:
        for name in names:
            results.append(measure(name, TABLES[name], Path(folder), arguments.islp_wheel, env))
            text = header + render(results)
            if arguments.output:  # after every table: a stopped run keeps what it measured
                arguments.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
