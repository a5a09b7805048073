"""Stage evaluate: score the deployable model and the baselines on the test split (out of time
or random, as split.method says), run the slice and leakage checks, judge the success criteria
and write the model card.

Headline metrics go to reports/evaluation/metrics.json (what `dvc exp show` lists), the detail
(intervals, folds, baselines, slices, checks) to details.json beside it, the test scores to
data/predictions/test.parquet. Plot data is logged
with dvclive; dvc.yaml registers the plots so `dvc plots show` and `dvc plots diff` draw them.
"""


import numpy as np
import pandas as pd
from dvclive import Live

from lifecycle import (
    artifacts,
    config,
    files,
    gate,
    importance,
    leakage,
    metrics,
    model_card,
    paths,
    progress,
    slices,
    tables,
)
from lifecycle.errors import LifecycleError, ParamsError
from lifecycle.formatting import rounded

# Plots of single predictions draw at most this many seeded rows, so plot files stay small.
PLOT_ROWS = 1000


def run() -> None:
    params = config.load()
    problem, evaluation = params.problem, params.evaluate
    task, target, primary = problem.task, problem.target, problem.primary_metric
    model = artifacts.load_model(paths.MODEL)
    test = tables.read_parquet(paths.PREPARED["test"])
    check_columns(evaluation.slice_columns, test.columns)
    classes = getattr(model, "classes_", None)
    y = labels(test.pop(target), task, classes, paths.PREPARED["test"])
    threshold = evaluation.decision_threshold if task == "binary" else None  # labels need one
    with progress.phase(f"score {len(test):,} test rows"):
        scores = metrics.predict_scores(model, test, task)
        test_metrics = metrics.task_metrics(task, y, scores, threshold, classes)
    with progress.phase("slices"):
        slice_records = slices.slice_metrics(test, y, scores, evaluation.slice_columns, task,
                                             evaluation.slice_min_rows, threshold, classes)
    train_report = files.read_json(paths.TRAIN_REPORT)
    with progress.phase(f"bootstrap intervals ({evaluation.bootstrap_resamples} resamples)"):
        intervals = metrics.bootstrap_intervals(
            task, y, scores, threshold=threshold, classes=classes,
            resamples=evaluation.bootstrap_resamples, seed=params.seed)
    with progress.phase("score the baselines, with paired intervals of the lifts"):
        baselines = score_baselines(test, y, task, primary, threshold, classes,
                                    (scores, test_metrics[primary]),
                                    evaluation.bootstrap_resamples, params.seed)
    with progress.phase("leakage and split checks"):
        checks = run_checks(model, test, y, task, target, classes, params.seed,
                            train_report["train_metrics"].get(primary), test_metrics[primary],
                            primary)
    checks["cv_shortfall"] = cv_shortfall(
        train_report["cross_validation"]["summary"].get(primary), test_metrics[primary],
        intervals.get(primary), primary)
    details = {
        "model": train_report["model"],
        "intervals": intervals,
        "cross_validation": train_report["cross_validation"],
        "baselines": baselines,
        "slices": {"records": slice_records,
                   "worst": slices.worst_slice(slice_records, primary, test_metrics[primary])},
        "checks": checks,
    }
    headline = headline_metrics(test_metrics, len(test), primary, details)
    rows = gate.criteria_rows(params.criteria, metrics.METRIC_NAMES[task], primary,
                              test_metrics, gate_findings(details, task, test_metrics))
    verdict = {"verdict": gate.verdict(rows), "criteria": rows}
    with progress.phase("permutation importance"):
        ranking = importance.permutation_importance_table(
            model, test, y, evaluation.importance_rows, evaluation.importance_repeats,
            params.seed, scoring=metrics.importance_scoring(primary, task, threshold),
        )
    progress.log.info("%s: %s", verdict["verdict"], ", ".join(
        f"{name} {test_metrics[name]}" for name in metrics.METRIC_NAMES[task][:3]
        if name in test_metrics))
    with files.atomic_directory(paths.EVALUATION_DIR) as folder:
        with Live(str(folder), save_dvc_exp=False, dvcyaml=None, report=None) as live:
            for name, value in headline.items():
                live.log_metric(name, value, plot=False)
            log_plots(live, task, y, scores, threshold, classes, params.seed)
            if slice_records:
                live.log_plot("slices", slice_gaps(slice_records, primary, test_metrics[primary]),
                              x="gap", y="slice")
            live.log_image("importance.png", importance.importance_figure(ranking, primary))
        # Inside the directory being written, so it lands atomically with the metrics.
        (folder / "details.json").write_text(files.json_text(details))
        files.make_json_valid(folder)  # dvclive writes the ROC curve's infinite first threshold
    files.write_json(ranking.to_dict(orient="records"), paths.IMPORTANCE)
    # Cached by DVC: `lifecycle report` pairs two revisions' scores on the same test rows.
    tables.write_parquet(metrics.prediction_table(y, scores, classes), paths.TEST_PREDICTIONS)
    files.write_json(verdict, paths.GATE)
    problem_summary = {"name": problem.name, "description": problem.description, "task": task,
                       "target": target, "primary_metric": primary}
    card = model_card.render_model_card(problem_summary, files.read_json(paths.DATA_REPORT),
                                        headline, details, verdict, params.split.method)
    files.write_bytes(card.encode(), paths.MODEL_CARD)


