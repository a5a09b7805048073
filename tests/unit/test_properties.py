"""Property-based tests of the prediction path: whatever a row holds, the answer is a prediction
or a refusal that names the field, never a server error or a traceback.

Rows are valid test rows with some fields replaced by hypothesis: wrong types, NaN, infinities,
empty and very long strings, unseen categories, dates with and without a time-zone offset,
missing fields and unknown ones. The same rows go to the API (in this process) and to the code
`lifecycle predict` runs on each chunk of a file.
"""

import csv
import datetime
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from lifecycle import config
from lifecycle.config import contract
from lifecycle.deployment import batch, scoring
from lifecycle.deployment.api import app as api_app
from lifecycle.deployment.api import limits as api_limits
from lifecycle.modeling import artifacts

# Deterministic and bounded: the same examples on every run, a few seconds each test.
BOUNDED = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MISSING = object()  # the field is left out of the row

offsets = st.integers(-12, 14).map(lambda hours: datetime.timezone(
    datetime.timedelta(hours=hours)))
odd_values = st.one_of(
    st.none(),
    st.just(MISSING),
    st.sampled_from([math.nan, math.inf, -math.inf, "", " ", "NaN", "null", True, False]),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=4),  # unseen
    st.integers(min_value=1_000, max_value=100_000).map(lambda size: "é" * size),  # very long
    st.datetimes(min_value=datetime.datetime(1900, 1, 1),
                 timezones=st.none() | offsets).map(lambda moment: moment.isoformat()),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@pytest.fixture(scope="module")
def setting(trained: Path) -> dict:
    """The trained project's model, input rules and a pool of valid rows."""
    patch = pytest.MonkeyPatch()
    patch.chdir(trained)
    app = api_app.create_app()
    model = artifacts.load_model("models/model.skops")
    rules = scoring.input_contract(contract.load("data/contract.yaml"),
                                   list(model.feature_names_in_))
    threshold = config.load().evaluate.decision_threshold
    patch.undo()
    rows = pd.read_parquet(trained / "data/prepared/test.parquet").drop(columns="late").head(20)
    valid = json.loads(rows.to_json(orient="records", date_format="iso"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield {"client": client, "model": model, "rules": rules, "threshold": threshold,
               "valid": valid, "fields": list(rules.columns)}


@st.composite
def broken_rows(draw: st.DrawFn, valid: list[dict], fields: list[str]) -> tuple[list, list]:
    """1 to 3 valid rows with some fields replaced or removed, and per row what was changed."""
    rows, changed = [], []
    for _ in range(draw(st.integers(1, 3))):
        row = dict(draw(st.sampled_from(valid)))
        names = draw(st.lists(st.sampled_from([*fields, "unknown_field"]), max_size=4,
                              unique=True))
        for name in names:
            value = draw(odd_values)
            if value is MISSING:
                row.pop(name, None)
            else:
                row[name] = value
        rows.append(row)
        changed.append(set(names))
    return rows, changed


@pytest.mark.slow  # generated requests
def test_any_request_gets_a_prediction_or_a_422_naming_a_changed_field(setting):
    client, seen = setting["client"], set()

    @BOUNDED
    @given(broken_rows(setting["valid"], setting["fields"]))
    def check(example: tuple[list, list]) -> None:
        rows, changed = example
        # NaN and Infinity as JavaScript spells them
        body = json.dumps({"instances": rows}, ensure_ascii=False).encode()

        response = client.post("/predict", content=body,
                               headers={"content-type": "application/json"})

        if len(body) > api_limits.MAX_BODY_BYTES:
            assert response.status_code == 413
            return
        assert response.status_code in (200, 422), response.text
        assert "Traceback" not in response.text
        seen.add(response.status_code)
        if response.status_code == 200:
            answer = response.json()
            assert len(answer["predictions"]) == len(rows)
            for probabilities in answer["probabilities"]:
                assert math.isclose(sum(probabilities.values()), 1)
        else:
            for error in response.json()["detail"]:
                _, _, position, field, *_ = error["loc"]
                assert field in changed[position], error

    check()
    assert seen == {200, 422}  # both answers were reached


@pytest.mark.slow  # generated batches
def test_any_batch_row_is_scored_or_rejected_with_a_reason_naming_a_changed_field(setting,
                                                                                tmp_path):
    fields, rules = setting["fields"], setting["rules"]
    path = tmp_path / "batch.csv"
    seen = set()

    @BOUNDED
    @given(broken_rows(setting["valid"], fields))
    def check(example: tuple[list, list]) -> None:
        rows, changed = example
        # What a user's file holds; text quoted, as a carriage return in it would end the line.
        pd.DataFrame(rows, columns=fields).to_csv(path, index=False,
                                                  quoting=csv.QUOTE_NONNUMERIC)
        (chunk,) = batch.read_chunks(path, 10)

        scored, rejected = scoring.score_chunk(setting["model"], chunk, rules, [],
                                               setting["threshold"], "batch.csv")

        assert sorted([*scored["row"], *rejected["row"]]) == list(range(len(rows)))
        assert scored[["probability_0", "probability_1"]].sum(axis=1).round(9).eq(1).all()
        seen.update(["scored"] * len(scored) + ["rejected"] * len(rejected))
        for position, reason in zip(rejected["row"], rejected["reason"], strict=True):
            blamed = {part.split(": ")[0] for part in reason.split("; ")}
            assert blamed <= changed[position], reason

    # A few rows per example: one OpenMP thread is faster than many, far faster on busy cores.
    with threadpool_limits(limits=1, user_api="openmp"):
        check()
    assert seen == {"scored", "rejected"}  # both answers were reached
