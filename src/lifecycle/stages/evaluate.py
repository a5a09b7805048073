"""Stage evaluate: score the deployable model and the baselines on the test split (out of time
or random, as split.method says), run the slice and leakage checks, judge the success criteria
and write the model card.

Headline metrics go to reports/evaluation/metrics.json (what `dvc exp show` lists), the detail
(intervals, folds, baselines, slices, checks) to details.json beside it, the test scores to
data/predictions/test.parquet. Plot data is logged
with dvclive; dvc.yaml registers the plots so `dvc plots show` and `dvc plots diff` draw them.
The computing is `lifecycle.evaluation.findings` and `plots`; this shell reads and writes.
"""

from dvclive import Live

from lifecycle import config
from lifecycle.config import contract
from lifecycle.core import extras, files, paths, progress, tables, workers
from lifecycle.evaluation import fairness, findings, importance, leakage, metrics, model_card, plots
from lifecycle.modeling import artifacts

# What evaluate's workers import to take their work (the model's classes among them).
WORKER_MODULES = ("lifecycle.evaluation.findings", "lifecycle.evaluation.importance",
                  "lifecycle.modeling.features", "sklearn.ensemble")


def run() -> None:
    params = config.load()
    sensitive = contract.load(paths.CONTRACT).sensitive_columns()
    if sensitive:  # the example marks none, so it needs no extra
        extras.require("fairness", f"evaluate of the sensitive columns in {paths.CONTRACT}")
    problem, evaluation = params.problem, params.evaluate
    task, target, primary = problem.task, problem.target, problem.primary_metric
    # The workers start while this process loads and scores; the resamples then reuse them.
    workers.start(evaluation.bootstrap_resamples, tables.row_count(paths.PREPARED["test"]),
                  WORKER_MODULES)
    packages = params.extensions.model_packages()
    model = artifacts.load_model(paths.MODEL, packages)
    test = tables.read_parquet(paths.PREPARED["test"])
    findings.check_slice_columns(evaluation.slice_columns, test.columns)
    classes = getattr(model, "classes_", None)
    y = findings.labels(test.pop(target), task, classes, paths.PREPARED["test"])
    threshold = evaluation.decision_threshold if task == "binary" else None  # labels need one
    candidate = findings.score_test(model, test, y, task, threshold)
    train = leakage.read_training_rows(paths.PREPARED["train"], list(model.feature_names_in_),
                                       target, params.seed)
    y_train = findings.labels(train.target, task, classes, paths.PREPARED["train"])
    baselines = {name: artifacts.load_model(path, packages)
                 for name, path in paths.BASELINES.items()}
    details = findings.test_details(params, test, candidate, train, y_train, baselines,
                                    files.read_json(paths.TRAIN_REPORT))
    details.update(findings.own_metrics(params.extensions.metrics, candidate))
    details.update(findings.sensitive_details(params, sensitive, test, candidate))
    headline = findings.headline_metrics(candidate.metrics, len(test), primary, details)
    verdict = findings.verdict(params.criteria, task, primary, candidate.metrics, details)
    with progress.phase("permutation importance"):
        ranking = importance.permutation_importance_table(
            model, test, y, evaluation.importance_rows, evaluation.importance_repeats,
            params.seed, scoring=metrics.importance_scoring(primary, task, threshold),
        )
    progress.log.info("%s: %s", verdict["verdict"], ", ".join(
        f"{name} {candidate.metrics[name]}" for name in metrics.METRIC_NAMES[task][:3]
        if name in candidate.metrics))
    drawn = [*plots.evaluation_plots(task, y, candidate.scores, threshold, classes, params.seed),
             *plots.slice_plot(details["slices"]["records"], primary, candidate.metrics[primary])]
    with files.atomic_directory(paths.EVALUATION_DIR) as folder:
        with Live(str(folder), save_dvc_exp=False, dvcyaml=None, report=None) as live:
            for name, value in headline.items():
                live.log_metric(name, value, plot=False)
            plots.log(live, drawn)
            live.log_image("importance.png", importance.importance_figure(ranking, primary))
            if "fairness" in details:
                live.log_image("fairness.png", fairness.fairness_figure(details["fairness"]))
        # Inside the directory being written, so it lands atomically with the metrics.
        (folder / "details.json").write_text(files.json_text(details))
        files.make_json_valid(folder)  # dvclive writes the ROC curve's infinite first threshold
    files.write_json(ranking.to_dict(orient="records"), paths.IMPORTANCE)
    # Cached by DVC: `lifecycle report` pairs two revisions' scores on the same test rows.
    tables.write_parquet(metrics.prediction_table(y, candidate.scores, classes),
                         paths.TEST_PREDICTIONS)
    files.write_json(verdict, paths.GATE)
    problem_summary = {"name": problem.name, "description": problem.description, "task": task,
                       "target": target, "primary_metric": primary}
    card = model_card.render_model_card(problem_summary, files.read_json(paths.DATA_REPORT),
                                        headline, details, verdict, params.split.method)
    files.write_bytes(card.encode(), paths.MODEL_CARD)


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("evaluate", run)