def score_baselines(test: pd.DataFrame, y: pd.Series, task: str, primary: str,
                    threshold: float | None, classes: np.ndarray | None,
                    candidate: tuple[np.ndarray, float], resamples: int,
                    seed: int) -> dict[str, dict]:
    """Each baseline's test metrics and the candidate's lift over it on the primary metric, with
    the lift's paired bootstrap interval (the same resampled rows for every model). `candidate`
    is the candidate's test scores and primary metric."""
    candidate_scores, value = candidate
    scores = {name: metrics.predict_scores(artifacts.load_model(path), test, task)
              for name, path in paths.BASELINES.items()}
    intervals = metrics.paired_lift_intervals(primary, task, y, candidate_scores, scores,
                                              threshold=threshold, classes=classes,
                                              resamples=resamples, seed=seed)
    baselines = {}
    for name, baseline_scores in scores.items():
        scored = metrics.task_metrics(task, y, baseline_scores, threshold, classes)
        baselines[name] = {"metrics": scored,
                           "lift": metrics.lift(primary, value, scored[primary]),
                           "lift_interval": intervals[name]}
    return baselines


def cv_shortfall(cv: dict | None, test: float, interval: list | None,
                 primary: str) -> float | None:
    """How far the test primary metric falls below the cross-validation mean, in fold standard
    deviations (the test interval's half-width when wider): a gap between the training and test
    rows that cross-validation did not foresee. Negative when test does better."""
    if cv is None:
        return None
    half_width = (interval[1] - interval[0]) / 2 if interval else 0.0
    spread = max(cv["std"], half_width, 1e-9)
    return rounded(metrics.lift(primary, cv["mean"], test) / spread)


def run_checks(model: object, test: pd.DataFrame, y: pd.Series, task: str, target: str,
               classes: np.ndarray | None, seed: int, train_score: float | None,
               test_score: float, primary: str) -> dict:
    """Leakage and split checks on the model's input columns."""
    inputs = list(model.feature_names_in_)
    train = tables.read_parquet(paths.PREPARED["train"], columns=[*inputs, target])
    y_train = labels(train.pop(target), task, classes, paths.PREPARED["train"])
    return {
        "single_feature": leakage.single_feature_scores(train, y_train, test[inputs], y, task,
                                                       seed),
        "feature_groups": leakage.feature_group_scores(train, y_train, test[inputs], y, task,
                                                       seed),
        "shared_test_rows": leakage.shared_rows(train, test[inputs]),
        # the primary metric on the rows the model was fitted on, minus on the test rows
        "train_test_gap": (None if train_score is None
                           else metrics.lift(primary, train_score, test_score)),
    }


def headline_metrics(test_metrics: dict, test_rows: int, primary: str, details: dict) -> dict:
    """The few numbers `dvc exp show` lists; the rest stays in details.json."""
    headline = {**test_metrics, "test_rows": test_rows}
    summary = details["cross_validation"]["summary"]
    if primary in summary:
        headline[f"cv_{primary}_mean"] = summary[primary]["mean"]
        headline[f"cv_{primary}_std"] = summary[primary]["std"]
    for name, baseline in details["baselines"].items():
        headline[f"lift_over_{name}"] = baseline["lift"]
    if details["slices"]["worst"] is not None:
        headline["worst_slice_gap"] = details["slices"]["worst"]["gap"]
    return headline


