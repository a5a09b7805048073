"""Stage evaluate: score the deployable model on the out-of-time test split.

Metrics and plot data are logged with dvclive into reports/evaluation/, which dvc.yaml declares
as top-level metrics and plots, so `dvc metrics diff` and `dvc plots diff` compare revisions.
"""

from dvclive import Live

from lifecycle import config, importance, io, metrics, paths


def run() -> None:
    params = config.load()
    target, evaluation = params.problem.target, params.evaluate
    model = io.load_model(paths.MODEL)
    test = io.read_parquet(paths.PREPARED["test"])
    y = test.pop(target).astype(int)
    probability = model.predict_proba(test)[:, 1]
    threshold = evaluation.decision_threshold
    scores = metrics.binary_metrics(y.to_numpy(), probability, threshold)
    ranking = importance.permutation_importance_table(
        model, test, y, evaluation.importance_rows, evaluation.importance_repeats, params.seed
    )
    with io.atomic_directory(paths.EVALUATION_DIR) as folder, Live(
        str(folder), save_dvc_exp=False, dvcyaml=None, report=None
    ) as live:
        for name, value in scores.items():
            live.log_metric(name, value, plot=False)
        live.log_metric("test_rows", len(test), plot=False)
        # Curves from scores rounded to 0.001: at most a thousand points, so the plot files
        # stay small in git and fast to draw; the metrics above use the exact scores.
        curve_scores = probability.round(3)
        live.log_sklearn_plot("roc", y, curve_scores, drop_intermediate=True)
        live.log_sklearn_plot("precision_recall", y, curve_scores, drop_intermediate=True)
        live.log_sklearn_plot(
            "confusion_matrix", y, (probability >= threshold).astype(int)
        )
        live.log_image("importance.png", importance.importance_figure(ranking))
    io.write_json(ranking.to_dict(orient="records"), paths.IMPORTANCE)
