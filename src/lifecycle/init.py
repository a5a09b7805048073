"""`lifecycle init`: point the template at your own table.

Reads the table (CSV, parquet or a SQL query), infers the data contract and the problem, and
writes `data/contract.yaml`, the problem/source/split sections of params.yaml and the ingest
stage's dependencies in dvc.yaml. Columns that look like identifiers or leakage are excluded,
and it says so. Nothing is written unless everything succeeds.
"""

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifecycle import contract, curation, io, paths, sources
from lifecycle.contract import Column, Contract
from lifecycle.errors import LifecycleError

PRIMARY_METRIC = {"binary": "roc_auc", "multiclass": "macro_f1", "regression": "rmse"}
MAX_LISTED_CATEGORIES = 20
LEAKAGE_SCORE = 0.98  # one column that predicts the target this well is too good to be true
CHECK_ROWS = 5000     # rows sampled for the leakage check
SOURCE_DIR = Path("data/source")
INGEST_PARAMS = {
    "nycflights13": ["source.late_threshold_minutes"],
    "csv": ["source.path"], "parquet": ["source.path"], "sql": ["source.query", "source.url"],
}


# --- inference (pure) ---------------------------------------------------------------------------


def infer_task(target: pd.Series, requested: str | None = None) -> str:
    """binary or multiclass for classes, regression for a measured quantity."""
    values = target.dropna()
    classes = values.nunique()
    if requested == "regression":
        if not pd.api.types.is_numeric_dtype(values):
            raise LifecycleError(f"target {target.name!r} is not numeric; regression needs "
                                 f"numbers (or use --task classification)")
        return "regression"
    if requested is None and pd.api.types.is_float_dtype(values) and classes > 10:
        return "regression"
    if requested is None and pd.api.types.is_integer_dtype(values) and classes > 10:
        return "regression"
    return "binary" if classes <= 2 else "multiclass"