def gate_findings(details: dict, task: str, test_metrics: dict[str, float]) -> dict:
    checks, worst = details["checks"], details["slices"]["worst"]
    metric = leakage.SINGLE_FEATURE_METRIC[task]  # larger is better, 1 is perfect
    single = checks["single_feature"]
    group = max(checks["feature_groups"], key=lambda record: np.nan_to_num(record[metric]),
                default={"features": [], metric: None})
    linear = details["baselines"].get("linear", {}).get("metrics", {})
    return {
        **{f"lift_low_over_{name}": entry["lift_interval"][0]
           for name, entry in details["baselines"].items()},
        "slice_gap": worst["gap"] if worst else None,
        "single_feature_score": single[0][metric] if single else None,
        "feature_group": {"features": group["features"], "score": group[metric]},
        "plausible": {"metric": metric, "score": max(
            (value for value in (test_metrics.get(metric), linear.get(metric))
             if value is not None and not np.isnan(value)), default=None)},
        "shared_test_rows": checks["shared_test_rows"]["fraction"],
        "train_test_gap": checks["train_test_gap"],
        "cv_shortfall": checks["cv_shortfall"],
    }


def log_plots(live: Live, task: str, y: pd.Series, scores: np.ndarray,
              threshold: float | None, classes: np.ndarray | None, seed: int) -> None:
    if task == "binary":
        # Curves from scores rounded to 0.001: at most a thousand points, so the plot files
        # stay small in git and fast to draw; the metrics use the exact scores.
        curve_scores = scores.round(3)
        live.log_sklearn_plot("roc", y, curve_scores, drop_intermediate=True)
        live.log_sklearn_plot("precision_recall", y, curve_scores, drop_intermediate=True)
        live.log_sklearn_plot("calibration", y, scores, n_bins=10, strategy="quantile")
        live.log_plot("confusion", confusion_counts(y, (scores >= threshold).astype(int)),
                      x="actual", y="predicted")
    elif task == "multiclass":
        live.log_plot("confusion", confusion_counts(y, np.asarray(classes)[scores.argmax(axis=1)]),
                      x="actual", y="predicted")
    else:
        rows = np.random.default_rng(seed).choice(len(y), min(PLOT_ROWS, len(y)), replace=False)
        actual, predicted = np.asarray(y, dtype=float)[rows], scores[rows]
        points = [{"actual": round(float(a), 4), "predicted": round(float(p), 4),
                   "residual": round(float(a - p), 4)} for a, p in zip(actual, predicted,
                                                                        strict=True)]
        live.log_plot("predicted_vs_actual", points, x="actual", y="predicted",
                      template="scatter")
        live.log_plot("residuals", points, x="predicted", y="residual", template="scatter")


def slice_gaps(records: list[dict], primary: str, overall: float) -> list[dict]:
    """Each slice's primary metric and its gap to the overall value, oriented so that a
    negative gap is worse than overall whichever direction the metric prefers."""
    return [{"slice": record["slice"], primary: record[primary], "rows": record["rows"],
             "gap": metrics.lift(primary, record[primary], overall)} for record in records]


def confusion_counts(actual: pd.Series, predicted: np.ndarray) -> list[dict]:
    """Rows per (actual, predicted) pair, zeros included: a few records whatever the rows."""
    counts = pd.crosstab(pd.Series(np.asarray(actual), name="actual").astype(str),
                         pd.Series(predicted, name="predicted").astype(str))
    labels = sorted(set(counts.index) | set(counts.columns))
    counts = counts.reindex(index=labels, columns=labels, fill_value=0)
    return [{"actual": a, "predicted": p, "count": int(counts.loc[a, p])}
            for a in labels for p in labels]


def labels(target: pd.Series, task: str, classes: np.ndarray | None, where: str) -> pd.Series:
    """The labels metrics take: 0/1 for the model's positive class (binary), else as they are.

    A class the model never saw in training cannot be scored: a clear error, not a crash in the
    metrics after the predictions are made."""
    try:
        return metrics.metric_labels(target, task, classes)
    except LifecycleError as error:
        raise LifecycleError(f"{where}: {error}; every class must occur in the training split "
                             f"(move split.test_start, or use split.method random), then run "
                             f"`dvc repro`") from None


def check_columns(columns: list[str], available: pd.Index) -> None:
    missing = [column for column in columns if column not in available]
    if missing:
        raise ParamsError(f"params.yaml: evaluate.slice_columns: {', '.join(missing)} not in the "
                          f"test split; choose from its columns: {', '.join(available)}")


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("evaluate", run)
