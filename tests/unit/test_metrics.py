import numpy as np
import pytest

from lifecycle.evaluation import metrics


def test_binary_metrics_on_a_known_example():
    y = np.array([0, 0, 1, 1])
    probability = np.array([0.1, 0.6, 0.4, 0.9])

    scores = metrics.binary_metrics(y, probability, threshold=0.5)

    assert scores["roc_auc"] == 0.75
    assert scores["precision"] == 0.5 and scores["recall"] == 0.5 and scores["f1"] == 0.5
    assert scores["brier"] == pytest.approx((0.01 + 0.36 + 0.36 + 0.01) / 4)
    assert set(scores) == {"roc_auc", "average_precision", "log_loss", "brier", "f1",
                           "precision", "recall"}


def test_threshold_moves_precision_and_recall():
    y = np.array([0, 0, 1, 1])
    probability = np.array([0.1, 0.6, 0.4, 0.9])

    low = metrics.binary_metrics(y, probability, threshold=0.3)

    assert low["recall"] == 1.0
    assert low["precision"] == pytest.approx(2 / 3, abs=1e-6)


def test_multiclass_and_regression_metrics_on_known_examples():
    classes = np.array(["a", "b", "c"])
    probability = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2]])
    y = np.array(["a", "b", "c", "c"])

    multiclass = metrics.task_metrics("multiclass", y, probability, classes=classes)
    regression = metrics.task_metrics("regression", np.array([1.0, 2.0, 3.0]),
                                      np.array([1.0, 2.0, 5.0]))

    assert set(multiclass) == {"macro_f1", "balanced_accuracy", "log_loss"}
    assert multiclass["balanced_accuracy"] == pytest.approx((1 + 1 + 0.5) / 3, abs=1e-6)
    assert regression["mae"] == pytest.approx(2 / 3, abs=1e-6)
    assert regression["rmse"] == pytest.approx((4 / 3) ** 0.5, abs=1e-6)


def test_without_a_threshold_binary_metrics_leave_out_those_that_need_one():
    scores = metrics.binary_metrics(np.array([0, 1]), np.array([0.2, 0.7]), threshold=None)

    assert set(scores).isdisjoint(metrics.THRESHOLD_METRICS)


def noisy_binary(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, rows)
    return y, np.clip(0.3 * y + rng.uniform(0, 0.7, rows), 0, 1)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_bootstrap_intervals_contain_the_point_estimate_and_narrow_as_rows_grow(task):
    widths = []
    for rows in (200, 5000):
        y, scores, classes = example(task, rows)
        point = metrics.task_metrics(task, y, scores, 0.5, classes)
        intervals = metrics.bootstrap_intervals(task, y, scores, threshold=0.5, classes=classes,
                                                resamples=100, seed=1)
        assert set(intervals) == set(point)
        for name, (low, high) in intervals.items():
            assert low <= point[name] <= high, name
        widths.append({name: high - low for name, (low, high) in intervals.items()})
    small, large = widths
    assert all(large[name] < small[name] / 2 for name in small)  # about 1/sqrt(25) as wide


def test_the_bootstrap_is_seeded():
    y, scores = noisy_binary(300)
    first = metrics.bootstrap_intervals("binary", y, scores, resamples=20, seed=5)

    assert metrics.bootstrap_intervals("binary", y, scores, resamples=20, seed=5) == first


@pytest.mark.parametrize(("task", "shift"), [("binary", 0), ("multiclass", 0),
                                           ("multiclass", 300)])  # 300: beyond a byte
def test_the_intervals_are_the_same_whatever_type_holds_whole_number_labels(task, shift):
    y, scores, classes = example(task, 500)
    if shift:
        y, classes = y + shift, classes + shift
    intervals = {dtype: metrics.bootstrap_intervals(task, y.astype(dtype), scores, threshold=0.5,
                                                    classes=classes, resamples=30, seed=2)
                 for dtype in (np.int64, np.int32, np.float64)}

    assert intervals[np.int64] == intervals[np.int32] == intervals[np.float64]


