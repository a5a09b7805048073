"""Stages say what they are doing: one plain line per phase with its elapsed time."""

import re

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from lifecycle.core import progress
from lifecycle.modeling import cross_validation


def test_a_phase_is_one_line_on_stderr_named_after_the_stage_with_its_seconds(capsys):
    progress.configure("train")

    with progress.phase("cross-validation fold 1/3"):
        pass

    assert re.fullmatch(r"train: cross-validation fold 1/3 done in \d+\.\d s\n",
                        capsys.readouterr().err)


def test_a_failed_phase_says_nothing_the_error_speaks_for_itself(capsys):
    progress.configure("train")

    try:
        with progress.phase("fit"):
            raise ValueError("refused")
    except ValueError:
        pass

    assert capsys.readouterr().err == ""


def test_cross_validation_reports_each_fold_as_it_finishes(capsys):
    progress.configure("train")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=300)})
    y = pd.Series((X["x"] + rng.normal(size=300) > 0).astype(int))

    cross_validation.cross_validate(LogisticRegression(), X, y, None, 3, "binary", 0)

    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" done")[0] for line in lines] == [
        f"train: cross-validation fold {number}/3" for number in (1, 2, 3)]
