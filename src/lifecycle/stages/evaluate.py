"""Stage evaluate: score the deployable model and the baselines on the out-of-time test split,
run the slice and leakage checks, judge the success criteria and write the model card.

Headline metrics go to reports/evaluation/metrics.json (what `dvc exp show` lists), the detail
(intervals, folds, baselines, slices, checks) to details.json beside it. Plot data is logged
with dvclive; dvc.yaml registers the plots so `dvc plots show` and `dvc plots diff` draw them.
"""

import json

import numpy as np
import pandas as pd
from dvclive import Live

from lifecycle import card, checks, config, gate, importance, io, metrics, paths, slices
from lifecycle.errors import ParamsError

# Plots of single predictions draw at most this many seeded rows, so plot files stay small.
PLOT_ROWS = 1000


def run() -> None:
    params = config.load()
    problem, evaluation = params.problem, params.evaluate
    task, target, primary = problem.task, problem.target, problem.primary_metric
    check_primary_metric(task, primary)
    model = io.load_model(paths.MODEL)
    test = io.read_parquet(paths.PREPARED["test"])
    y = labels(test.pop(target), task)
    threshold = evaluation.decision_threshold if task == "binary" else None
    classes = getattr(model, "classes_", None)
    scores = metrics.predict_scores(model, test, task)
    test_metrics = metrics.task_metrics(task, y, scores, threshold, classes)

    baselines = {}
    for name, path in paths.BASELINES.items():
        baseline_scores = metrics.predict_scores(io.load_model(path), test, task)
        scored = metrics.task_metrics(task, y, baseline_scores, threshold, classes)
        baselines[name] = {"metrics": scored,
                           "lift": metrics.lift(primary, test_metrics[primary], scored[primary])}

    check_columns(evaluation.slice_columns, test)
    slice_records = slices.slice_metrics(test, y, scores, evaluation.slice_columns, task,
                                         evaluation.slice_min_rows, threshold, classes)
    worst = slices.worst_slice(slice_records, primary, test_metrics[primary])

    inputs = list(model.feature_names_in_)
    train = io.read_parquet(paths.PREPARED["train"], columns=[*inputs, target])
    y_train = labels(train.pop(target), task)
    train_report = io.read_json(paths.TRAIN_REPORT)
    train_score = train_report["train_metrics"].get(primary)
    leakage = {
        "single_feature": checks.single_feature_scores(train, y_train, test[inputs], y, task,
                                                       params.seed),
        "shared_test_rows": checks.shared_rows(train, test[inputs]),
        "train_test_gap": (None if train_score is None
                           else metrics.lift(primary, train_score, test_metrics[primary])),
    }
    cv = train_report["cross_validation"]
    details = {
        "model": train_report["model"],
        "intervals": metrics.bootstrap_intervals(
            task, y, scores, threshold=threshold, classes=classes,
            resamples=evaluation.bootstrap_resamples, seed=params.seed),
        "cross_validation": cv,
        "baselines": baselines,
        "slices": {"records": slice_records, "worst": worst},
        "checks": leakage,
    }
    headline = {**test_metrics, "test_rows": len(test)}
    if primary in cv["summary"]:
        headline[f"cv_{primary}_mean"] = cv["summary"][primary]["mean"]
        headline[f"cv_{primary}_std"] = cv["summary"][primary]["std"]
    headline.update({f"lift_over_{name}": entry["lift"] for name, entry in baselines.items()})
    if worst is not None:
        headline["worst_slice_gap"] = worst["gap"]

    findings = {f"lift_over_{name}": entry["lift"] for name, entry in baselines.items()}
    single = leakage["single_feature"]
    findings.update({
        "slice_gap": worst["gap"] if worst else None,
        "single_feature_score": single[0][checks.SINGLE_FEATURE_METRIC[task]] if single
        else None,
        "shared_test_rows": leakage["shared_test_rows"]["fraction"],
        "train_test_gap": leakage["train_test_gap"],
    })
    rows = gate.criteria_rows(params.criteria, metrics.METRIC_NAMES[task], primary,
                              test_metrics, findings)
    verdict = {"verdict": gate.verdict(rows), "criteria": rows}

    ranking = importance.permutation_importance_table(
        model, test, y, evaluation.importance_rows, evaluation.importance_repeats, params.seed,
        scoring=metrics.SCORERS[primary],
    )
    with io.atomic_directory(paths.EVALUATION_DIR) as folder, Live(
        str(folder), save_dvc_exp=False, dvcyaml=None, report=None
    ) as live:
        for name, value in headline.items():
            live.log_metric(name, value, plot=False)
        log_plots(live, task, y, scores, threshold, classes, params.seed)
        if slice_records:
            live.log_plot("slices", [{"slice": r["slice"], primary: r[primary]}
                                     for r in slice_records],
                          x=primary, y="slice", template="bar_horizontal")
        live.log_image("importance.png", importance.importance_figure(ranking, primary))
        (folder / "details.json").write_text(json.dumps(details, indent=2, sort_keys=True) + "\n")
    io.write_json(ranking.to_dict(orient="records"), paths.IMPORTANCE)
    io.write_json(verdict, paths.GATE)
    data = io.read_json(paths.DATA_REPORT)
    problem_summary = {"name": problem.name, "description": problem.description, "task": task,
                       "target": target, "primary_metric": primary}
    io.write_bytes(card.render_model_card(problem_summary, data, headline, details,
                                          verdict).encode(), paths.MODEL_CARD)


def log_plots(live: Live, task: str, y: pd.Series, scores: np.ndarray,
              threshold: float | None, classes: np.ndarray | None, seed: int) -> None:
    if task == "binary":
        # Curves from scores rounded to 0.001: at most a thousand points, so the plot files
        # stay small in git and fast to draw; the metrics use the exact scores.
        curve_scores = scores.round(3)
        live.log_sklearn_plot("roc", y, curve_scores, drop_intermediate=True)
        live.log_sklearn_plot("precision_recall", y, curve_scores, drop_intermediate=True)
        live.log_sklearn_plot("calibration", y, scores, n_bins=10, strategy="quantile")
        live.log_sklearn_plot("confusion_matrix", y, (scores >= threshold).astype(int))
    elif task == "multiclass":
        live.log_sklearn_plot("confusion_matrix", y, np.asarray(classes)[scores.argmax(axis=1)])
    else:
        rows = np.random.default_rng(seed).choice(len(y), min(PLOT_ROWS, len(y)), replace=False)
        actual, predicted = np.asarray(y, dtype=float)[rows], scores[rows]
        points = [{"actual": round(float(a), 4), "predicted": round(float(p), 4),
                   "residual": round(float(a - p), 4)} for a, p in zip(actual, predicted,
                                                                        strict=True)]
        live.log_plot("predicted_vs_actual", points, x="actual", y="predicted",
                      template="scatter")
        live.log_plot("residuals", points, x="predicted", y="residual", template="scatter")


def labels(target: pd.Series, task: str) -> pd.Series:
    return target.astype(int) if task == "binary" else target


def check_primary_metric(task: str, primary: str) -> None:
    allowed = metrics.METRIC_NAMES[task]
    if primary not in allowed:
        raise ParamsError(f"params.yaml: problem.primary_metric: {primary!r} is not a {task} "
                          f"metric; choose one of: {', '.join(allowed)}")


def check_columns(columns: list[str], frame: pd.DataFrame) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ParamsError(f"params.yaml: evaluate.slice_columns: {', '.join(missing)} not in the "
                          f"test split; choose from its columns: {', '.join(frame.columns)}")
