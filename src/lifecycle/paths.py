"""Where each stage reads and writes; dvc.yaml declares the same paths as deps and outs."""

RAW = "data/raw/dataset.parquet"
PREPARED = {split: f"data/prepared/{split}.parquet" for split in ("train", "test", "current")}
DATA_REPORT = "reports/data_quality.json"
DATA_REPORT_MARKDOWN = "reports/data_quality.md"
CONTRACT = "data/contract.yaml"
TRAIN_FEATURES = "data/features/train.parquet"
FEATURE_TRANSFORMER = "models/features.skops"
MODEL = "models/model.skops"
TRAIN_REPORT = "reports/train.json"
EVALUATION_DIR = "reports/evaluation"
IMPORTANCE = "reports/importance.json"
BASELINES = {name: f"models/baseline_{name}.skops" for name in ("trivial", "linear")}
CV_DIR = "reports/cv"
EVALUATION_DETAILS = "reports/evaluation/details.json"
GATE = "reports/gate.json"
MODEL_CARD = "reports/model_card.md"
