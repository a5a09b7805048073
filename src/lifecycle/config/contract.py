"""The data contract: what each column of the source is, and the rules its values obey.

`data/contract.yaml` says per column its type (numeric, categorical, datetime, text), its role
(target, feature, identifier, timestamp, leakage, excluded), whether it may be missing and its
allowed range or categories. The features are the columns with role `feature`, so the contract is
the one place that says which columns the model may see.
"""

import dataclasses
import math
from pathlib import Path
from typing import Any

from lifecycle.config.params import Params
from lifecycle.config.yaml_files import read_yaml
from lifecycle.core import stage_trace
from lifecycle.core.errors import (
    LifecycleError,
    ParamsError,
    did_you_mean,
    not_allowed_error,
    unknown_key_error,
)

CONTRACT_FILE = "data/contract.yaml"
TYPES = ("numeric", "categorical", "datetime", "text")
ROLES = ("target", "feature", "identifier", "timestamp", "leakage", "excluded")
# What a value outside a numeric column's min/max does. hard (the default, so a contract written
# before `bounds` existed means what it meant): prepare applies validation.out_of_range and
# scoring rejects the row. soft: the range is what was seen, not what is possible, so the value
# is kept and scored, with a warning.
BOUNDS = ("hard", "soft")
# `lifecycle init` widens each numeric column's observed range by this share of its spread on
# each side: a warm hour at 0.97 is new, not wrong, when the table's warmest was 0.96.
RANGE_MARGIN = 0.1


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    type: str
    role: str
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    bounds: str | None = None  # hard when absent; see BOUNDS
    categories: list | None = None
    note: str | None = None
    # A protected attribute (sex, age, ...): evaluate reports the model's metrics per group of
    # it and the gate may judge the gaps (criteria.fairness). The role stays as it is.
    sensitive: bool | None = None

    @property
    def soft(self) -> bool:
        """A numeric range whose breach is a warning, not a reject."""
        return self.bounds == "soft" and (self.min is not None or self.max is not None)

    def outside(self, value: float | None) -> bool:
        """The value lies outside [min, max] (a missing value does not)."""
        if value is None:
            return False
        return ((self.min is not None and value < self.min)
                or (self.max is not None and value > self.max))

    def range_text(self) -> str:
        return f"[{self.min}, {self.max}]"


