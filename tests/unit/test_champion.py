"""Champion and challenger: which tag names the production model, the recommendation at the
edges of the interval, and how often two models decide differently."""

import subprocess

import numpy as np
import pytest

from lifecycle.core.errors import LifecycleError
from lifecycle.reporting import champion
from lifecycle.reporting.champion import KEEP, PROMOTE, UNCLEAR

MODEL = "flight-delay-model"


def test_the_promotion_with_the_highest_number_wins_not_the_last_in_text_order():
    tags = [f"{MODEL}#production#9", f"{MODEL}#production#10", f"{MODEL}#production#2",
            f"{MODEL}@v1.0.0", f"{MODEL}#staging#11", "other-model#production#12",
            f"{MODEL}#production#3x", f"{MODEL}#production"]

    assert champion.latest_promotion(tags, MODEL) == f"{MODEL}#production#10"


def test_a_withdrawn_stage_has_no_champion_until_promoted_again():
    withdrawn = [f"{MODEL}#production#1", f"{MODEL}#production!#2"]

    assert champion.latest_promotion(withdrawn, MODEL) is None
    assert champion.latest_promotion([*withdrawn, f"{MODEL}#production#3"], MODEL) == \
        f"{MODEL}#production#3"


def test_no_promotion_tag_means_no_champion():
    assert champion.latest_promotion([f"{MODEL}@v1.0.0"], MODEL) is None
    assert champion.latest_promotion([], MODEL) is None


def test_an_artifact_name_with_regex_characters_matches_only_itself():
    tags = ["a.b#production#1", "axb#production#2"]

    assert champion.latest_promotion(tags, "a.b") == "a.b#production#1"


@pytest.mark.parametrize(("interval", "gate", "expected"), [
    ([0.001, 0.02], "VALIDATED", PROMOTE),
    ([0.0, 0.02], "VALIDATED", UNCLEAR),       # the low end touching zero is not beyond noise
    ([-0.01, 0.02], "VALIDATED", UNCLEAR),
    ([-0.02, 0.0], "VALIDATED", UNCLEAR),      # nor the high end touching it
    ([-0.02, -0.001], "VALIDATED", KEEP),
    ([0.001, 0.02], "REJECTED", KEEP),         # better, but not validated
    ([0.001, 0.02], "unknown", KEEP),
    ([-0.01, 0.02], "REJECTED", KEEP),
])
def test_the_recommendation_at_the_edges_of_the_interval(interval, gate, expected):
    assert champion.recommend(interval, gate)[0] == expected


def test_a_candidate_worse_on_the_current_batch_keeps_the_champion_with_both_reasons():
    decision, reasons = champion.recommend([0.01, 0.03], "REJECTED", current=[-0.05, -0.01])

    assert decision == KEEP
    assert reasons == ["the candidate's gate is REJECTED, not VALIDATED",
                       "the candidate is worse beyond the noise on the current batch"]
    assert champion.recommend([0.01, 0.03], "VALIDATED", current=[-0.05, 0.01])[0] == PROMOTE


def test_binary_disagreement_counts_decisions_at_each_models_threshold():
    old = np.array([0.10, 0.40, 0.60, 0.20])
    new = np.array([0.10, 0.45, 0.20, 0.35])
    # at 0.3 and 0.3: no, yes, yes, no vs no, yes, no, yes -> rows 2 and 3 differ
    assert champion.disagreement("binary", old, new, (0.3, 0.3)) == 0.5
    # the candidate at 0.5: no, no, no, no -> rows 1 and 2 differ
    assert champion.disagreement("binary", old, new, (0.3, 0.5)) == 0.5
    assert champion.disagreement("binary", old, old, (0.3, 0.3)) == 0.0


def test_multiclass_and_regression_disagreement():
    old = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    new = np.array([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.3, 0.3, 0.4]])

    assert champion.disagreement("multiclass", old, new) == pytest.approx(1 / 3)
    assert champion.disagreement("regression", np.array([1.0, 2.0, 3.0]),
                                 np.array([1.5, 2.0, 1.0])) == pytest.approx(2.5 / 3)


def test_the_model_artifact_is_the_one_of_the_pipelines_model_file():
    pipeline = {"artifacts": {f"{MODEL}-onnx": {"path": "models/model.onnx", "type": "model"},
                              "data": {"path": "data/x.parquet", "type": "dataset"},
                              MODEL: {"path": "models/model.skops", "type": "model"}}}

    assert champion.model_artifact(pipeline) == champion.Artifact(MODEL, "models/model.skops")
    other = {"artifacts": {"mine": {"path": "models/mine.skops", "type": "model"},
                           "data": {"path": "data/x.parquet"}}}
    assert champion.model_artifact(other) == champion.Artifact("mine", "models/mine.skops")
    with pytest.raises(LifecycleError, match="declares no artifact"):
        champion.model_artifact({"stages": {}})
    two = {"artifacts": {"a": {"type": "model"}, "b": {"type": "model"}}}
    with pytest.raises(LifecycleError, match=r"no single model artifact .*--champion"):
        champion.model_artifact(two)


def test_the_gate_judged_the_model_file_dvc_lock_records_for_evaluate():
    lock = {"stages": {"train": {"outs": [{"path": "models/model.skops", "md5": "new"}]},
                       "evaluate": {"deps": [{"path": "data/prepared/test.parquet", "md5": "t"},
                                             {"path": "models/model.skops", "md5": "old"}]}}}

    assert champion.judged_model(lock, "models/model.skops") == "old"
    assert champion.judged_model(lock, "models/other.skops") is None
    assert champion.judged_model({}, "models/model.skops") is None
    assert champion.recommend([0.01, 0.02], champion.STALE)[0] == KEEP


def test_the_production_revision_is_read_from_the_repositorys_tags(tmp_path):
    def git(*arguments: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *arguments],
                       cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("commit", "-q", "--allow-empty", "-m", "v1")
    with pytest.raises(LifecycleError, match=rf'git tag -a "{MODEL}#production#1"'):
        champion.production_revision(tmp_path, MODEL)
    for n in (1, 2, 10):
        git("tag", "-a", f"{MODEL}#production#{n}", "-m", "promote")

    assert champion.production_revision(tmp_path, MODEL) == f"{MODEL}#production#10"
