import os
import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_limits

from lifecycle.core import files, tables
from lifecycle.core.errors import LifecycleError
from lifecycle.modeling import artifacts


def fitted_model(seed: int = 0) -> HistGradientBoostingClassifier:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.integers(0, 4, size=300)})
    y = (X["a"] + X["b"] > 1.5).astype(int)
    model = HistGradientBoostingClassifier(max_iter=20, categorical_features=["b"],
                                           random_state=0)
    return model.fit(X, y), X


def test_two_saves_of_one_model_give_identical_bytes_that_load_back(tmp_path):
    model, X = fitted_model()
    refit, _ = fitted_model()  # the same model as a new object: other Python ids
    assert skops.io.dumps(model) != skops.io.dumps(refit)  # why canonical_skops exists

    first, second = tmp_path / "a.skops", tmp_path / "b.skops"
    artifacts.save_model(model, first)
    artifacts.save_model(refit, second)

    assert first.read_bytes() == second.read_bytes()
    loaded = artifacts.load_model(first)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert {info.date_time for info in zipfile.ZipFile(first).infolist()} == {artifacts.ZIP_EPOCH}


def test_a_model_fitted_on_one_thread_or_two_gives_the_same_file(tmp_path):
    """Gradient boosting records its fit's thread count: the file must not, or dvc.lock would
    reproduce only on a machine with as many cores as where it was made."""
    files = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="openmp"):
            model, X = fitted_model()
        assert model._bin_mapper.n_threads == threads
        files.append(tmp_path / f"{threads}.skops")
        artifacts.save_model(Pipeline([("model", model)]), files[-1])  # found inside
    assert files[0].read_bytes() == files[1].read_bytes()
    loaded = artifacts.load_model(files[1])
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_model_file_with_an_untrusted_type_is_refused(tmp_path):
    model, _ = fitted_model()
    hostile = Pipeline([("run", FunctionTransformer(os.system)), ("model", model)])
    path = tmp_path / "hostile.skops"
    artifacts.save_model(hostile, path)

    with pytest.raises(LifecycleError, match=r"refused to load.*posix.system"):
        artifacts.load_model(path)


def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path):
    path = tmp_path / "model.skops"
    path.write_text("not a zip")

    with pytest.raises(LifecycleError, match="not a readable skops model"):
        artifacts.load_model(path)


def test_atomic_write_leaves_the_old_file_and_no_temporary_when_interrupted(tmp_path):
    target = tmp_path / "out.json"
    files.write_json({"version": 1}, target)

    with pytest.raises(RuntimeError), files.atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed mid-write")

    assert files.read_json(target) == {"version": 1}
    assert os.listdir(tmp_path) == ["out.json"]
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode


def test_atomic_directory_replaces_the_whole_directory_on_success(tmp_path):
    target = tmp_path / "reports"
    target.mkdir()
    (target / "stale.json").write_text("{}")

    with files.atomic_directory(target) as folder:
        (folder / "metrics.json").write_text("{}")

    assert os.listdir(target) == ["metrics.json"]
    assert os.listdir(tmp_path) == ["reports"]


def test_reading_a_missing_file_says_how_to_produce_it(tmp_path):
    with pytest.raises(LifecycleError, match=r"not found; run `dvc repro`"):
        tables.read_parquet(tmp_path / "nothing.parquet")


def test_a_write_removes_no_file_it_did_not_create(tmp_path):
    """No name pattern tells a killed writer's temporary from a live one of another command
    (scoring scored.csv.part.csv beside scored.csv) or from a user's file: each write removes
    only the temporary it made."""
    others = {".model.skops.k1l2e3.tmp": b"what a killed write left",
              ".scored.csv.part.csv.a1b2c3.tmp": b"another command's live temporary",
              ".scored.csv.v1.tmp": b"a user's file",
              ".scored.csv.backup.tmp/keep.txt": b"a user's folder",
              ".evaluation.x9y8z7.tmp/metrics.json": b"{"}
    for name, data in others.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(data)

    files.write_bytes(b"model", tmp_path / "model.skops")
    files.write_bytes(b"a,b", tmp_path / "scored.csv")
    for _ in range(2):  # the second replaces the first
        with files.atomic_directory(tmp_path / "evaluation") as folder:
            (folder / "metrics.json").write_text("{}")

    assert all((tmp_path / name).read_bytes() == data for name, data in others.items())
    assert {path.name for path in tmp_path.iterdir()} == {
        *(name.split("/")[0] for name in others), "model.skops", "scored.csv", "evaluation"}