@dataclasses.dataclass(frozen=True)
class Contract:
    columns: dict[str, Column]
    keys: list[str] = dataclasses.field(default_factory=list)

    def with_role(self, *roles: str) -> list[str]:
        return [name for name, column in self.columns.items() if column.role in roles]

    def sensitive_columns(self) -> list[str]:
        return [name for name, column in self.columns.items() if column.sensitive]

    def features(self, type_: str) -> list[str]:
        return [name for name, column in self.columns.items()
                if column.role == "feature" and column.type == type_]

    def feature_lists(self, age_from_year: list[str]) -> tuple[list[str], list[str]]:
        """Numeric and categorical model inputs; `age_from_year` columns become ages instead."""
        numeric = [c for c in self.features("numeric") if c not in age_from_year]
        return numeric, self.features("categorical")

    def check_calendar_params(self, datetime_column: str | None, age_from_year: list[str],
                              where: str = CONTRACT_FILE) -> None:
        """`features.datetime` and `features.age_from_year` name columns of this contract of the
        right type (datetime; numeric years), before any data is read for them."""
        if datetime_column:
            self.require_column("features.datetime", datetime_column, "datetime", where)
        for name in age_from_year:
            self.require_column("features.age_from_year", name, "numeric", where)
        if age_from_year and not datetime_column:
            raise ParamsError(f"params.yaml: features.age_from_year: {', '.join(age_from_year)} "
                              f"become ages at the moment in features.datetime, which is null; "
                              f"set features.datetime or empty features.age_from_year")

    def require_column(self, key: str, name: str, type_: str, where: str = CONTRACT_FILE
                       ) -> None:
        """The params key `key` names a column of this contract of type `type_`."""
        column = self.columns.get(name)
        if column is None or column.type != type_:
            candidates = [n for n, c in self.columns.items() if c.type == type_
                          and c.role not in ("target", "leakage", "identifier")]
            found = "not a column" if column is None else f"a {column.type} column"
            raise ParamsError(f"params.yaml: {key}: {name!r} is {found} of {where}; give one "
                              f"of its {type_} columns: {', '.join(candidates) or 'none'} (or "
                              f"add the column to the contract)")

    def target(self) -> str:
        targets = self.with_role("target")
        if len(targets) != 1:
            raise ParamsError(f"{CONTRACT_FILE}: expected exactly one column with role target, "
                              f"found {targets or 'none'}")
        return targets[0]

    def check_params(self, params: Params, where: str = CONTRACT_FILE) -> None:
        """params.yaml and this contract agree: the target, the columns params names (calendar,
        split, slices) and no leaking feature. Checked before any stage does work."""
        target = params.problem.target
        if self.target() != target:
            raise ParamsError(f"{where}: the column with role target is {self.target()!r} but "
                              f"params.yaml problem.target is {target!r}; make them agree")
        kind = self.columns[target].type
        if params.problem.task == "regression" and kind != "numeric":
            raise ParamsError(f"params.yaml: problem.task: regression needs a numeric target, "
                              f"but {where} says {target!r} is {kind}; set problem.task to "
                              f"binary or multiclass, or fix the column's type")
        datetime_column, age_from_year = params.features.datetime, params.features.age_from_year
        self.check_calendar_params(datetime_column, age_from_year, where)
        time_column = params.split.time_column
        if time_column:
            self.require_column("split.time_column", time_column, "datetime", where)
        inputs = [*self.with_role("feature"), datetime_column, *age_from_year]
        leaking = [name for name in dict.fromkeys(filter(None, inputs))
                   if name == target or self.columns[name].role in ("leakage", "identifier")]
        if leaking:
            raise ParamsError(
                f"params.yaml: features: {', '.join(leaking)} may not be features: the target "
                f"and the contract's leakage and identifier columns are never model inputs; "
                f"remove them")
        # evaluate slices the test split, which keeps the model's inputs, the time, key and
        # sensitive columns and the target.
        sliceable = list(dict.fromkeys(filter(None, [
            *self.with_role("feature"), datetime_column, time_column, *self.keys,
            *self.sensitive_columns()])))
        for name in params.evaluate.slice_columns:
            if name not in sliceable:
                column = self.columns.get(name)
                found = ("not a column" if column is None
                         else f"a column with role {column.role}, not kept for evaluation,")
                raise ParamsError(f"params.yaml: evaluate.slice_columns: {name!r} is {found} "
                                  f"of {where}; choose from: {', '.join(sliceable)}"
                                  f"{did_you_mean(name, sliceable)}")


def check_finite(table: Any, columns: list[str], where: str,
                 fix: str = "replace or remove them") -> None:
    """Numeric values in these columns of a DataFrame are finite: scikit-learn refuses infinity,
    so it is caught here, naming the column, rather than minutes later in a fit."""
    import numpy as np
    import pandas as pd

    for name in columns:
        values = table[name]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        infinite = np.isinf(values.to_numpy(dtype="float64", na_value=np.nan))
        if infinite.any():
            raise LifecycleError(f"{where}: column {name!r} holds {int(infinite.sum())} infinite "
                                 f"value(s); {fix}")


def load(path: str | Path = CONTRACT_FILE, record: bool = True) -> Contract:
    """The contract, validated; `record=False` when reading it only to validate it (a stage
    that does not use it does not depend on it)."""
    path = Path(path)
    if record:
        stage_trace.record_read(path)
    if not path.exists():
        raise ParamsError(f"{path}: not found; write one with `lifecycle init` (docs/own-data.md)")
    data = read_yaml(path, if_missing="write one with `lifecycle init`")
    try:
        return parse(data)
    except ParamsError as error:
        raise ParamsError(f"{path}: {error}") from None


def column_reasons(rules: Contract, path: str | Path = CONTRACT_FILE) -> dict[str, str]:
    """Why each column has its role, as the contract file says: its `note`, else the comment
    lines right above it; a comment above a run of columns of one role (no blank line between,
    as the example groups its leakage columns) speaks for each of them."""
    stage_trace.record_read(Path(path))
    lines = Path(path).read_text().splitlines()
    reasons: dict[str, str] = {}
    group: tuple[str, str] | None = None  # the role and comment of the run going on
    for name, index in _column_lines("\n".join(lines)):
        column = rules.columns.get(name)
        if column is None:
            continue
        comment = _comment_above(lines, index)
        if comment:
            group = (column.role, comment)
        elif not (index and lines[index - 1].strip()) or (group and group[0] != column.role):
            group = None  # a blank line or another role ends the run
        if reason := column.note or (group[1] if group else None):
            reasons[name] = reason
    return reasons