def example(task: str, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    y, probability = noisy_binary(rows)
    if task == "binary":
        return y, probability, None
    if task == "regression":
        return y + probability, 2 * probability, None
    classes = np.array([0, 1, 2])
    labels = y + (probability > 0.6)
    spread = np.stack([1 - probability, probability, probability * y], axis=1) + 0.1
    return labels, spread / spread.sum(axis=1, keepdims=True), classes


def test_lift_is_positive_when_the_candidate_is_better_whichever_way_the_metric_points():
    assert metrics.lift("roc_auc", 0.7, 0.5) == 0.2
    assert metrics.lift("rmse", 1.0, 3.0) == 2.0
    assert metrics.lift("log_loss", 0.5, 0.4) == pytest.approx(-0.1)


def noisy_scores(rng: np.random.Generator, y: np.ndarray, signal: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(signal * (2 * y - 1) + rng.normal(size=len(y)))))


def test_the_paired_bootstrap_separates_a_real_gain_from_a_copy_of_the_same_model():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 3000)
    weak, strong = noisy_scores(rng, y, 0.5), noisy_scores(rng, y, 1.0)
    settings = {"base_threshold": 0.5, "head_threshold": 0.5, "resamples": 40, "seed": 0}

    gain = metrics.paired_bootstrap_deltas("binary", y, weak, strong, **settings)
    same = metrics.paired_bootstrap_deltas("binary", y, weak, weak, **settings)
    loss = metrics.paired_bootstrap_deltas("binary", y, strong, weak, **settings)

    assert gain["roc_auc"][0] > 0 and gain["log_loss"][0] > 0  # oriented: positive is better
    assert loss["roc_auc"][1] < 0 and loss["log_loss"][1] < 0
    assert same["roc_auc"] == [0.0, 0.0]


def test_the_paired_bootstrap_is_narrower_than_the_two_separate_intervals():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 3000)
    base = noisy_scores(rng, y, 0.8)
    head = np.clip(base + rng.normal(scale=0.01, size=len(y)), 0, 1)  # almost the same model

    paired = metrics.paired_bootstrap_deltas("binary", y, base, head, resamples=40, seed=0)
    separate = [metrics.bootstrap_intervals("binary", y, scores, resamples=40, seed=0)["roc_auc"]
                for scores in (base, head)]

    assert paired["roc_auc"][1] - paired["roc_auc"][0] < 0.2 * (separate[0][1] - separate[0][0])


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_prediction_tables_round_trip_labels_scores_and_classes(task, tmp_path):
    import pandas as pd

    rng = np.random.default_rng(2)
    y = {"binary": rng.integers(0, 2, 50), "multiclass": rng.choice([3, 5, 7], 50),
         "regression": rng.normal(size=50)}[task]
    scores = rng.dirichlet([1, 1, 1], 50) if task == "multiclass" else rng.random(50)
    classes = np.array([3, 5, 7]) if task == "multiclass" else None
    metrics.prediction_table(y, scores, classes).to_parquet(tmp_path / "p.parquet")

    labels, read_scores, read_classes = metrics.scores_from_table(
        pd.read_parquet(tmp_path / "p.parquet"))

    assert np.array_equal(labels, y) and np.array_equal(read_scores, scores)
    assert (read_classes is None) if classes is None else np.array_equal(read_classes, classes)
    assert metrics.task_metrics(task, labels, read_scores, 0.5, read_classes) == \
        metrics.task_metrics(task, y, scores, 0.5, classes)


class _RowCounter:
    """A classifier whose score of a row is its own value; it records how many rows each call
    scored."""

    def __init__(self):
        self.calls = []

    def predict_proba(self, X):
        self.calls.append(len(X))
        values = np.asarray(X, dtype=float)[:, 0]
        return np.column_stack([1 - values, values])


@pytest.mark.parametrize("as_frame", [True, False])
def test_scores_of_many_rows_come_a_chunk_at_a_time_in_row_order(monkeypatch, as_frame):
    import pandas as pd

    from lifecycle.modeling import metrics as model_metrics

    monkeypatch.setattr(model_metrics, "SCORE_CHUNK_ROWS", 4)
    values = np.linspace(0, 1, 10)
    rows = pd.DataFrame({"x": values}, index=np.arange(10)[::-1]) if as_frame else values[:, None]
    model = _RowCounter()

    scores = model_metrics.predict_scores(model, rows, "binary")

    assert model.calls == [4, 4, 2]
    np.testing.assert_array_equal(scores, values)
