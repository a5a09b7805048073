"""The ONNX file answers as the scikit-learn pipeline on every string: Unicode whitespace,
letters whose case Python and the C locale change differently, aliases that chain, long values,
empty and missing ones; through batch scoring's path (a DataFrame) and the API's (records)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.pipeline import Pipeline

from lifecycle.core import spelling
from lifecycle.deployment.onnx import export as onnx_export
from lifecycle.deployment.onnx import runtime as onnx_runtime
from lifecycle.deployment.onnx import transformers as onnx_transformers
from lifecycle.modeling import features, models

KINDS = {"dest": "categorical", "carrier": "categorical", "distance": "numeric"}
WHITESPACE = [chr(code) for code in range(0x110000) if chr(code).isspace()]  # str.split's
# Each destination's share of late flights, far apart so the trees split on every one.
DESTINATIONS = {
    "MIA": 0.9, "BOS": 0.1, "LAX": 0.5, "SAN JOSE": 0.7, "Straße": 0.3, "İzmir": 0.8,
    "\u0131sp\u0131r": 0.2, "ǅemal": 0.6, "café": 0.4, "cafe\u0301": 0.95, "ΣΙΣΥΦΟΣ": 0.15,
    " ".join(f"w{i}" for i in range(20)): 0.85,  # more words than the graph joins
}
CARRIERS = ["AA", "B6", "ﬁ", "ŉ"]
# Chained aliases, which are not idempotent: MIA means BOS, BOS means LAX, once.
ALIASES = {"MIA": "BOS", "BOS": "LAX"}
# Letters whose case Python and the C locale change differently, or that change length.
ODD_LETTERS = ["ß", "SS", "ẞ", "İ", "\u0131", "i\u0307", "ǅ", "Σ", "ς", "e\u0301", "ŉ", "ﬁ",
               "\u0345"]
SETTINGS = [(True, "keep"), (True, "lower"), (True, "upper"), (False, "upper")]
# Deterministic and bounded: the same examples on every run, about a second per setting.
BOUNDED = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Problem:
    name, task, target = "flights", "binary", "late"


def untidy(value: str, rng: np.random.Generator) -> str:
    """`value` as a person might type it: its words between runs of Unicode whitespace."""
    def gap() -> str:
        return "".join(rng.choice(WHITESPACE, rng.integers(1, 3)))
    return gap() + gap().join(value.split()) + gap()


def training_rows(rows: int = 480) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(7)
    dest = rng.choice(list(DESTINATIONS), rows)
    late = rng.random(rows) < np.array([DESTINATIONS[name] for name in dest])
    frame = pd.DataFrame({
        "dest": [untidy(name, rng) if i % 3 else name for i, name in enumerate(dest)],
        "carrier": rng.choice(CARRIERS, rows).astype(object),
        "distance": rng.normal(1000, 300, rows),
    })
    return frame, pd.Series(np.where(late, "yes", "no"))


def fitted(strip: bool, case: str, training: tuple | None = None) -> Pipeline:
    """The pipeline as train builds it: the project's transformer and boosted trees."""
    fold = spelling.CASE_CHANGES.get(case, str)
    cleaning = {"outliers": "none", "outlier_iqr_factor": 3.0, "category_case": case,
                "strip_whitespace": strip,
                "category_aliases": {fold(key): fold(value) for key, value in ALIASES.items()}}
    X, y = training or training_rows()
    transformer = features.build_transformer(["distance"], ["dest", "carrier"], None, [],
                                             "median", 5, cleaning)
    encoded = transformer.fit_transform(X, y)
    estimator = models.build_estimator("hist_gradient_boosting", {"max_iter": 30}, 0,
                                       features.categorical_output_columns(transformer), "binary")
    return Pipeline([("features", transformer), ("estimator", estimator.fit(encoded, y))])


@pytest.fixture(scope="module", params=SETTINGS, ids=lambda s: f"strip={s[0]}-case={s[1]}")
def runtimes(request) -> tuple[Pipeline, onnx_runtime.OnnxModel]:
    """One pipeline per setting, exported once by the project's exporter."""
    pipeline = fitted(*request.param)
    described = onnx_export.description(pipeline, KINDS, Problem(), 0.5)
    return pipeline, onnx_runtime.load(onnx_export.export(pipeline, KINDS, described))


def normaliser(pipeline: Pipeline) -> features.CategoryNormaliser:
    return pipeline.named_steps["features"].named_transformers_["categorical"][0]


