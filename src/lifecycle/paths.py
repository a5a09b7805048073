"""Where each stage reads and writes; dvc.yaml declares the same paths as deps and outs."""

RAW = "data/raw/dataset.parquet"
PREPARED = {split: f"data/prepared/{split}.parquet" for split in ("train", "test", "current")}
DATA_REPORT = "reports/data.json"
TRAIN_FEATURES = "data/features/train.parquet"
FEATURE_TRANSFORMER = "models/features.skops"
MODEL = "models/model.skops"
TRAIN_REPORT = "reports/train.json"
EVALUATION_DIR = "reports/evaluation"
EVALUATION_METRICS = f"{EVALUATION_DIR}/metrics.json"
MONITOR_DIR = "reports/monitor"
IMPORTANCE = "reports/importance.json"