def _column_lines(text: str) -> list[tuple[str, int]]:
    """Each column's name and the line (from 0) its entry starts on."""
    import yaml

    for key, value in yaml.compose(text, Loader=yaml.SafeLoader).value:
        if key.value == "columns" and isinstance(value, yaml.MappingNode):
            return [(str(name.value), name.start_mark.line) for name, _ in value.value]
    return []


def _comment_above(lines: list[str], index: int) -> str:
    """The comment lines right above line `index`, as one line of text ("" when none)."""
    block = []
    for line in reversed(lines[:index]):
        if not line.strip().startswith("#"):
            break
        block.append(line.strip().lstrip("#").strip())
    return " ".join(reversed(block))


def validate(params: Params, path: str | Path = CONTRACT_FILE, *, required: bool = True,
             record: bool = True) -> Contract | None:
    """The contract at `path`, valid and in agreement with `params` (ParamsError otherwise);
    None when it is absent and not `required`. What `lifecycle check` and every stage run."""
    path = Path(path)
    if not required and not path.exists():
        return None
    rules = load(path, record=record)
    with stage_trace.paused():  # validation, not a stage using the values
        rules.check_params(params, str(path))
    return rules


def parse(data: Any) -> Contract:
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise ParamsError("expected a mapping with a `columns:` mapping")
    _check_keys("", data, ["columns", "keys"])
    columns = {str(name): _parse_column(str(name), spec)
               for name, spec in data["columns"].items()}
    keys = list(data.get("keys") or [])
    for key in keys:
        if key not in columns:
            raise ParamsError(f"keys: {key!r} is not a column of the contract")
    return Contract(columns, keys)


def _parse_column(name: str, spec: Any) -> Column:
    where = f"columns.{name}"
    if not isinstance(spec, dict):
        raise ParamsError(f"{where}: expected a mapping, found {spec!r}")
    fields = [field.name for field in dataclasses.fields(Column) if field.name != "name"]
    _check_keys(where, spec, fields)
    for field, allowed in (("type", TYPES), ("role", ROLES)):
        if spec.get(field) not in allowed:
            raise not_allowed_error(f"{where}.{field}", spec.get(field), allowed)
    _check_values(where, spec)
    return Column(name=name, **spec)


def _check_values(where: str, spec: dict) -> None:
    """Each rule's value has the type it needs, and the range is not empty."""
    for flag in ("nullable", "sensitive"):
        if not isinstance(spec.get(flag, True), bool):
            raise ParamsError(f"{where}.{flag}: expected true or false, found {spec[flag]!r}")
    bounds = spec.get("bounds")
    if bounds is not None and bounds not in BOUNDS:
        raise not_allowed_error(f"{where}.bounds", bounds, BOUNDS)
    if bounds is not None and spec.get("type") != "numeric":
        raise ParamsError(f"{where}.bounds: only a numeric column has a range; remove it")
    for bound in ("min", "max"):
        value = spec.get(bound)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ParamsError(f"{where}.{bound}: expected a number, found {value!r}")
    if spec.get("min") is not None and spec.get("max") is not None and spec["min"] > spec["max"]:
        raise ParamsError(f"{where}: min {spec['min']!r} is above max {spec['max']!r}, so no "
                          f"value is allowed; swap them")
    categories = spec.get("categories")
    if categories is not None and not isinstance(categories, list):
        raise ParamsError(f"{where}.categories: expected a list of allowed values, found "
                          f"{categories!r}")


def _check_keys(where: str, data: dict, allowed: list[str]) -> None:
    for key in data:
        if key not in allowed:
            raise unknown_key_error(where, key, allowed)


def inferred_range(low: float, high: float) -> tuple[float, float]:
    """The range init writes for a column whose finite values lie in [low, high]: widened by
    RANGE_MARGIN of the spread on each side, rounded outward to the margin's leading digit, and
    never across zero: a column with no negative value (counts, amounts, ages) gets a lower
    bound of at least 0, and one with no positive value an upper bound of at most 0."""
    spread = high - low or abs(high)  # a constant column: a margin of its own size
    margin = RANGE_MARGIN * spread
    if not (math.isfinite(low - margin) and math.isfinite(high + margin)) or margin < 1e-300:
        return low, high  # all zeros, or too large or small to widen in floating point
    exponent = math.floor(math.log10(margin))
    step = 10.0 ** exponent
    # The quotients rounded first: -5.999999999 steps is -6, not a step wider.
    lower = math.floor(round((low - margin) / step, 6)) * step
    upper = math.ceil(round((high + margin) / step, 6)) * step
    if low >= 0:
        lower = max(lower, 0.0)
    if high <= 0:
        upper = min(upper, 0.0)
    return _rounded(lower, exponent), _rounded(upper, exponent)


