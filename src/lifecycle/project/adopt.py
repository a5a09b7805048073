"""`lifecycle init`: point the template at your own table.

Reads the table (CSV, parquet or a SQL query), infers the data contract and the problem, and
writes `data/contract.yaml`, the problem/source/split sections of params.yaml and the ingest
stage's dependencies, the plots and the artifacts in dvc.yaml. Columns that look like
identifiers or leakage are excluded, and it says so. The judgement the example's params carry
(decision threshold, slices, duplicate rows, criteria) is derived from the table, never
inherited, and printed with its reason. Only the lines init means to change differ. Nothing is
written unless everything succeeds: a file from outside the project is copied into data/source/
last, and never over a different file of the same name.
"""

import json
from pathlib import Path
from typing import Any

from lifecycle import config
from lifecycle.config import contract
from lifecycle.config.contract import Contract
from lifecycle.core import files, paths
from lifecycle.core.errors import LifecycleError
from lifecycle.data import curation
from lifecycle.project import inference, judgement, source_copy, writing
from lifecycle.project.judgement import Derived


def adopt(data: str | None, target: str, task: str | None, time_column: str | None,
          sql_url: str | None = None, query: str | None = None,
          project_name: str | None = None, leakage: str | None = None) -> dict:
    """`lifecycle init`, returning what validation.duplicate_row will do with the table's
    exact duplicate rows (`curation.duplicate_decision`), for the start's README."""
    params_file, dvc_file = Path("params.yaml"), Path("dvc.yaml")
    template = writing.check_params_file(params_file)
    writing.check_dvc_file(dvc_file)
    inference.check_project_name(project_name)  # before the table is read
    table, source, copy = source_copy.read_source(data, sql_url, query)
    location = source.get("path") or source.get("url")  # in the project, once copied
    where = copy[0].as_posix() if copy else location    # what the user gave, for errors
    curation.check_target(table, target, "regression", where, "--target")
    try:
        task = inference.infer_task(table[target], task)
    except LifecycleError as error:
        raise LifecycleError(f"{where}: {error}") from None
    curation.check_target(table, target, task, where, "--target")
    if task == "regression":
        contract.check_finite(table, [target], where)
    inference.check_time_column(table, time_column, target, where)
    rules, comments = inference.infer_contract(
        table, target, task, time_column, inference.leaking_columns(leakage, table, target))
    datetime_feature = (rules.with_role("timestamp") or [
        name for name, c in rules.columns.items() if c.type == "datetime" and c.role == "feature"]
        or [None])[0]
    problem = {"name": inference.project_slug(project_name, str(location)), "task": task,
               "target": target, "primary_metric": inference.PRIMARY_METRIC[task],
               "description": f"Predict {target} from the other columns of {location}."}
    split = inference.split_settings(table, time_column)
    positive = inference.positive_class(table[target]) if task == "binary" else None
    derived = judgement.derive_judgement(table, rules, problem, split, template.seed,
                                         datetime_feature, positive)
    effect = curation.duplicate_effect(table, target, task)
    warnings = [judgement.duplicate_warning(effect, derived[curation.DUPLICATE_ROW_KEY].value),
                inference.group_leak_warning(table, rules, target, task),
                inference.sensitive_suggestion([c for c in table.columns if c != target])]
    texts = {
        paths.CONTRACT: contract.dump(rules, comments),
        "params.yaml": writing.update_params(
            params_file, writing.params_sections(problem, source, split, datetime_feature, derived),
            writing.params_comments(split, derived)),
        "dvc.yaml": writing.update_dvc_file(dvc_file, source, problem),
    }
    # What init writes must read back as valid params, or the first stage would fail on it.
    config.parse(config.parse_yaml(texts["params.yaml"], "params.yaml"))
    for path, text in texts.items():
        files.write_bytes(text.encode(), path)
    source_copy.make_copy(copy)  # last: a failed init leaves no copy behind
    print(summary(rules, comments, problem, len(table), positive, list(derived.values()),
                  [line for line in warnings if line]))
    return curation.duplicate_decision(derived[curation.DUPLICATE_ROW_KEY].value,
                                       effect["rows"], int(table[target].notna().sum()))


def summary(rules: Contract, comments: dict[str, str], problem: dict, rows: int,
            positive: Any = None, derived: list[Derived] = (),
            warnings: list[str] = ()) -> str:
    lines = [f"{rows} rows, {len(rules.columns)} columns; task {problem['task']} on "
             f"{problem['target']!r}, primary metric {problem['primary_metric']}; "
             f"project {problem['name']}"]
    if positive is not None:
        lines.append(f"  positive class: {positive!r} (the second label in sorted order): the "
                     f"model scores its probability, and precision and recall count it")
    for role in ("feature", "timestamp", "identifier", "leakage", "excluded"):
        names = rules.with_role(role)
        if names:
            lines.append(f"  {role}: {', '.join(names)}")
    lines += [f"  flagged {name}: {comment}" for name, comment in comments.items()]
    if derived:
        lines.append("derived from the table, not taken from the example (params.yaml):")
        lines += [f"  {item.key}: {json.dumps(item.value)} ({item.reason})" for item in derived]
    lines += warnings
    lines.append(f"wrote {paths.CONTRACT} (review it), params.yaml and dvc.yaml; "
                 f"now run `dvc repro`, and set your success thresholds under `criteria:` in "
                 f"params.yaml")
    return "\n".join(lines)
