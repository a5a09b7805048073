"""Deployment constraints (params.yaml criteria.deployment): the deployed model's file size and
its single-row latency, measured where `lifecycle gate` runs and judged beside evaluate's
criteria.

No stage measures them: a latency moves with the machine's load, and the lock must not. The
latency is the median of many calls of what /predict runs for one validated row, on one thread,
so one slow call (a page fault, a busy neighbour) does not decide it.
"""

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

from lifecycle.config import contract
from lifecycle.config.params import Deployment, Params
from lifecycle.core import files, paths
from lifecycle.core.errors import LifecycleError
from lifecycle.deployment import loading, scoring
from lifecycle.deployment.api import predictions, request

WARM_UP_CALLS = 5  # the first calls pay for lazy initialisation, which a server pays once


def measure(limits: Deployment, params: Params) -> dict:
    """The deployed file's size in megabytes and, when judged, the median single-row latency in
    milliseconds (a test row scored as the API scores it)."""
    model, model_path = loading.load_deployed(limits.runtime, threads=1,
                                              packages=params.extensions.model_packages())
    measured = {"runtime": limits.runtime, "file": model_path,
                "megabytes": Path(model_path).stat().st_size / 1e6, "latency_ms": None}
    if limits.max_latency_ms is not None:
        rules = scoring.input_contract(contract.load(paths.CONTRACT),
                                       list(model.feature_names_in_))
        predict = predictions.row_predictor(model, rules, params.evaluate.decision_threshold)
        record = [validated_test_row(rules)]
        with threadpool_limits(1):
            measured["latency_ms"] = median_ms(lambda: predict(record), limits.latency_calls)
    return measured


def validated_test_row(rules: contract.Contract) -> dict:
    """The first test row, as the API's request model validates it (a JSON round trip, as a
    client would send it)."""
    source = files.existing(paths.PREPARED["test"])
    row = pd.read_parquet(source, columns=list(rules.columns)).head(1)
    if row.empty:
        raise LifecycleError(f"{source}: no rows to time the model on")
    sent = json.loads(row.to_json(orient="records", date_format="iso"))[0]
    return request.instance_model(rules).model_validate(sent).__dict__


def median_ms(call: Callable[[], object], calls: int) -> float:
    """The median time of `calls` calls, after a few warm-up calls."""
    for _ in range(WARM_UP_CALLS):
        call()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)