def _rounded(value: float, exponent: int) -> float:
    """A bound as YAML writes it plainly: whole numbers as integers, others without the
    floating-point tail (1.06, not 1.0600000000000001), never -0."""
    if exponent >= 0 and math.isfinite(value):
        return int(value)
    return round(value, -exponent) + 0.0


def physical_bounds(low: float, high: float) -> dict[str, float]:
    """The bounds the values show by their sign alone: min 0 when none is negative, max 0
    when none is positive. What init infers for a regression target, whose predictions the
    model then keeps within them."""
    return {**({"min": 0} if low >= 0 else {}), **({"max": 0} if high <= 0 else {})}


HEADER = """\
# Data contract: what each column of the source is and the rules its values obey.
# Edit it by hand; `prepare` checks every rule (params.yaml `validation:` says what a failure does)
# and the model sees only the columns with role `feature`.
#   type:       numeric | categorical | datetime | text
#   role:       target | feature | identifier | timestamp | leakage | excluded
#   nullable:   may the value be missing?
#   min / max:  allowed range (numeric); categories: allowed values (categorical)
#   bounds:     hard (the default): a value outside min/max breaks the rule (prepare applies
#               validation.out_of_range; predict rejects the row, the API answers 422);
#               soft: it is kept and scored, with a warning
#   sensitive:  true for a protected attribute (sex, age, ...): evaluate reports the model per
#               group of it and criteria.fairness may judge the gaps; init marks none
#   keys:       columns that identify a row: rows repeating a key are dropped as duplicates
# A regression target's min/max bound the predictions too: the model clips them to it.
# `lifecycle init` inferred each numeric range from the table, as soft bounds: the smallest and
# largest values widened by {margin} of their spread on each side, rounded outward, and never
# below 0 for a column with no negative value (nor above 0 for one with no positive value); a
# regression target gets only that sign bound. Set the ranges you know, and make them hard.
"""


def dump(contract: Contract, comments: dict[str, str] | None = None) -> str:
    """The contract as YAML a person can edit, with a comment line above flagged columns."""
    import yaml

    comments = comments or {}
    header = HEADER.replace("{margin}", f"{RANGE_MARGIN:.0%}")
    lines = [header, f"keys: {_flow(contract.keys)}", "columns:"]
    for name, column in contract.columns.items():
        if name in comments:  # on one line, whatever the column's name holds
            lines.append(f"  # {' '.join(comments[name].split())}")
        spec = {field.name: getattr(column, field.name) for field in dataclasses.fields(Column)
                if field.name != "name" and getattr(column, field.name) is not None}
        lines.append(f"  {_flow(name)}: {_flow(spec)}")
    text = "\n".join(lines) + "\n"
    yaml.safe_load(text)  # what we write must read back
    return text


def _flow(value: Any) -> str:
    import yaml

    text = yaml.dump(value, Dumper=_one_line_dumper(), default_flow_style=True, width=10_000,
                     sort_keys=False, allow_unicode=True)
    return text.removesuffix("\n...\n").strip()  # a bare scalar ends with a document marker


def _one_line_dumper() -> type:
    """A safe YAML dumper that writes text holding a line break double-quoted, with escapes
    ("a\\nb"), so that every column stays on its line (plain style folds it over several)."""
    import yaml

    class OneLine(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        breaks = any(char in value for char in "\n\r\x85\u2028\u2029")
        return dumper.represent_scalar("tag:yaml.org,2002:str", value,
                                       style='"' if breaks else None)

    OneLine.add_representer(str, text)
    return OneLine


def input_columns(numeric: list[str], categorical: list[str], datetime: str | None,
                  age_from_year: list[str]) -> list[str]:
    """The raw columns the feature transformer consumes, in a stable order (here, not beside the
    transformer, so that prepare names them without importing scikit-learn)."""
    calendar = [datetime, *age_from_year] if datetime else []
    return list(dict.fromkeys([*calendar, *numeric, *categorical]))