def test_a_recorded_folder_lists_what_it_holds_and_nothing_else_is_taken_for_its_own(tmp_path):
    folder = tmp_path / "pictures"
    with files.atomic_directory(folder, recorded=True) as written:
        (written / "roc.png").write_bytes(b"png")

    assert files.unrecorded(folder) == []
    (folder / "roc.png").write_bytes(b"edited by hand")
    assert files.unrecorded(folder) == ["roc.png"]
    (folder / "roc.png").write_bytes(b"png")
    (folder / "notes.txt").write_text("mine")
    assert files.unrecorded(folder) == ["notes.txt"]
    (folder / files.RECORD).unlink()
    assert files.unrecorded(folder) == ["notes.txt", "roc.png"]


# --- files a user gives, bounded before they are read ------------------------------------------


def test_a_file_is_read_whole_up_to_its_cap_and_refused_past_it(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"x" * 100)

    assert files.read_regular(path, 100) == b"x" * 100
    with pytest.raises(LifecycleError, match=r"model\.bin: more than 99 bytes, the most read "
                                             r"here; check the path"):
        files.read_regular(path, 99)


@pytest.mark.parametrize("kind, make", [
    ("a folder", lambda path: path.mkdir()),
    ("a pipe", os.mkfifo),  # opening it to read would wait for a writer
])
def test_what_is_not_a_regular_file_is_refused_before_it_is_read(tmp_path, kind, make):
    path = tmp_path / "given"
    make(path)

    for read in (lambda: files.read_regular(path, 1000), lambda: files.check_regular(path),
                 lambda: tables.read_table(path, kind="csv")):
        with pytest.raises(LifecycleError, match=f"given: not a regular file \\({kind}\\)"):
            read()


def test_dev_zero_is_refused_as_a_file_and_as_a_table():
    with pytest.raises(LifecycleError, match="a character device"):
        files.read_regular("/dev/zero", 1000)
    with pytest.raises(LifecycleError, match="a character device"):
        tables.read_table("/dev/zero", kind="csv")


@pytest.mark.parametrize("header, columns", [
    ("a,b,c\n1,2,3\n", 3),
    ('"a,b",c\n1,2\n', 2),                   # a comma between quotes is part of a name
    ('"a\nb",c,"d""e"\n1,2,3\n', 3),         # so is a line break; "" is a quote in a name
    ("\n\r\nx,y\n1,2\n", 2),                 # blank lines before the header are skipped
    ("only\n", 1),
])
def test_the_columns_of_a_csv_header_are_counted_across_blocks(tmp_path, monkeypatch, header,
                                                               columns):
    path = tmp_path / "t.csv"
    path.write_text(header)
    for block in (tables.HEADER_BLOCK, 1, 2, 3):
        monkeypatch.setattr(tables, "HEADER_BLOCK", block)
        assert tables.csv_columns(path, 10) == columns
        assert len(pd.read_csv(path).columns) == columns  # as pandas reads it


def test_a_table_over_the_column_cap_is_refused_before_its_rows_are_read(tmp_path, monkeypatch):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(11)) + "\n" + ",".join("1" * 11) + "\n")
    monkeypatch.setattr(tables, "MAX_COLUMNS", 10)
    monkeypatch.setattr(pd, "read_csv", lambda *args, **kwargs: pytest.fail("rows were read"))

    with pytest.raises(LifecycleError, match=r"wide\.csv: more than 10 columns, the most a table "
                                             r"may have here; keep only the columns you need"):
        next(tables.table_chunks(path, 5))


def test_a_parquet_footer_over_its_cap_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    path = tmp_path / "wide.parquet"
    pd.DataFrame({f"c{i}": [1] for i in range(50)}).to_parquet(path)
    monkeypatch.setattr(tables, "MAX_FOOTER_BYTES", 1000)

    with pytest.raises(LifecycleError, match=r"wide.parquet: its parquet footer is [\d,]+ bytes, "
                                             r"more than 1,000"):
        tables.read_table(path)
