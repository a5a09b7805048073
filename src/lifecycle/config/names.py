"""What params.yaml may name: the metrics of each task, the models of the registry, the engines
and the runtimes.

They live in the configuration layer, where params are validated, because every stage parses
params.yaml and must not import the heavier modules that implement them: `metrics.METRIC_NAMES`
is this mapping and `models.ESTIMATORS` has these keys (a test checks). A project's own models
and metrics (params.yaml extensions) come beside them.
"""

METRIC_NAMES = {
    "binary": ("roc_auc", "average_precision", "log_loss", "brier", "f1", "precision", "recall"),
    "multiclass": ("macro_f1", "balanced_accuracy", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}
ENGINES = ("pandas", "dask")
RUNTIMES = ("skops", "onnx")  # what answers in batch scoring and the API
MODEL_NAMES = ("hist_gradient_boosting", "random_forest", "xgboost", "linear", "trivial")