def probabilities(pipeline: Pipeline, portable: onnx_runtime.OnnxModel,
                  rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pipeline's, the file's on a DataFrame (batch scoring) and on records (the API)."""
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    return (pipeline.predict_proba(rows), portable.predict_proba(rows),
            portable.predict_proba(portable.inputs_from_records(records)))


def assert_agree(pipeline: Pipeline, portable: onnx_runtime.OnnxModel,
                 rows: pd.DataFrame) -> None:
    expected, from_frame, from_records = probabilities(pipeline, portable, rows)
    np.testing.assert_allclose(from_frame, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(from_records, expected, rtol=0, atol=1e-6)


@st.composite
def categories(draw: st.DrawFn, known: list[str]) -> str | None:
    """A missing value, any text, or a known category's words (or odd letters) in any case,
    between and around runs of any Unicode whitespace."""
    kind = draw(st.sampled_from(["missing", "text", "known", "odd"]))
    if kind == "missing":
        return None
    if kind == "text":
        return draw(st.text(max_size=12))
    words = (draw(st.sampled_from(known)).split() if kind == "known"
             else draw(st.lists(st.sampled_from(ODD_LETTERS), min_size=1, max_size=3)))
    change = draw(st.sampled_from([str, str.lower, str.upper, str.swapcase, str.title]))
    gaps = st.text(alphabet=WHITESPACE, max_size=3)
    middle = st.text(alphabet=WHITESPACE, min_size=1, max_size=3)
    return draw(gaps) + "".join(change(word) + draw(middle) for word in words[:-1]) + \
        change(words[-1]) + draw(gaps)


def rows_of(dest: list, carrier: list, text: object = object) -> pd.DataFrame:
    return pd.DataFrame({"dest": pd.Series(dest, dtype=text),
                         "carrier": pd.Series(carrier, dtype=text),
                         "distance": np.linspace(400, 1800, len(dest))})


# Text columns as objects (each value spelled) and in pandas' string dtype, as parquet reads
# them (each distinct value spelled once).
@pytest.mark.slow  # generated strings through both runtimes
@pytest.mark.parametrize("text", [object, "str"])
def test_the_runtimes_agree_on_any_string(runtimes, text):
    pipeline, portable = runtimes
    dest = categories([*DESTINATIONS, *ALIASES])
    carrier = categories(CARRIERS)

    @BOUNDED
    @given(st.lists(st.tuples(dest, carrier), min_size=1, max_size=25))
    def check(pairs: list[tuple]) -> None:
        assert_agree(pipeline, portable, rows_of(*zip(*pairs, strict=True), text=text))

    check()


def test_unicode_whitespace_around_a_category_is_stripped_by_both_runtimes(runtimes):
    """The examples measured on main: 0.053 apart in batch scoring and the API."""
    pipeline, portable = runtimes
    untidy_rows = rows_of(["MIA\u00a0", "\u3000BOS\u2003", "LAX\x1f"], ["AA"] * 3)
    assert_agree(pipeline, portable, untidy_rows)
    if normaliser(pipeline).strip_whitespace:  # the answers for the tidy spellings
        tidy = pipeline.predict_proba(rows_of(["MIA", "BOS", "LAX"], ["AA"] * 3))
        np.testing.assert_allclose(portable.predict_proba(untidy_rows), tidy, rtol=0, atol=1e-6)


def test_a_category_of_many_words_matches_in_both_runtimes(runtimes):
    """More words than the graph joins: spelt in Python first, it still matches."""
    pipeline, portable = runtimes
    long = next(name for name in DESTINATIONS if len(name.split()) > onnx_transformers.MAX_WORDS)
    rows = rows_of([long, "\u2003" + long.replace(" ", "\u00a0 ") + "\x85"], ["AA"] * 2)
    assert_agree(pipeline, portable, rows)
    unknown = pipeline.predict_proba(rows_of(["never seen"], ["AA"]))
    assert not np.allclose(portable.predict_proba(rows[:1]), unknown)  # matched, not unknown


def test_the_file_names_each_inputs_spelling_rules(runtimes):
    pipeline, portable = runtimes
    rules = {"strip_whitespace": normaliser(pipeline).strip_whitespace,
             "case": normaliser(pipeline).case}
    assert portable.description["spelling"] == {"dest": rules, "carrier": rules}


@pytest.mark.parametrize("strip", [True, False])
def test_a_blank_category_is_missing_in_both_runtimes(strip):
    """The ONNX file receives a missing category as "": were blanks a category of their own
    in training, the two runtimes would score a missing value differently."""
    X, y = training_rows()
    X.loc[X.index[::4], "dest"] = ["", "  ", "\u3000"] * (len(X) // 12)
    y[X.index[::4]] = "yes"  # blanks far apart from every category in the share of late
    pipeline = fitted(strip, "keep", (X, y))
    described = onnx_export.description(pipeline, KINDS, Problem(), 0.5)
    portable = onnx_runtime.load(onnx_export.export(pipeline, KINDS, described))
    blanks = ["", " ", "\u3000"] if strip else [""]
    rows = rows_of([None, *blanks, "MIA"], ["AA"] * (len(blanks) + 2)).assign(distance=900.0)

    assert_agree(pipeline, portable, rows)
    scores = pipeline.predict_proba(rows)
    np.testing.assert_allclose(scores[1:-1], np.repeat(scores[:1], len(blanks), axis=0))
