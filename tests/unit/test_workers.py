"""Work shared among worker processes gives the same results, to the bit, as one process: the
bootstrap intervals, the paired lifts, the leakage check's groups and the permutation importance
(each evaluate's output, which dvc.lock pins).

The suite runs with one OpenMP thread (tests/conftest.py), so one worker; each test raises the
limit to two threads, and takes away the least work worth a worker (their tables are small),
which makes `lifecycle.core.workers` use two processes."""

import os

import numpy as np
import pandas as pd
import psutil
import pytest
from joblib.externals.loky import get_reusable_executor
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from lifecycle.core import workers
from lifecycle.evaluation import importance, leakage, metrics


@pytest.fixture(autouse=True)
def any_work_is_worth_a_worker(monkeypatch):
    monkeypatch.setattr(workers, "WORTH_A_WORKER", 0)


def in_one_and_in_two_workers(compute):
    with threadpool_limits(limits=1, user_api="openmp"):
        alone = compute()
    with threadpool_limits(limits=2, user_api="openmp"):
        assert workers.count(10, 1) == 2
        shared = compute()
    return alone, shared


def process_of_each(items):
    return [(item, os.getpid()) for item in items]


@pytest.mark.slow  # worker processes
def test_shares_keep_the_items_order_and_run_in_workers_one_per_openmp_thread_at_most():
    with threadpool_limits(limits=2, user_api="openmp"):
        assert (workers.count(1, 1), workers.count(0, 1), workers.count(5, 1)) == (1, 1, 2)
        results = workers.shared(process_of_each, list(range(7)), rows=1)
    assert [item for item, _ in results] == list(range(7))
    # Two shares; a worker that finishes its share first may take the other one too.
    processes = {process for _, process in results}
    assert 1 <= len(processes) <= 2 and os.getpid() not in processes
    with threadpool_limits(limits=1, user_api="openmp"):
        assert {process for _, process in workers.shared(process_of_each, [1, 2], rows=1)} == {
            os.getpid()}


def test_little_work_stays_in_the_stages_process(monkeypatch):
    monkeypatch.setattr(workers, "WORTH_A_WORKER", 1000)
    with threadpool_limits(limits=2, user_api="openmp"):
        assert workers.count(10, 99) == 1  # 990 rows of work
        assert workers.count(10, 100) == 2
        assert {process for _, process in workers.shared(process_of_each, [1, 2], rows=10)} == {
            os.getpid()}


@pytest.mark.slow  # worker processes
def test_workers_started_ahead_are_the_ones_the_work_then_runs_in(tmp_path, monkeypatch):
    """`start` begins the workers in the background, importing the modules given; the work that
    follows waits for them and runs in them, not in a pool started again."""
    record = f"pathlib.Path({str(tmp_path)!r}, str(os.getpid())).touch()"
    (tmp_path / "warmed.py").write_text(f"import os, pathlib\n{record}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    # No pool left by another test: new workers start, with this sys.path.
    get_reusable_executor().shutdown(wait=True, kill_workers=True)
    with threadpool_limits(limits=2, user_api="openmp"):
        workers.start(10, 1, ["warmed"])
        with workers.single_threaded():  # waits for the start
            started = {child.pid for child in psutil.Process().children()}
        results = workers.shared(process_of_each, list(range(4)), rows=1)
    imported = {int(path.name) for path in tmp_path.iterdir() if path.name.isdigit()}
    assert imported and imported <= started
    assert {process for _, process in results} <= started


@pytest.mark.slow  # worker processes
def test_bootstrap_and_paired_intervals_do_not_depend_on_the_number_of_workers():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 3000)
    weak, strong = (np.clip(gain * y + rng.uniform(0, 1 - gain, 3000), 0, 1)
                    for gain in (0.1, 0.3))
    settings = {"resamples": 25, "seed": 7}

    def compute():
        return (metrics.bootstrap_intervals("binary", y, strong, threshold=0.5, **settings),
                metrics.paired_bootstrap_deltas("binary", y, weak, strong, **settings),
                metrics.bootstrap_with_lifts("binary", y, strong,
                                             {"weak": weak, "flat": np.full(3000, 0.5)},
                                             "roc_auc", threshold=0.5, **settings))

    alone, shared = in_one_and_in_two_workers(compute)
    assert alone == shared
    assert alone[2][0] == alone[0]  # the lifts' pass gives the same intervals of the metrics
    assert alone[2][1]["weak"][0] > 0  # a real lift, found by both


@pytest.mark.slow  # worker processes
def test_leakage_groups_and_importance_do_not_depend_on_the_number_of_workers():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=2400) for i in range(5)})
    y = pd.Series(((frame["x0"] + frame["x1"] + rng.normal(scale=0.5, size=2400)) > 0)
                  .astype(int))
    fit, held = slice(0, 1600), slice(1600, None)
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(frame[fit], y[fit])

    def compute():
        groups = leakage.feature_group_scores(frame[fit], y[fit], frame[held], y[held],
                                              "binary", seed=0)
        ranking = importance.permutation_importance_table(model, frame[held], y[held],
                                                          rows=500, repeats=2, seed=0)
        return groups, ranking

    (groups, ranking), (shared_groups, shared_ranking) = in_one_and_in_two_workers(compute)
    assert groups == shared_groups
    assert groups[0]["features"] == ["x0", "x1"]
    pd.testing.assert_frame_equal(ranking, shared_ranking, check_exact=True)
    assert set(ranking["feature"].head(2)) == {"x0", "x1"}