def infer_type(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    present = values.dropna().astype(str)
    present = present.sample(min(len(present), CHECK_ROWS), random_state=0)  # parsing is slow
    if present.empty:
        return "categorical"
    if pd.to_datetime(present, errors="coerce", format="mixed").notna().mean() > 0.95 \
            and pd.to_numeric(present, errors="coerce").isna().all():
        return "datetime"
    many = present.nunique() > max(50, 0.5 * len(present))
    return "text" if many or present.str.len().mean() > 40 else "categorical"


def identifier_reason(values: pd.Series, type_: str) -> str | None:
    """Why a column looks like an identifier (unique per row, or free text), else None."""
    present = values.dropna()
    if type_ == "text":
        return "free text with a different value in most rows"
    integer_like = pd.api.types.is_integer_dtype(values) or type_ == "categorical"
    # Almost: exact duplicate rows repeat an identifier too.
    if integer_like and len(values) > 10 and present.nunique() >= 0.95 * len(values):
        return "a different value in (almost) every row"
    return None


def leakage_score(values: pd.Series, target: pd.Series, task: str, seed: int = 0) -> float:
    """Cross-validated score of a shallow tree that sees this one column only.

    Balanced accuracy for classification, R² for regression: near 1 means the column alone
    gives the answer away, which real features rarely do.
    """
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    labelled = target.notna()
    x, y = values[labelled], target[labelled]
    if len(y) > CHECK_ROWS:
        x, y = x.sample(CHECK_ROWS, random_state=seed), y.sample(CHECK_ROWS, random_state=seed)
    if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
        column = x.astype("float64").to_numpy()
    elif pd.api.types.is_datetime64_any_dtype(x):
        column = x.astype("int64").astype("float64").to_numpy()
    else:
        column = pd.factorize(x)[0].astype("float64")
    column = column.reshape(-1, 1)  # trees route missing values (NaN) on their own
    if task == "regression":
        model, scoring = DecisionTreeRegressor(max_depth=6, random_state=seed), "r2"
    else:
        model, scoring = DecisionTreeClassifier(max_depth=6, random_state=seed), \
            "balanced_accuracy"
        y = y.astype(str)
        if y.value_counts().min() < 3:
            return 0.0
    return float(np.mean(cross_val_score(model, column, y, cv=3, scoring=scoring)))


def infer_contract(table: pd.DataFrame, target: str, task: str,
                   time_column: str | None) -> tuple[Contract, dict[str, str]]:
    """A contract for `table` and the comments explaining each flagged column."""
    columns, comments = {}, {}
    calendar_taken = time_column is not None  # only one datetime column becomes calendar parts
    for name in table.columns:
        values = table[name]
        type_ = "datetime" if name == time_column else infer_type(values)
        role, note = "feature", None
        if name == target:
            role = "target"
        elif name == time_column:
            role = "timestamp"
        elif reason := identifier_reason(values, type_):
            role, note = "identifier", f"looks like an identifier: {reason}"
        elif type_ == "datetime" and not calendar_taken:
            calendar_taken = True
        elif type_ == "datetime":
            role, note = "excluded", ("a second datetime column: only features.datetime "
                                      "becomes calendar features")
        elif (score := leakage_score(values, table[target], task)) >= LEAKAGE_SCORE:
            role, note = "leakage", (f"looks like leakage: alone it predicts the target with "
                                     f"score {score:.3f}")
        if note:
            comments[name] = f"{note}; excluded from the features (edit role to change)"
        columns[name] = _column_rule(name, values, type_, role, task)
    # An identifier that is unique once exact duplicate rows are gone is the row's key.
    distinct_rows = table.drop_duplicates()
    keys = [name for name in rules_with_role(columns, "identifier")
            if distinct_rows[name].notna().all() and distinct_rows[name].is_unique][:1]
    return Contract(columns, keys), comments


def rules_with_role(columns: dict[str, Column], role: str) -> list[str]:
    return [name for name, column in columns.items() if column.role == role]


def _column_rule(name: str, values: pd.Series, type_: str, role: str, task: str) -> Column:
    rule: dict[str, Any] = {"nullable": bool(values.isna().any()) or role == "target"}
    present = values.dropna()
    if type_ == "numeric" and len(present) and role != "target":
        rule.update(min=_plain(present.min()), max=_plain(present.max()))
    listable = type_ == "categorical" or (role == "target" and task != "regression")
    if listable and 0 < present.nunique() <= MAX_LISTED_CATEGORIES:
        rule["categories"] = sorted({_plain(v) for v in present.unique()}, key=str)
    return Column(name=name, type=type_, role=role, **rule)


def _plain(value: Any) -> Any:
    """numpy scalars as the Python values YAML writes plainly."""
    return value.item() if hasattr(value, "item") else value


def split_settings(table: pd.DataFrame, time_column: str | None) -> dict[str, Any]:
    """Out of time at the 70% and 90% points of the time column, else random 80/20."""
    settings: dict[str, Any] = {"method": "random", "time_column": time_column,
                                "test_start": None, "current_start": None,
                                "test_fraction": 0.2, "current_fraction": 0.0}
    if time_column:
        moment = pd.to_datetime(table[time_column], errors="coerce", format="mixed").dropna()
        test_start, current_start = (moment.quantile(q).date() for q in (0.7, 0.9))
        if not test_start < current_start:
            current_start = None
        settings.update(method="out_of_time", test_start=test_start.isoformat(),
                        current_start=current_start.isoformat() if current_start else None)
    return settings


# --- reading and writing ------------------------------------------------------------------------


def read_source(data: str | None, sql_url: str | None,
                query: str | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The table and the params.yaml `source:` section that reads it again in ingest."""
    base = {"late_threshold_minutes": None, "sample_fraction": 1.0}
    if sql_url:
        if not query:
            raise LifecycleError("init: --sql-url needs --query \"select ...\"")
        database = sources.sqlite_file(sql_url)
        if database:
            sql_url = f"sqlite:///{inside_project(Path(database)).as_posix()}"
        return sources.read_sql(sql_url, query), {
            "name": "sql", **base, "url": sql_url, "query": query}
    if not data:
        raise LifecycleError("init: give --data PATH (csv or parquet) or --sql-url and --query")
    path = Path(data)
    kind = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"
    table = sources.read_file(path, kind)
    return table, {"name": kind, **base, "path": inside_project(path).as_posix()}


def inside_project(path: Path) -> Path:
    """The path relative to the project; a file outside is copied into data/source/ first,
    because DVC tracks a stage's dependencies inside the project."""
    resolved, root = path.resolve(), Path.cwd().resolve()
    if resolved.is_relative_to(root):
        return resolved.relative_to(root)
    copy = SOURCE_DIR / path.name
    if not path.is_file():
        raise LifecycleError(f"init: {path}: file not found")
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, copy)
    print(f"copied {path} to {copy} (a dependency of ingest)")
    return copy


def update_params(params_file: Path, sections: dict[str, dict[str, Any]]) -> str:
    """params.yaml with the given keys replaced, comments and other sections kept."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 100
    document = yaml.load(params_file.read_text())
    for section, values in sections.items():
        for key, value in values.items():
            document[section][key] = value
    for key in ("path", "url", "query"):  # only the keys the source kind uses
        if key not in sections["source"] and key in document["source"]:
            del document["source"][key]
    return _dump(yaml, document)


def update_ingest_stage(dvc_file: Path, source: dict[str, Any]) -> str:
    """dvc.yaml with ingest depending on the source file and reading the source's keys."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 100
    document = yaml.load(dvc_file.read_text())
    stage = document["stages"]["ingest"]
    modules = [dep for dep in stage["deps"] if str(dep).startswith("src/")]
    data = [source["path"]] if source.get("path") else []
    if source.get("url") and sources.sqlite_file(source["url"]):
        data = [sources.sqlite_file(source["url"])]
    stage["deps"] = sorted([*data, *modules])
    stage["params"] = sorted(["seed", "source.name", "source.sample_fraction",
                              *INGEST_PARAMS[source["name"]]])
    return _dump(yaml, document)


def _dump(yaml: Any, document: Any) -> str:
    """The document with its comments; without them where keeping them would corrupt it.

    ruamel can join two keys onto one line when a replaced value carried the line break (seen
    on a params.yaml that `dvc exp run -S` had rewritten), so the text is read back and checked.
    """
    import io as text_io

    import yaml as plain_yaml

    buffer = text_io.StringIO()
    yaml.dump(document, buffer)
    text = buffer.getvalue()
    data = json.loads(json.dumps(document))
    try:
        if plain_yaml.safe_load(text) == data:
            return text
    except plain_yaml.YAMLError:
        pass
    print("note: the file's comments could not be kept; it is written without them")
    return plain_yaml.safe_dump(data, sort_keys=False, width=100)


def run(data: str | None, target: str, task: str | None, time_column: str | None,
        sql_url: str | None = None, query: str | None = None) -> None:
    table, source = read_source(data, sql_url, query)
    where = source.get("path") or source.get("url")
    curation.check_target(table, target, "regression", where)
    task = infer_task(table[target], task)
    curation.check_target(table, target, task, where)
    if time_column and time_column not in table:
        raise LifecycleError(f"init: --time-column {time_column!r} is not a column of {where}")
    rules, comments = infer_contract(table, target, task, time_column)
    if time_column and rules.columns[time_column].type != "datetime":
        raise LifecycleError(f"init: --time-column {time_column!r} does not hold dates")
    datetime_features = rules.with_role("timestamp") or [
        name for name, c in rules.columns.items() if c.type == "datetime" and c.role == "feature"]
    name = Path(str(where)).stem.replace("_", "-") or "my-problem"
    problem = {"name": name, "task": task, "target": target,
               "primary_metric": PRIMARY_METRIC[task],
               "description": f"Predict {target} from the other columns of {where}."}
    texts = {
        paths.CONTRACT: contract.dump(rules, comments),
        "params.yaml": update_params(Path("params.yaml"), {
            "problem": problem, "source": source, "split": split_settings(table, time_column),
            "features": {"datetime": (datetime_features or [None])[0], "age_from_year": []},
            "evaluate": {"slice_columns": slice_columns(rules)},
            # The example's thresholds mean nothing for another problem: the gate keeps the
            # lift over the baselines until the team sets its own in params.yaml.
            "criteria": {"minimum": {}, "maximum": {}},
        }),
        "dvc.yaml": update_ingest_stage(Path("dvc.yaml"), source),
    }
    for path, text in texts.items():
        io.write_bytes(text.encode(), path)
    print(summary(rules, comments, problem, len(table)))


def slice_columns(rules: Contract, most: int = 2) -> list[str]:
    """Categorical features to report metrics per value of: the first few with few levels."""
    few = [name for name in rules.features("categorical")
           if rules.columns[name].categories is None or len(rules.columns[name].categories) <= 20]
    return few[:most]


def summary(rules: Contract, comments: dict[str, str], problem: dict, rows: int) -> str:
    lines = [f"{rows} rows, {len(rules.columns)} columns; task {problem['task']} on "
             f"{problem['target']!r}, primary metric {problem['primary_metric']}"]
    for role in ("feature", "timestamp", "identifier", "leakage", "excluded"):
        names = rules.with_role(role)
        if names:
            lines.append(f"  {role}: {', '.join(names)}")
    lines += [f"  flagged {name}: {comment}" for name, comment in comments.items()]
    lines.append(f"wrote {paths.CONTRACT} (review it), params.yaml and dvc.yaml; "
                 f"now run `dvc repro`, and set your success thresholds under `criteria:` in "
                 f"params.yaml")
    return "\n".join(lines)
